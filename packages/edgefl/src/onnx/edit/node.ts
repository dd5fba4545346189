/**
 * A node of an editable ONNX model. A node read from a file remembers its NodeProto: until an edit
 * changes something the proto holds, that very proto is written back (doc string, metadata,
 * subgraphs, fields edgefl does not describe and all); after an edit, a copy of it with the changed
 * fields. Attributes are decoded only when a pass asks for them.
 *
 * Inputs and outputs change through methods, not by assigning into the arrays, because the model
 * indexes producers and consumers and must hear of every change (see watchNode).
 */
import { NodeProtoSchema, type GraphProto, type NodeProto } from '../schema.js';
import type { TensorData } from '../types.js';
import { attributeGraphs, decodeAttribute, encodeAttribute, type OnnxAttribute } from './attributes.js';
import { describeNode, OnnxRewriteError } from './errors.js';
import { newMessage, withFields } from './messages.js';
import { outerReferences, renameOuterReference } from './subgraphs.js';

export interface NodeInit {
  opType: string;
  /** '' marks an omitted optional input. */
  inputs: readonly string[];
  /** '' marks an omitted optional output. */
  outputs: readonly string[];
  attributes?: Readonly<Record<string, OnnxAttribute>>;
  name?: string;
  /** The operator set: '' (or 'ai.onnx') for standard ONNX, e.g. 'com.microsoft' for contrib ops. */
  domain?: string;
  docString?: string;
}

/** Who is told when a node's edges change: the model that holds it. One at most. */
const watchers = new WeakMap<OnnxNode, () => void>();

/** Called by the model that takes `node` in; a node belongs to one model at a time. */
export function watchNode(node: OnnxNode, changed: () => void): void {
  if (watchers.has(node))
    throw new OnnxRewriteError(
      `${describeNode(node)} is already part of a model: remove it there first, or create a new node`,
    );
  watchers.set(node, changed);
}

export function isWatched(node: OnnxNode): boolean {
  return watchers.has(node);
}

export function unwatchNode(node: OnnxNode): void {
  watchers.delete(node);
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class OnnxNode {
  opType: string;
  domain: string;
  name: string;
  docString: string;
  /** The message this node was read from; undefined for nodes a pass created. */
  readonly source: NodeProto | undefined;
  #inputs: string[];
  #outputs: string[];
  /** Decoded on first use; until then the source's attributes stand. */
  #attributes: Map<string, OnnxAttribute> | undefined;
  #attributesEdited = false;
  /** The proto each decoded attribute came from, to write untouched ones back as read. */
  readonly #attributeSources = new WeakMap<OnnxAttribute, NodeProto['attribute'][number]>();
  #implicitInputs: ReadonlySet<string> | undefined;

  constructor(init: NodeInit, source?: NodeProto) {
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this.name = init.name ?? '';
    this.docString = init.docString ?? '';
    this.#inputs = [...init.inputs];
    this.#outputs = [...init.outputs];
    this.source = source;
    if (init.attributes) this.#attributes = new Map(Object.entries(init.attributes));
  }

  static fromProto(p: NodeProto): OnnxNode {
    return new OnnxNode(
      {
        opType: p.opType,
        domain: p.domain,
        name: p.name,
        docString: p.docString,
        inputs: p.input,
        outputs: p.output,
      },
      p,
    );
  }

  // ------------------------------------------------------------ edges

  get inputs(): readonly string[] {
    return this.#inputs;
  }

  get outputs(): readonly string[] {
    return this.#outputs;
  }

  setInputs(names: readonly string[]): void {
    this.#inputs = [...names];
    this.#changed();
  }

  /** Sets input #index; one past the last adds an input (an optional one, say). */
  setInput(index: number, name: string): void {
    if (index < 0 || index > this.#inputs.length)
      throw new OnnxRewriteError(
        `${describeNode(this)} has ${this.#inputs.length} inputs: cannot set input #${index}`,
      );
    this.#inputs[index] = name;
    this.#changed();
  }

  setOutputs(names: readonly string[]): void {
    this.#outputs = [...names];
    this.#changed();
  }

  setOutput(index: number, name: string): void {
    if (index < 0 || index >= this.#outputs.length)
      throw new OnnxRewriteError(
        `${describeNode(this)} has ${this.#outputs.length} outputs: cannot set output #${index}`,
      );
    this.#outputs[index] = name;
    this.#changed();
  }

  /**
   * Makes the node read `to` wherever it read `from`: its inputs, and the reads of its subgraphs
   * from the enclosing graph. Returns whether anything changed.
   */
  replaceInput(from: string, to: string): boolean {
    let changed = false;
    for (let i = 0; i < this.#inputs.length; i++)
      if (this.#inputs[i] === from) {
        this.#inputs[i] = to;
        changed = true;
      }
    if (this.implicitInputs.has(from)) {
      for (const [name, a] of this.#decoded()) {
        const graphs = attributeGraphs(a);
        if (graphs.length === 0) continue;
        const renamed = graphs.map((g) => renameOuterReference(g, from, to));
        if (renamed.every((g, i) => g === graphs[i])) continue;
        this.setAttribute(
          name,
          a.type === 'graph' ? { type: 'graph', value: renamed[0] } : renamedGraphs(a, renamed),
        );
      }
      changed = true;
    }
    if (changed) this.#changed();
    return changed;
  }

  /** Outer values this node's subgraphs read by name (empty for nodes without subgraphs). */
  get implicitInputs(): ReadonlySet<string> {
    if (!this.#implicitInputs) {
      const refs = new Set<string>();
      for (const g of this.subgraphs()) for (const r of outerReferences(g)) refs.add(r);
      this.#implicitInputs = refs;
    }
    return this.#implicitInputs;
  }

  /** Every value the node reads: its inputs, then what its subgraphs read from outside. */
  reads(): string[] {
    const names = new Set(this.#inputs.filter((x) => x !== ''));
    for (const r of this.implicitInputs) names.add(r);
    return [...names];
  }

  subgraphs(): GraphProto[] {
    // Without decoding every attribute of an untouched node: subgraphs are in g and graphs.
    if (!this.#attributes && this.source)
      return this.source.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs]);
    return [...this.#decoded().values()].flatMap(attributeGraphs);
  }

  // ------------------------------------------------------------ attributes

  #decoded(): Map<string, OnnxAttribute> {
    if (!this.#attributes) {
      this.#attributes = new Map();
      for (const p of this.source?.attribute ?? []) {
        const a = decodeAttribute(p);
        this.#attributeSources.set(a, p);
        this.#attributes.set(p.name, a);
      }
    }
    return this.#attributes;
  }

  attributeNames(): string[] {
    return [...this.#decoded().keys()];
  }

  attribute(name: string): OnnxAttribute | undefined {
    return this.#decoded().get(name);
  }

  /** Adds or replaces an attribute (a replaced one keeps its place among the others). */
  setAttribute(name: string, value: OnnxAttribute): void {
    this.#decoded().set(name, value);
    this.#attributesEdited = true;
    // A subgraph attribute can change what the node reads from the graph around it.
    this.#changed();
  }

  removeAttribute(name: string): boolean {
    const removed = this.#decoded().delete(name);
    if (removed) {
      this.#attributesEdited = true;
      this.#changed();
    }
    return removed;
  }

  /** The attribute, checked to be of `type`; undefined when absent. */
  #typed(name: string, type: OnnxAttribute['type']): OnnxAttribute | undefined {
    const a = this.attribute(name);
    if (a !== undefined && a.type !== type)
      throw new OnnxRewriteError(`${describeNode(this)}: attribute '${name}' is ${a.type}, not ${type}`);
    return a;
  }

  #absent<V>(name: string, fallback: V | undefined): V {
    if (fallback !== undefined) return fallback;
    throw new OnnxRewriteError(`${describeNode(this)} has no attribute '${name}'`);
  }

  int(name: string, fallback?: number): number {
    const a = this.#typed(name, 'int');
    return a?.type === 'int' ? a.value : this.#absent(name, fallback);
  }
  float(name: string, fallback?: number): number {
    const a = this.#typed(name, 'float');
    return a?.type === 'float' ? a.value : this.#absent(name, fallback);
  }
  string(name: string, fallback?: string): string {
    const a = this.#typed(name, 'string');
    return a?.type === 'string' ? a.value : this.#absent(name, fallback);
  }
  ints(name: string, fallback?: readonly number[]): readonly number[] {
    const a = this.#typed(name, 'ints');
    return a?.type === 'ints' ? a.value : this.#absent(name, fallback);
  }
  floats(name: string, fallback?: readonly number[]): readonly number[] {
    const a = this.#typed(name, 'floats');
    return a?.type === 'floats' ? a.value : this.#absent(name, fallback);
  }
  tensor(name: string): TensorData {
    const a = this.#typed(name, 'tensor');
    return a?.type === 'tensor' ? a.value : this.#absent<TensorData>(name, undefined);
  }

  // ------------------------------------------------------------ writing

  /** Whether this node would be written differently from the proto it was read from. */
  get edited(): boolean {
    const s = this.source;
    return (
      !s ||
      this.#attributesEdited ||
      s.opType !== this.opType ||
      s.domain !== this.domain ||
      s.name !== this.name ||
      s.docString !== this.docString ||
      !same(s.input, this.#inputs) ||
      !same(s.output, this.#outputs)
    );
  }

  /** The node as a NodeProto: its source when unedited, else a copy of the source with the edits. */
  toProto(): NodeProto {
    const s = this.source;
    if (s && !this.edited) return s;
    const attribute = this.#attributes
      ? [...this.#attributes].map(([name, a]) => {
          const kept = this.#attributeSources.get(a);
          return kept && kept.name === name ? kept : encodeAttribute(name, a);
        })
      : undefined;
    if (s) {
      const changed: Partial<NodeProto> = {};
      if (s.opType !== this.opType) changed.opType = this.opType;
      if (s.domain !== this.domain) changed.domain = this.domain;
      if (s.name !== this.name) changed.name = this.name;
      if (s.docString !== this.docString) changed.docString = this.docString;
      if (!same(s.input, this.#inputs)) changed.input = [...this.#inputs];
      if (!same(s.output, this.#outputs)) changed.output = [...this.#outputs];
      if (this.#attributesEdited && attribute) changed.attribute = attribute;
      return withFields(s, changed);
    }
    // A new node writes only the optional fields it has, as ONNX's own tools do.
    return newMessage<NodeProto>(NodeProtoSchema, {
      ...(this.name ? { name: this.name } : {}),
      opType: this.opType,
      ...(this.domain ? { domain: this.domain } : {}),
      ...(this.docString ? { docString: this.docString } : {}),
      input: [...this.#inputs],
      output: [...this.#outputs],
      attribute: attribute ?? [],
    });
  }

  toString(): string {
    return describeNode(this);
  }

  #changed(): void {
    this.#implicitInputs = undefined;
    watchers.get(this)?.();
  }
}

function renamedGraphs(a: OnnxAttribute, renamed: GraphProto[]): OnnxAttribute {
  if (a.type === 'graphs') return { type: 'graphs', value: renamed };
  if (a.type !== 'proto') throw new Error(`unreachable: a ${a.type} attribute holds no subgraphs`);
  // A kept attribute holds its subgraphs in g and/or graphs, in that order.
  const p = a.value;
  const g = p.g ? renamed[0] : undefined;
  return { type: 'proto', value: withFields(p, { ...(g ? { g } : {}), graphs: renamed.slice(p.g ? 1 : 0) }) };
}

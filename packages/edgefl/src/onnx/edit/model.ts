/**
 * An ONNX model opened for editing: any .onnx (not only edgefl's), its nodes as OnnxNode records,
 * its initializers decoded on demand, with the rewrites passes are made of (find, replace, insert,
 * remove and rewire, rename, add and drop initializers, prune, sort, validate).
 *
 * The model read is never changed. Its messages are written back as they were read unless an edit
 * touched them, and then as copies that keep what the edit did not touch (see messages.ts), so a
 * model imported and exported without edits gives back the same bytes.
 *
 * Every edit checks what it is asked and refuses, naming the node and value, anything that would
 * leave a value read but undefined or defined twice; the node order is left to sort() (runPasses
 * calls it after each pass), and validate() checks the whole.
 */
import type { ModelProto, TensorProto, ValueInfoProto } from '../schema.js';
import { ModelProtoSchema, ValueInfoProtoSchema } from '../schema.js';
import type { DType, Shape, TensorData } from '../types.js';
import { onnxTypeCode } from '../ops.js';
import { DEFAULT_OPSET, IR_VERSION } from '../proto.js';
import type { OnnxAttribute } from './attributes.js';
import { describeNode, OnnxRewriteError } from './errors.js';
import { isDefaultDomain, ModelFields } from './model-fields.js';
import { newMessage, withFields } from './messages.js';
import { isWatched, OnnxNode, unwatchNode, watchNode } from './node.js';
import { describeCycle, topologicalOrder } from './order.js';
import { namesIn } from './subgraphs.js';
import { decodeInitializer, initializerMessage, type InitializerData } from './tensors.js';
import { findProblems } from './validate.js';
import { ValueIndex } from './value-index.js';

export interface CreateNodeOptions {
  /** Output names, or how many fresh ones to make (default 1). */
  outputs?: number | readonly string[];
  attributes?: Readonly<Record<string, OnnxAttribute>>;
  /** Default: a fresh name from the op type. */
  name?: string;
  domain?: string;
  docString?: string;
}

export interface RemoveOptions {
  /**
   * For each output of the removed node that is still read: the value to read instead (e.g.
   * `{ [node.outputs[0]]: node.inputs[0] }` to bypass an Identity). A graph output keeps its name:
   * the value it is rewired to is renamed after it, which needs that value to be a node's output.
   */
  rewire?: Readonly<Record<string, string>>;
}

export interface UnusedRemoved {
  nodes: OnnxNode[];
  initializers: string[];
  valueInfos: string[];
}

/** The names of the graph's inputs and outputs, for quick membership questions. */
interface Interface {
  inputs: Set<string>;
  outputs: Set<string>;
}

function valueInfoMessage(name: string, dtype: DType, shape: Shape | undefined): ValueInfoProto {
  return newMessage<ValueInfoProto>(ValueInfoProtoSchema, {
    name,
    type: {
      tensorType: {
        elemType: onnxTypeCode(dtype),
        shape: shape && {
          dim: shape.map((d) => (typeof d === 'number' ? { dimValue: BigInt(d) } : { dimParam: d })),
        },
      },
    },
  });
}

export class OnnxModel extends ModelFields {
  /** Where the model came from, for messages ("model.onnx"). */
  readonly source: string;
  #nodes: OnnxNode[];
  #initializers: Map<string, TensorProto>;
  #inputs: ValueInfoProto[];
  #outputs: ValueInfoProto[];
  #valueInfo: ValueInfoProto[];
  readonly #index = new ValueIndex();
  #interface: Interface | undefined;
  /** Every name used so far, subgraphs included: computed when first needed, then only grows. */
  #names: Set<string> | undefined;
  readonly #issued = new Set<string>();
  #counter = 0;
  /** Values sparse initializers define (kept as read: edgefl does not edit sparse tensors). */
  readonly #sparse: readonly string[];

  private constructor(read: ModelProto, source: string) {
    super(read);
    this.source = source;
    const g = read.graph!;
    this.#nodes = g.node.map((p) => OnnxNode.fromProto(p));
    for (const n of this.#nodes) this.#track(n);
    this.#initializers = new Map();
    for (const t of g.initializer) {
      if (this.#initializers.has(t.name))
        throw new OnnxRewriteError(`${source}: initializer '${t.name}' is defined twice`);
      this.#initializers.set(t.name, t);
    }
    this.#inputs = [...g.input];
    this.#outputs = [...g.output];
    this.#valueInfo = [...g.valueInfo];
    this.#sparse = (g.sparseInitializer ?? []).flatMap((t) => (t.values ? [t.values.name] : []));
  }

  /** A model with an empty graph, to build one from scratch. */
  static empty(o: { opset?: number; irVersion?: number; graphName?: string } = {}): OnnxModel {
    const read = newMessage<ModelProto>(ModelProtoSchema, {
      irVersion: BigInt(o.irVersion ?? IR_VERSION),
      producerName: 'edgefl',
      opsetImport: [{ domain: '', version: BigInt(o.opset ?? DEFAULT_OPSET) }],
      graph: { name: o.graphName ?? 'graph' },
    });
    return new OnnxModel(read, read.graph!.name);
  }

  /**
   * Opens a decoded model for editing. Refuses one whose nodes read values nothing defines, that
   * defines a value twice, or whose nodes form a cycle.
   */
  static fromProto(read: ModelProto, source = 'model'): OnnxModel {
    if (!read.graph) throw new OnnxRewriteError(`${source} has no graph`);
    const model = new OnnxModel(read, source);
    const problems = model.problems({ order: false, domains: false });
    if (problems.length) throw new OnnxRewriteError(`${source}: ${problems.join('; ')}`);
    return model;
  }

  // ------------------------------------------------------------ graph interface

  /** Graph inputs (initializers listed here too are inputs with a default value). */
  get inputs(): readonly ValueInfoProto[] {
    return this.#inputs;
  }
  get outputs(): readonly ValueInfoProto[] {
    return this.#outputs;
  }
  /** Types and shapes recorded for intermediate values. */
  get valueInfos(): readonly ValueInfoProto[] {
    return this.#valueInfo;
  }

  /** The recorded type of a value: graph input, output or intermediate. */
  valueInfo(name: string): ValueInfoProto | undefined {
    return [...this.#inputs, ...this.#outputs, ...this.#valueInfo].find((v) => v.name === name);
  }

  /** Forgets an intermediate value's recorded type (e.g. after a pass changes it). */
  removeValueInfo(name: string): boolean {
    const before = this.#valueInfo.length;
    this.#valueInfo = this.#valueInfo.filter((v) => v.name !== name);
    return this.#valueInfo.length !== before;
  }

  /**
   * Adds a graph input (a value the caller feeds). An initializer of that name becomes the input's
   * default value. (The ONNX checker wants a shape on graph inputs and outputs.)
   */
  addInput(name: string, dtype: DType, shape?: Shape): void {
    if (this.isGraphInput(name) || (this.isDefined(name) && !this.#initializers.has(name)))
      throw new OnnxRewriteError(`addInput: '${name}' is already defined`);
    this.#inputs.push(valueInfoMessage(name, dtype, shape));
    this.#interfaceChanged(name);
  }

  /**
   * Makes a defined value a graph output (e.g. an intermediate one, to observe it). Its type is
   * the one given, else the one recorded for the value, which then moves from value_info.
   */
  addOutput(name: string, dtype?: DType, shape?: Shape): void {
    if (!this.isDefined(name)) throw new OnnxRewriteError(`addOutput: '${name}' is not defined`);
    if (this.isGraphOutput(name))
      throw new OnnxRewriteError(`addOutput: '${name}' is already a graph output`);
    const recorded = this.#valueInfo.find((v) => v.name === name);
    this.#outputs.push(
      dtype !== undefined
        ? valueInfoMessage(name, dtype, shape)
        : (recorded ?? newMessage<ValueInfoProto>(ValueInfoProtoSchema, { name })),
    );
    if (recorded) this.removeValueInfo(name);
    this.#interfaceChanged(name);
  }

  /** Stops returning a value (its nodes stay until removeUnused finds them dead). */
  removeOutput(name: string): void {
    const i = this.#outputs.findIndex((v) => v.name === name);
    if (i < 0) throw new OnnxRewriteError(`removeOutput: '${name}' is not a graph output`);
    this.#outputs.splice(i, 1);
    this.#interfaceChanged();
  }

  isGraphInput(name: string): boolean {
    return this.#interfaceNames().inputs.has(name);
  }
  isGraphOutput(name: string): boolean {
    return this.#interfaceNames().outputs.has(name);
  }
  isInitializer(name: string): boolean {
    return this.#initializers.has(name);
  }
  /** An initializer that is not also a graph input (which a caller may feed to override it). */
  isConstant(name: string): boolean {
    return this.#initializers.has(name) && !this.isGraphInput(name);
  }
  /** Whether a graph input, initializer or node defines the value. */
  isDefined(name: string): boolean {
    return (
      this.isGraphInput(name) ||
      this.#initializers.has(name) ||
      this.#index.producer(name) !== undefined ||
      this.#sparse.includes(name)
    );
  }

  // ------------------------------------------------------------ finding nodes

  /** The nodes, in order; only those of one op type (and domain, when given). A snapshot. */
  nodes(opType?: string, domain?: string): OnnxNode[] {
    return this.#nodes.filter(
      (n) =>
        (opType === undefined || n.opType === opType) &&
        (domain === undefined ||
          n.domain === domain ||
          (isDefaultDomain(n.domain) && isDefaultDomain(domain))),
    );
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  /** The nodes for which `predicate` holds, in order. */
  filter(predicate: (node: OnnxNode, index: number) => boolean): OnnxNode[] {
    return this.#nodes.filter(predicate);
  }

  /** The first node for which `predicate` holds. */
  find(predicate: (node: OnnxNode, index: number) => boolean): OnnxNode | undefined {
    return this.#nodes.find(predicate);
  }

  indexOf(node: OnnxNode): number {
    return this.#nodes.indexOf(node);
  }

  /** The node that computes `value` (undefined for graph inputs and initializers). */
  producer(value: string): OnnxNode | undefined {
    return this.#index.producer(value);
  }

  /** The nodes that read `value`, through an input or through a subgraph. */
  consumers(value: string): OnnxNode[] {
    return this.#index.consumers(value);
  }

  // ------------------------------------------------------------ names

  /**
   * A value (or node) name used nowhere in the model, subgraphs included, nor handed out before:
   * `hint`, or `hint_1`, `hint_2`...
   */
  freshName(hint: string): string {
    const taken = this.#allNames();
    let name = hint;
    while (taken.has(name) || this.#issued.has(name)) name = `${hint}_${++this.#counter}`;
    this.#issued.add(name);
    return name;
  }

  #allNames(): Set<string> {
    if (!this.#names) {
      const names = new Set<string>([...this.#initializers.keys(), ...this.#sparse]);
      for (const v of [...this.#inputs, ...this.#outputs, ...this.#valueInfo]) names.add(v.name);
      for (const n of this.#nodes) {
        if (n.name) names.add(n.name);
        for (const x of [...n.inputs, ...n.outputs]) if (x) names.add(x);
        for (const g of n.subgraphs()) namesIn(g, names);
      }
      this.#names = names;
    }
    return this.#names;
  }

  // ------------------------------------------------------------ making and placing nodes

  /**
   * A new node, not yet in the model (place it with insertBefore/insertAfter/replace/add). Output
   * and node names default to fresh ones.
   */
  createNode(opType: string, inputs: readonly string[], o: CreateNodeOptions = {}): OnnxNode {
    const hint = opType.toLowerCase();
    const outputs =
      typeof o.outputs === 'object'
        ? o.outputs
        : Array.from({ length: o.outputs ?? 1 }, () => this.freshName(hint));
    return new OnnxNode({
      opType,
      inputs,
      outputs,
      attributes: o.attributes,
      name: o.name ?? this.freshName(opType),
      domain: o.domain,
      docString: o.docString,
    });
  }

  insertBefore(anchor: OnnxNode, nodes: readonly OnnxNode[]): void {
    this.#splice(this.#position(anchor, 'insertBefore'), undefined, nodes, {});
  }

  insertAfter(anchor: OnnxNode, nodes: readonly OnnxNode[]): void {
    this.#splice(this.#position(anchor, 'insertAfter') + 1, undefined, nodes, {});
  }

  /** Appends nodes at the end (sort() then puts them where their inputs allow). */
  add(nodes: readonly OnnxNode[]): void {
    this.#splice(this.#nodes.length, undefined, nodes, {});
  }

  /**
   * Puts `nodes` where `node` was. Outputs of `node` that the new nodes do not produce again and
   * that are still read must be rewired to another value (see RemoveOptions).
   */
  replace(node: OnnxNode, nodes: readonly OnnxNode[], o: RemoveOptions = {}): void {
    this.#splice(this.#position(node, 'replace'), node, nodes, o.rewire ?? {});
  }

  /** Removes a node. Its outputs must be unread, or rewired to values that stay. */
  remove(node: OnnxNode, o: RemoveOptions = {}): void {
    this.#splice(this.#position(node, 'remove'), node, [], o.rewire ?? {});
  }

  /** Replaces a node by initializers holding its outputs' values (unread outputs may be left out). */
  replaceWithConstants(node: OnnxNode, values: Readonly<Record<string, InitializerData>>): void {
    const at = this.#position(node, 'replaceWithConstants');
    for (const name of Object.keys(values))
      if (!node.outputs.includes(name))
        throw new OnnxRewriteError(`replaceWithConstants: ${describeNode(node)} has no output '${name}'`);
    const unread = node.outputs.filter((out) => out && !(out in values));
    for (const out of unread) this.#requireUnread(out, node, 'replaceWithConstants');
    this.#untrack(node);
    this.#nodes.splice(at, 1);
    for (const [name, t] of Object.entries(values)) this.#initializers.set(name, initializerMessage(name, t));
    for (const out of unread) this.removeValueInfo(out);
  }

  #position(node: OnnxNode, what: string): number {
    const i = this.#nodes.indexOf(node);
    if (i < 0) throw new OnnxRewriteError(`${what}: ${describeNode(node)} is not in this model`);
    return i;
  }

  #requireUnread(value: string, node: OnnxNode, what: string): void {
    const readers = this.consumers(value).filter((c) => c !== node);
    if (readers.length)
      throw new OnnxRewriteError(
        `${what}: ${describeNode(node)}'s output '${value}' is still read by ${describeNode(readers[0])}` +
          `${readers.length > 1 ? ` and ${readers.length - 1} more` : ''}: rewire it to another value`,
      );
    if (this.isGraphOutput(value))
      throw new OnnxRewriteError(
        `${what}: ${describeNode(node)}'s output '${value}' is a graph output: rewire it to another value`,
      );
  }

  /**
   * The one place nodes come and go: `removed` (if any) is at `at`, and `nodes` go there. Everything
   * is checked before anything changes, so a refused edit leaves the model as it was.
   */
  #splice(
    at: number,
    removed: OnnxNode | undefined,
    nodes: readonly OnnxNode[],
    rewire: Readonly<Record<string, string>>,
  ): void {
    const { vanishing, renames } = this.#checkSplice(removed, nodes, rewire);
    if (removed) this.#untrack(removed);
    for (const n of nodes) this.#track(n);
    this.#nodes.splice(at, removed ? 1 : 0, ...nodes);
    for (const v of vanishing) {
      const to = rewire[v];
      if (to !== undefined) for (const c of this.consumers(v)) c.replaceInput(v, to);
    }
    for (const [from, to] of renames) this.#merge(from, to);
    // Recorded types of values that are gone, under either name, go too.
    const merged = new Set(renames.map(([, to]) => to));
    for (const v of vanishing) if (!merged.has(v)) this.removeValueInfo(v);
    for (const [from] of renames) this.removeValueInfo(from);
  }

  /**
   * What a splice would do, or an error saying why it must not: the removed node's outputs that
   * nothing produces any more (`vanishing`), and the values to rename after graph outputs.
   */
  #checkSplice(
    removed: OnnxNode | undefined,
    nodes: readonly OnnxNode[],
    rewire: Readonly<Record<string, string>>,
  ): { vanishing: Set<string>; renames: [from: string, to: string][] } {
    const what = removed ? (nodes.length ? 'replace' : 'remove') : 'insert';
    const fail = (message: string): never => {
      throw new OnnxRewriteError(`${what}: ${message}`);
    };
    const produced = new Map<string, OnnxNode>();
    const seen = new Set<OnnxNode>();
    for (const n of nodes) {
      if (n === removed || isWatched(n))
        fail(`${describeNode(n)} is already in ${this.#nodes.includes(n) ? 'this' : 'another'} model`);
      if (seen.has(n)) fail(`${describeNode(n)} is given twice`);
      seen.add(n);
      for (const out of n.outputs) {
        if (!out) continue;
        const twice = produced.get(out);
        if (twice) fail(`${describeNode(twice)} and ${describeNode(n)} both produce '${out}'`);
        produced.set(out, n);
        if (!removed?.outputs.includes(out) && this.isDefined(out))
          fail(`${describeNode(n)} produces '${out}', which is already defined`);
      }
    }
    const vanishing = new Set((removed?.outputs ?? []).filter((o) => o && !produced.has(o)));
    const gone = (v: string) => (vanishing.has(v) ? ` once ${describeNode(removed!)} is gone` : '');
    const definedAfter = (v: string) => produced.has(v) || (this.isDefined(v) && !vanishing.has(v));
    for (const n of nodes)
      for (const v of n.reads())
        if (!definedAfter(v))
          fail(
            `${describeNode(n)} reads '${v}'${n.inputs.includes(v) ? '' : ' (in a subgraph)'}, which is not defined${gone(v)}`,
          );
    for (const [from, to] of Object.entries(rewire)) {
      if (!removed?.outputs.includes(from))
        fail(`cannot rewire '${from}': it is not an output of ${describeNode(removed ?? nodes[0])}`);
      if (!definedAfter(to)) fail(`cannot rewire '${from}' to '${to}': '${to}' is not defined${gone(to)}`);
    }
    // Graph outputs keep their names: the value standing in for one is renamed after it.
    const renames: [from: string, to: string][] = [];
    for (const v of vanishing) {
      const to = rewire[v];
      if (to === undefined) this.#requireUnread(v, removed!, what);
      if (to === undefined || !this.isGraphOutput(v)) continue;
      const producer = produced.get(to) ?? this.producer(to);
      const why =
        !producer || producer === removed
          ? `it is ${this.isGraphInput(to) ? 'a graph input' : 'an initializer'}, not a node's output`
          : this.isGraphOutput(to)
            ? 'it is a graph output itself'
            : renames.some(([from]) => from === to)
              ? 'it already stands for another graph output'
              : undefined;
      if (why)
        fail(
          `${describeNode(removed!)}'s output '${v}' is a graph output, and '${to}' cannot take its name: ${why}`,
        );
      renames.push([to, v]);
    }
    return { vanishing, renames };
  }

  /** `from` takes the existing name `to` (a graph output whose producer is gone) everywhere. */
  #merge(from: string, to: string): void {
    const p = this.producer(from)!;
    p.setOutputs(p.outputs.map((o) => (o === from ? to : o)));
    for (const c of this.consumers(from)) c.replaceInput(from, to);
  }

  /** Makes every reader of `from` except `except` read `to`; graph outputs stay. Returns how many. */
  replaceUses(from: string, to: string, o: { except?: readonly OnnxNode[] } = {}): number {
    if (!this.isDefined(to)) throw new OnnxRewriteError(`replaceUses: '${to}' is not defined`);
    const readers = this.consumers(from).filter((c) => !o.except?.includes(c));
    for (const c of readers) {
      // A reader that produces `to` itself would read its own output.
      if (c.outputs.includes(to))
        throw new OnnxRewriteError(`replaceUses: ${describeNode(c)} produces '${to}': it cannot read it`);
      c.replaceInput(from, to);
    }
    return readers.length;
  }

  /**
   * Renames a value everywhere: its producer or initializer or graph input, its readers (subgraphs
   * too), graph outputs, recorded types. Renaming a graph input or output changes the model's
   * interface.
   */
  rename(from: string, to: string): void {
    if (!this.isDefined(from)) throw new OnnxRewriteError(`rename: '${from}' is not defined`);
    if (this.#allNames().has(to)) throw new OnnxRewriteError(`rename: '${to}' is already used in the model`);
    const p = this.producer(from);
    if (p) p.setOutputs(p.outputs.map((o) => (o === from ? to : o)));
    for (const c of this.consumers(from)) c.replaceInput(from, to);
    if (this.#initializers.has(from))
      this.#initializers = new Map(
        [...this.#initializers].map(([k, t]) => (k === from ? [to, withFields(t, { name: to })] : [k, t])),
      );
    const renamed = (vs: ValueInfoProto[]) =>
      vs.map((v) => (v.name === from ? withFields(v, { name: to }) : v));
    this.#inputs = renamed(this.#inputs);
    this.#outputs = renamed(this.#outputs);
    this.#valueInfo = renamed(this.#valueInfo);
    this.#interfaceChanged(to);
  }

  // ------------------------------------------------------------ initializers

  initializerNames(): string[] {
    return [...this.#initializers.keys()];
  }

  /** The initializer's values, decoded (a copy), or undefined when there is none of that name. */
  initializer(name: string): TensorData | undefined {
    const t = this.#initializers.get(name);
    return t && decodeInitializer(t);
  }

  /** The initializer's message as it will be written. */
  initializerProto(name: string): TensorProto | undefined {
    return this.#initializers.get(name);
  }

  addInitializer(name: string, data: InitializerData): void {
    if (this.isDefined(name))
      throw new OnnxRewriteError(
        `addInitializer: '${name}' is already defined${this.isGraphInput(name) ? ' (a graph input)' : ''}`,
      );
    if (this.irVersion < 4)
      throw new OnnxRewriteError(
        `addInitializer '${name}': IR version ${this.irVersion} requires every initializer to be a graph input too; raise irVersion to 4 or more`,
      );
    this.#initializers.set(name, initializerMessage(name, data));
    this.#names?.add(name);
  }

  /** Replaces an existing initializer's value (it keeps its place among the initializers). */
  setInitializer(name: string, data: InitializerData): void {
    if (!this.#initializers.has(name))
      throw new OnnxRewriteError(`setInitializer: there is no initializer '${name}'`);
    this.#initializers.set(name, initializerMessage(name, data));
  }

  /** Removes an initializer nothing reads. */
  removeInitializer(name: string): void {
    if (!this.#initializers.has(name))
      throw new OnnxRewriteError(`removeInitializer: there is no initializer '${name}'`);
    const readers = this.consumers(name);
    if (readers.length)
      throw new OnnxRewriteError(`removeInitializer: '${name}' is still read by ${describeNode(readers[0])}`);
    if (this.isGraphOutput(name))
      throw new OnnxRewriteError(`removeInitializer: '${name}' is a graph output`);
    this.#initializers.delete(name);
  }

  // ------------------------------------------------------------ whole-graph operations

  /**
   * Removes what no graph output depends on: nodes, initializers (unless graph inputs: an input is
   * part of the interface) and recorded types of values that no longer exist.
   */
  removeUnused(): UnusedRemoved {
    const live = new Set(this.#outputs.map((o) => o.name));
    const liveNodes = new Set<OnnxNode>();
    const work = [...live];
    while (work.length) {
      const p = this.producer(work.pop()!);
      if (!p || liveNodes.has(p)) continue;
      liveNodes.add(p);
      for (const v of p.reads())
        if (!live.has(v)) {
          live.add(v);
          work.push(v);
        }
    }
    const nodes = this.#nodes.filter((n) => !liveNodes.has(n));
    for (const n of nodes) this.#untrack(n);
    this.#nodes = this.#nodes.filter((n) => liveNodes.has(n));
    const initializers = [...this.#initializers.keys()].filter((k) => !live.has(k) && !this.isGraphInput(k));
    for (const k of initializers) this.#initializers.delete(k);
    const valueInfos = this.#valueInfo.filter((v) => !this.isDefined(v.name)).map((v) => v.name);
    for (const v of valueInfos) this.removeValueInfo(v);
    return { nodes, initializers, valueInfos };
  }

  /**
   * Puts the nodes in topological order: a node moves only when a reader comes before it, to just
   * before that reader (see order.ts). Returns whether any moved.
   */
  sort(): boolean {
    const ordering = topologicalOrder(this.#nodes);
    if (!ordering.ok)
      throw new OnnxRewriteError(`sort: the graph has a cycle: ${describeCycle(ordering.cycle)}`);
    const moved = ordering.order.some((n, i) => n !== this.#nodes[i]);
    this.#nodes = ordering.order;
    return moved;
  }

  /** Everything wrong with the model as it stands (empty when it can be written). */
  problems(o = { order: true, domains: true }): string[] {
    return findProblems(
      {
        nodes: this.#nodes,
        inputs: this.#inputs.map((v) => v.name),
        outputs: this.#outputs.map((v) => v.name),
        initializers: [...this.#initializers.keys()],
        sparseInitializers: this.#sparse,
        domains: new Set(this.opsets().map((x) => (isDefaultDomain(x.domain) ? '' : x.domain))),
      },
      o,
    );
  }

  /** Throws an OnnxRewriteError naming every problem, if there is one. */
  validate(): void {
    const problems = this.problems();
    if (problems.length) throw new OnnxRewriteError(`${this.source}: ${problems.join('; ')}`);
  }

  // ------------------------------------------------------------ writing

  /** The model as a ModelProto: what was read, with the edits. */
  toProto(): ModelProto {
    return this.withGraph({
      node: this.#nodes.map((n) => n.toProto()),
      initializer: [...this.#initializers.values()],
      input: [...this.#inputs],
      output: [...this.#outputs],
      valueInfo: [...this.#valueInfo],
    });
  }

  // ------------------------------------------------------------ index

  /** Takes a node in: indexed now, and re-indexed whenever its edges change. */
  #track(node: OnnxNode): void {
    watchNode(node, () => {
      this.#index.update(node);
      this.#noteNames(node);
    });
    this.#index.add(node);
    this.#noteNames(node);
  }

  #untrack(node: OnnxNode): void {
    unwatchNode(node);
    this.#index.remove(node);
  }

  #noteNames(node: OnnxNode): void {
    const names = this.#names;
    if (!names) return;
    if (node.name) names.add(node.name);
    for (const x of [...node.inputs, ...node.outputs]) if (x) names.add(x);
    for (const g of node.subgraphs()) namesIn(g, names);
  }

  #interfaceChanged(newName?: string): void {
    this.#interface = undefined;
    if (newName !== undefined) this.#names?.add(newName);
  }

  #interfaceNames(): Interface {
    this.#interface ??= {
      inputs: new Set(this.#inputs.map((v) => v.name)),
      outputs: new Set(this.#outputs.map((v) => v.name)),
    };
    return this.#interface;
  }
}

/**
 * A graph under construction. Nodes are appended in topological order (an operator can only
 * consume values that already exist), which the autodiff relies on: walking `nodes` backwards is a
 * valid reverse topological order.
 */
import { type Attribute, type DType, type Shape, type TensorData, shapeToString } from './types.js';

export interface Node {
  readonly op: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[]; // '' marks an omitted optional input
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attribute>>;
}

/** A typed edge of the graph. Ops take and return Values; a Value knows its graph. */
export class Value {
  constructor(
    readonly graph: Graph,
    /** Changed only by Graph.output when it names a computed value in place. */
    public name: string,
    readonly dtype: DType,
    readonly shape: Shape | undefined,
  ) {}

  get rank(): number | undefined {
    return this.shape?.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${shapeToString(this.shape)}`;
  }
}

export class GraphError extends Error {
  override name = 'GraphError';
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, TensorData>();
  private readonly values = new Map<string, Value>();
  private readonly producers = new Map<string, number>();
  private counter = 0;
  /** Prefix for generated names, so that subgraphs (e.g. the backward pass) are easy to read in Netron. */
  scope = '';

  constructor(readonly name = 'edgefl') {}

  /** A fresh, unique value name. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.scope}${hint}_${this.counter++}`;
    while (this.values.has(name));
    return name;
  }

  value(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new GraphError(`graph '${this.name}' has no value named '${name}'`);
    return v;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The index in `nodes` of the node producing `name`, or undefined for inputs and initializers. */
  producerIndex(name: string): number | undefined {
    return this.producers.get(name);
  }

  private declare(name: string, dtype: DType, shape: Shape | undefined): Value {
    if (this.values.has(name))
      throw new GraphError(`value '${name}' is already defined in graph '${this.name}'`);
    const v = new Value(this, name, dtype, shape === undefined ? undefined : [...shape]);
    this.values.set(name, v);
    return v;
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.declare(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /** Constant tensor data stored in the graph. */
  initializer(name: string, data: TensorData): Value {
    const v = this.declare(name, data.dtype, data.dims);
    this.initializers.set(name, data);
    return v;
  }

  /**
   * Marks a value as a graph output under `name`. A computed value is renamed in place; an input,
   * initializer or value that is already an output gets an Identity node (a copy at run time).
   */
  output(v: Value, name?: string): Value {
    this.own(v);
    let out = v;
    if (name !== undefined && name !== v.name) {
      if (this.values.has(name)) throw new GraphError(`cannot name an output '${name}': the name is taken`);
      const producer = this.producers.get(v.name);
      if (producer !== undefined && !this.outputs.includes(v)) this.rename(v, name, producer);
      else
        [out] = this.node('Identity', [v], {}, [{ dtype: v.dtype, shape: v.shape }], { outputNames: [name] });
    }
    if (this.outputs.some((o) => o.name === out.name))
      throw new GraphError(`'${out.name}' is already an output`);
    this.outputs.push(out);
    return out;
  }

  private rename(v: Value, name: string, producer: number): void {
    const old = v.name;
    const fix = (n: Node): Node => ({
      ...n,
      inputs: n.inputs.map((x) => (x === old ? name : x)),
      outputs: n.outputs.map((x) => (x === old ? name : x)),
    });
    for (let i = producer; i < this.nodes.length; i++) this.nodes[i] = fix(this.nodes[i]);
    this.values.delete(old);
    this.producers.delete(old);
    v.name = name;
    this.values.set(name, v);
    this.producers.set(name, producer);
  }

  /** The nodes that read a value. */
  consumers(name: string): Node[] {
    return this.nodes.filter((n) => n.inputs.includes(name));
  }

  /**
   * Removes nodes whose outputs nobody reads (e.g. a gradient that an optimizer fusion replaced)
   * and initializers no node reads. Indices returned by producerIndex are invalid afterwards.
   */
  prune(): void {
    const live = new Set(this.outputs.map((o) => o.name));
    const keep: boolean[] = new Array(this.nodes.length).fill(false);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.outputs.some((o) => live.has(o))) {
        keep[i] = true;
        for (const x of n.inputs) if (x) live.add(x);
      }
    }
    const kept = this.nodes.filter((_, i) => keep[i]);
    this.nodes.length = 0;
    this.nodes.push(...kept);
    this.producers.clear();
    this.nodes.forEach((n, i) => n.outputs.forEach((o) => this.producers.set(o, i)));
    for (const name of [...this.initializers.keys()]) if (!live.has(name)) this.initializers.delete(name);
  }

  own(v: Value): void {
    if (v.graph !== this)
      throw new GraphError(`value '${v.name}' belongs to graph '${v.graph.name}', not '${this.name}'`);
  }

  /**
   * Appends a node. Callers (the typed ops) have already inferred the outputs' types and shapes.
   * `null` inputs are omitted optional inputs.
   */
  node(
    op: string,
    inputs: readonly (Value | null)[],
    attrs: Record<string, Attribute>,
    outputs: readonly { dtype: DType; shape: Shape | undefined }[],
    options: { domain?: string; outputNames?: readonly string[]; hint?: string } = {},
  ): Value[] {
    for (const v of inputs) if (v) this.own(v);
    // Trailing omitted inputs are dropped; interior ones stay as ''.
    const names = inputs.map((v) => (v ? v.name : ''));
    while (names.length > 0 && names[names.length - 1] === '') names.pop();
    const hint = options.hint ?? op.toLowerCase();
    const outs = outputs.map((o, i) =>
      this.declare(options.outputNames?.[i] ?? this.fresh(hint), o.dtype, o.shape),
    );
    const node: Node = {
      op,
      domain: options.domain ?? '',
      name: this.fresh(`${op}`),
      inputs: names,
      outputs: outs.map((o) => o.name),
      attrs,
    };
    for (const o of outs) this.producers.set(o.name, this.nodes.length);
    this.nodes.push(node);
    return outs;
  }
}

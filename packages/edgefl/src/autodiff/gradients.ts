/**
 * Reverse-mode automatic differentiation over an ONNX graph under construction.
 *
 * The walk is kept apart from the per-operator rules (rules.ts): it visits the nodes that lie on a
 * path from the wanted inputs to the output, in reverse order, sums the gradient contributions of
 * every value, and asks each node's rule for its inputs' gradients. The rules append ordinary ONNX
 * nodes to the same graph, so the result is a plain ONNX graph — and, since the rules are built
 * from differentiable operators, it can itself be differentiated again.
 */
import { Graph, GraphError, Value, type Node } from '../onnx/graph.js';
import { constantOfShape, scalar, shapeOf, sum } from '../onnx/ops.js';
import { type Attribute, isFloat } from '../onnx/types.js';
import { gradientRules } from './rules.js';

/** What a rule sees of the node it differentiates. */
export class NodeView {
  readonly inputs: (Value | null)[];
  readonly outputs: Value[];
  constructor(
    readonly graph: Graph,
    readonly node: Node,
  ) {
    this.inputs = node.inputs.map((n) => (n === '' ? null : graph.value(n)));
    this.outputs = node.outputs.map((n) => graph.value(n));
  }
  get op(): string {
    return this.node.op;
  }
  input(i: number): Value {
    const v = this.inputs[i];
    if (!v) throw new GraphError(`${this.op} '${this.node.name}': input ${i} is missing`);
    return v;
  }
  private attribute(name: string): Attribute | undefined {
    return this.node.attrs[name];
  }
  int(name: string, fallback: number): number {
    const a = this.attribute(name);
    return a && a.type === 'int' ? a.value : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.attribute(name);
    return a && a.type === 'float' ? a.value : fallback;
  }
  ints(name: string, fallback: readonly number[]): readonly number[] {
    const a = this.attribute(name);
    return a && a.type === 'ints' ? a.value : fallback;
  }
  string(name: string, fallback: string): string {
    const a = this.attribute(name);
    return a && a.type === 'string' ? a.value : fallback;
  }
}

/**
 * One operator's backward rule: given the node and the gradients of its outputs (null where an
 * output does not influence the loss), returns the gradients of its inputs (null where an input is
 * not differentiable or not needed).
 */
export type GradientRule = (
  node: NodeView,
  outputGrads: (Value | null)[],
  needed: readonly boolean[],
) => (Value | null)[];

export interface GradientOptions {
  /** Gradient of `output` to start from; default 1 (output must then be a scalar). */
  seed?: Value;
  /** Prefix for the names of the backward nodes (readability in Netron). */
  scope?: string;
}

/**
 * d output / d wrt for every value in `wrt`, as new values in the same graph. A value the output
 * does not depend on gets a zero gradient of its own shape.
 */
export function gradients(output: Value, wrt: readonly Value[], options: GradientOptions = {}): Value[] {
  const g = output.graph;
  for (const w of wrt) g.own(w);
  if (!isFloat(output.dtype)) throw new GraphError(`gradients: output ${output} is not floating-point`);
  const nodeCount = g.nodes.length;

  // Values that depend on some `wrt` (forward), restricted to nodes that reach `output` (backward).
  const dependsOnWrt = new Set(wrt.map((w) => w.name));
  const relevant: boolean[] = new Array(nodeCount).fill(false);
  for (let i = 0; i < nodeCount; i++) {
    const n = g.nodes[i];
    if (n.inputs.some((x) => dependsOnWrt.has(x))) for (const o of n.outputs) dependsOnWrt.add(o);
  }
  const reachesOutput = new Set([output.name]);
  for (let i = nodeCount - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => reachesOutput.has(o)) && n.outputs.some((o) => dependsOnWrt.has(o))) {
      relevant[i] = true;
      for (const x of n.inputs) if (x) reachesOutput.add(x);
    }
  }

  const savedScope = g.scope;
  g.scope = options.scope ?? `${savedScope}grad/`;
  try {
    const contributions = new Map<string, Value[]>();
    const push = (name: string, v: Value) => {
      const list = contributions.get(name);
      if (list) list.push(v);
      else contributions.set(name, [v]);
    };
    const total = (name: string): Value | null => {
      const list = contributions.get(name);
      if (!list || list.length === 0) return null;
      const s = sum(list);
      contributions.set(name, [s]);
      return s;
    };

    if (options.seed) push(output.name, options.seed);
    else {
      if (output.shape === undefined || output.shape.length !== 0)
        throw new GraphError(`gradients: output ${output} is not a scalar; pass a seed gradient`);
      push(output.name, scalar(g, 1, output.dtype));
    }

    for (let i = nodeCount - 1; i >= 0; i--) {
      if (!relevant[i]) continue;
      const view = new NodeView(g, g.nodes[i]);
      const outGrads = view.node.outputs.map((o) => total(o));
      if (outGrads.every((d) => d === null)) continue;
      const rule = gradientRules[view.op];
      if (!rule)
        throw new GraphError(
          `gradients: no gradient rule for operator '${view.op}' (node '${view.node.name}')`,
        );
      const needed = view.node.inputs.map((x) => x !== '' && dependsOnWrt.has(x) && reachesOutput.has(x));
      const inGrads = rule(view, outGrads, needed);
      view.node.inputs.forEach((x, k) => {
        const d = inGrads[k];
        if (needed[k] && d) push(x, d);
      });
    }

    return wrt.map((w) => total(w.name) ?? constantOfShape(shapeOf(w), 0, w.dtype, w.shape));
  } finally {
    g.scope = savedScope;
  }
}

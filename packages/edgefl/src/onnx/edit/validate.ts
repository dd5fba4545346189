/**
 * What makes a graph unusable, each named by the node and value at fault: a value read but never
 * defined, a value defined twice, a cycle, a node before the value it reads (ONNX wants nodes in
 * topological order), an operator domain with no opset import.
 */
import { describeNode } from './errors.js';
import type { OnnxNode } from './node.js';
import { describeCycle, topologicalOrder } from './order.js';

export interface GraphView {
  readonly nodes: readonly OnnxNode[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly initializers: readonly string[];
  readonly sparseInitializers: readonly string[];
  /** The operator domains the model imports ('' standing for 'ai.onnx' too). */
  readonly domains: ReadonlySet<string>;
}

export interface ValidationOptions {
  /** Require topological order (ONNX does; an import accepts any order without a cycle). */
  order: boolean;
  /** Require an opset import for each node's domain. */
  domains: boolean;
}

export function findProblems(g: GraphView, o: ValidationOptions): string[] {
  const problems: string[] = [];
  const definedBy = new Map<string, string>();
  const define = (name: string, by: string) => {
    const before = definedBy.get(name);
    if (before !== undefined) problems.push(`value '${name}' is defined twice: by ${before} and by ${by}`);
    else definedBy.set(name, by);
  };
  g.inputs.forEach((n) => define(n, 'a graph input'));
  // An initializer may share its name with a graph input: it is then the input's default value.
  const inputs = new Set(g.inputs);
  for (const n of g.initializers) if (!inputs.has(n)) define(n, 'an initializer');
  g.sparseInitializers.forEach((n) => define(n, 'a sparse initializer'));
  const producedAt = new Map<string, number>();
  g.nodes.forEach((node, i) =>
    node.outputs.forEach((out) => {
      if (!out) return;
      define(out, describeNode(node));
      if (!producedAt.has(out)) producedAt.set(out, i);
    }),
  );

  let misordered: string | undefined;
  g.nodes.forEach((node, i) => {
    const reads = new Set(node.inputs.filter((x) => x !== ''));
    for (const v of node.reads()) {
      const how = reads.has(v) ? `input '${v}'` : `'${v}' (read by a subgraph)`;
      if (!definedBy.has(v))
        problems.push(
          `${describeNode(node)} reads ${how}, which is not defined: no graph input, initializer or node produces it`,
        );
      else if ((producedAt.get(v) ?? -1) >= i)
        misordered ??= `${describeNode(node)} reads '${v}' before ${describeNode(g.nodes[producedAt.get(v)!])} produces it: call sort()`;
    }
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    if (o.domains && !g.domains.has(domain))
      problems.push(`${describeNode(node)} is in domain '${domain}', for which the model imports no opset`);
  });
  for (const out of g.outputs)
    if (!definedBy.has(out)) problems.push(`graph output '${out}' is not defined: nothing produces it`);

  if (misordered) {
    const ordering = topologicalOrder(g.nodes);
    if (!ordering.ok) problems.push(`the graph has a cycle: ${describeCycle(ordering.cycle)}`);
    else if (o.order) problems.push(misordered);
  }
  return problems;
}

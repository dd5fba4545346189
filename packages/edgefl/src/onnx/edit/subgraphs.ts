/**
 * Subgraphs (If's branches, Loop's and Scan's bodies) may read values of the graphs around them by
 * name, without listing them as inputs. Those reads are edges of the outer graph too: the node
 * holding the subgraph depends on the value's producer, must come after it, keeps it alive, and
 * follows it when the value is renamed. These functions find and rename such reads; they never
 * change a message in place (see messages.ts).
 */
import type { AttributeProto, GraphProto, NodeProto } from '../schema.js';
import { withFields } from './messages.js';

function subgraphsOf(a: AttributeProto): GraphProto[] {
  return [...(a.g ? [a.g] : []), ...a.graphs];
}

/** The names a graph defines itself: its inputs, initializers and node outputs. */
function definedIn(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const v of graph.input) names.add(v.name);
  for (const t of graph.initializer) names.add(t.name);
  for (const s of graph.sparseInitializer ?? []) if (s.values) names.add(s.values.name);
  for (const n of graph.node) for (const o of n.output) if (o) names.add(o);
  return names;
}

/** The values `graph` reads from enclosing scopes, its nested subgraphs' reads included. */
export function outerReferences(graph: GraphProto): Set<string> {
  const defined = definedIn(graph);
  const refs = new Set<string>();
  const read = (name: string) => {
    if (name && !defined.has(name)) refs.add(name);
  };
  for (const n of graph.node) {
    n.input.forEach(read);
    for (const a of n.attribute) for (const g of subgraphsOf(a)) outerReferences(g).forEach(read);
  }
  // A subgraph may also return an outer value directly as one of its outputs.
  for (const o of graph.output) read(o.name);
  return refs;
}

/** Every name used anywhere in a subgraph, nested ones included (fresh names must avoid them all). */
export function namesIn(graph: GraphProto, into: Set<string> = new Set()): Set<string> {
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) into.add(v.name);
  for (const t of graph.initializer) into.add(t.name);
  for (const n of graph.node) {
    for (const x of [...n.input, ...n.output]) if (x) into.add(x);
    for (const a of n.attribute) for (const g of subgraphsOf(a)) namesIn(g, into);
  }
  return into;
}

function renameInNode(node: NodeProto, from: string, to: string): NodeProto {
  const input = node.input.map((x) => (x === from ? to : x));
  const attribute = node.attribute.map((a) => renameInAttribute(a, from, to));
  const inputsChanged = input.some((x, i) => x !== node.input[i]);
  const attributesChanged = attribute.some((a, i) => a !== node.attribute[i]);
  if (!inputsChanged && !attributesChanged) return node;
  return withFields(node, {
    ...(inputsChanged ? { input } : {}),
    ...(attributesChanged ? { attribute } : {}),
  });
}

function renameInAttribute(a: AttributeProto, from: string, to: string): AttributeProto {
  const g = a.g && renameOuterReference(a.g, from, to);
  const graphs = a.graphs.map((x) => renameOuterReference(x, from, to));
  const graphsChanged = graphs.some((x, i) => x !== a.graphs[i]);
  if (g === a.g && !graphsChanged) return a;
  return withFields(a, { ...(g !== a.g ? { g } : {}), ...(graphsChanged ? { graphs } : {}) });
}

/**
 * `graph` with its reads of the outer value `from` reading `to` instead (the same object when it
 * reads no `from`, or defines a `from` of its own that hides the outer one).
 */
export function renameOuterReference(graph: GraphProto, from: string, to: string): GraphProto {
  if (definedIn(graph).has(from)) return graph;
  const node = graph.node.map((n) => renameInNode(n, from, to));
  const output = graph.output.map((o) => (o.name === from ? withFields(o, { name: to }) : o));
  const nodesChanged = node.some((n, i) => n !== graph.node[i]);
  const outputsChanged = output.some((o, i) => o !== graph.output[i]);
  if (!nodesChanged && !outputsChanged) return graph;
  return withFields(graph, {
    ...(nodesChanged ? { node } : {}),
    ...(outputsChanged ? { output } : {}),
  });
}

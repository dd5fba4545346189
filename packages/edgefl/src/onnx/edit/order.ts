/**
 * Topological order of a node list that moves as little as possible: nodes are taken in their
 * order, and a node that reads a value produced further down first pulls that producer (and what
 * it needs) up to just before itself. An ordered list comes back unchanged, and a node a pass
 * appended lands right before its first reader. When there is no order, one cycle, to name in an
 * error.
 */
import { describeNode } from './errors.js';
import type { OnnxNode } from './node.js';

export type Ordering =
  { ok: true; order: OnnxNode[] } | { ok: false; cycle: { node: OnnxNode; reads: string }[] };

const NEW = 0;
const OPEN = 1;
const DONE = 2;

export function topologicalOrder(nodes: readonly OnnxNode[]): Ordering {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o && !producer.has(o) && producer.set(o, i)));
  // deps[i]: the nodes i reads from, each with the value it reads (to name a cycle), input order.
  const deps = nodes.map((n) => {
    const from: [node: number, value: string][] = [];
    for (const v of n.reads()) {
      const p = producer.get(v);
      if (p !== undefined) from.push([p, v]);
    }
    return from;
  });
  const state = new Uint8Array(nodes.length);
  const order: OnnxNode[] = [];
  // Depth first, without recursion (a chain of thousands of nodes is ordinary).
  const stack: { node: number; next: number }[] = [];
  for (let root = 0; root < nodes.length; root++) {
    if (state[root] !== NEW) continue;
    state[root] = OPEN;
    stack.push({ node: root, next: 0 });
    while (stack.length) {
      const top = stack[stack.length - 1];
      const d = deps[top.node];
      if (top.next === d.length) {
        state[top.node] = DONE;
        order.push(nodes[top.node]);
        stack.pop();
        continue;
      }
      const [dep] = d[top.next++];
      if (state[dep] === DONE) continue;
      if (state[dep] === OPEN) {
        // The open nodes from `dep` up the stack each read from the next one: a cycle.
        const from = stack.findIndex((s) => s.node === dep);
        const path = stack.slice(from);
        return {
          ok: false,
          cycle: path.map((s) => ({
            node: nodes[s.node],
            reads: deps[s.node][s.next - 1][1],
          })),
        };
      }
      state[dep] = OPEN;
      stack.push({ node: dep, next: 0 });
    }
  }
  return { ok: true, order };
}

/** "Add node 'a' reads 'y' from Mul node 'b', which reads 'x' from Add node 'a'". */
export function describeCycle(cycle: { node: OnnxNode; reads: string }[]): string {
  const steps = cycle.map(({ node, reads }, i) => {
    const from = cycle[(i + 1) % cycle.length].node;
    return `${i === 0 ? describeNode(node) : 'which'} reads '${reads}' from ${describeNode(from)}`;
  });
  return steps.join(', ');
}

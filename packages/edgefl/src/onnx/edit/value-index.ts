/**
 * Who produces and who reads each value, kept up to date node by node as the model changes (a
 * pass asks "who reads this?" after nearly every edit; rebuilding the index each time made a pass
 * over a large model quadratic). Each node's entry remembers what it was indexed under, so a node
 * whose edges changed is taken out under its old names and put back under its new ones.
 */
import type { OnnxNode } from './node.js';

function take(map: Map<string, OnnxNode[]>, key: string, node: OnnxNode): void {
  const list = map.get(key);
  const i = list ? list.indexOf(node) : -1;
  if (i < 0) return;
  list!.splice(i, 1);
  if (list!.length === 0) map.delete(key);
}

function put(map: Map<string, OnnxNode[]>, key: string, node: OnnxNode): void {
  const list = map.get(key);
  if (list) list.push(node);
  else map.set(key, [node]);
}

export class ValueIndex {
  // Lists, not single nodes: an invalid graph may define a value twice, and must still be indexed
  // well enough for validate() to say so.
  readonly #producers = new Map<string, OnnxNode[]>();
  readonly #consumers = new Map<string, OnnxNode[]>();
  readonly #entries = new Map<OnnxNode, { reads: string[]; outputs: string[] }>();

  add(node: OnnxNode): void {
    const entry = { reads: node.reads(), outputs: node.outputs.filter((o) => o !== '') };
    this.#entries.set(node, entry);
    for (const o of entry.outputs) put(this.#producers, o, node);
    for (const v of entry.reads) put(this.#consumers, v, node);
  }

  remove(node: OnnxNode): void {
    const entry = this.#entries.get(node);
    if (!entry) return;
    this.#entries.delete(node);
    for (const o of entry.outputs) take(this.#producers, o, node);
    for (const v of entry.reads) take(this.#consumers, v, node);
  }

  /** Re-indexes a node whose inputs, outputs or subgraphs changed. */
  update(node: OnnxNode): void {
    if (!this.#entries.has(node)) return;
    this.remove(node);
    this.add(node);
  }

  producer(value: string): OnnxNode | undefined {
    return this.#producers.get(value)?.[0];
  }

  /** The readers of a value (a copy: the caller may edit them while going through it). */
  consumers(value: string): OnnxNode[] {
    return [...(this.#consumers.get(value) ?? [])];
  }
}

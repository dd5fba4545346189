/**
 * What every party derives from the round parameters: id <-> index, Shamir share points, the
 * neighbour graph, and the connectivity check on survivors.
 */
import { NeighbourGraph } from './neighbours.js';
import { validateParams, type SecAggParams } from './params.js';

export class RoundTopology {
  readonly graph: NeighbourGraph;
  private readonly indexById = new Map<number, number>();
  private readonly neighbourCache: (readonly number[] | undefined)[];
  private readonly componentCache = new Map<string, number[][]>();

  constructor(readonly params: SecAggParams) {
    validateParams(params);
    params.clientIds.forEach((id, i) => this.indexById.set(id, i));
    this.graph = new NeighbourGraph(params.clientIds.length, params.neighbours, params.roundId);
    this.neighbourCache = new Array(params.clientIds.length);
  }

  get size(): number {
    return this.params.clientIds.length;
  }

  has(id: number): boolean {
    return this.indexById.has(id);
  }

  indexOf(id: number): number {
    const index = this.indexById.get(id);
    if (index === undefined) throw new RangeError(`client ${id} is not part of this round`);
    return index;
  }

  /** The Shamir evaluation point of a client's share: its index + 1 (never 0, which holds the secret). */
  sharePoint(id: number): number {
    return this.indexOf(id) + 1;
  }

  /** Ids of a client's neighbours, ascending. */
  neighbourIds(id: number): readonly number[] {
    const index = this.indexOf(id);
    let ids = this.neighbourCache[index];
    if (!ids) {
      ids = this.graph.neighboursOf(index).map((i) => this.params.clientIds[i]);
      this.neighbourCache[index] = ids;
    }
    return ids;
  }

  areNeighbours(a: number, b: number): boolean {
    return this.graph.areNeighbours(this.indexOf(a), this.indexOf(b));
  }

  /**
   * Connected components (largest first) of the masking graph restricted to `survivors`. If the
   * clients that sent masked inputs fall apart into groups with no mask between groups, removing the
   * self-masks would hand the server each group's partial sum — for a group of one, a client's own
   * input. So both the server and every honest client refuse to unmask unless there is one component.
   */
  survivorComponents(survivors: readonly number[]): number[][] {
    const key = survivors.join(',');
    const cached = this.componentCache.get(key);
    if (cached) return cached;
    const alive = new Set(survivors);
    const seen = new Set<number>();
    const components: number[][] = [];
    for (const start of survivors) {
      if (seen.has(start) || !this.has(start)) continue;
      const component = [start];
      seen.add(start);
      for (let i = 0; i < component.length; i++) {
        for (const next of this.neighbourIds(component[i])) {
          if (alive.has(next) && !seen.has(next)) {
            seen.add(next);
            component.push(next);
          }
        }
      }
      components.push(component.sort((a, b) => a - b));
    }
    components.sort((a, b) => b.length - a.length);
    // A round asks about one survivor set; keep the cache from growing if a caller asks about many.
    if (this.componentCache.size > 8) this.componentCache.clear();
    this.componentCache.set(key, components);
    return components;
  }
}

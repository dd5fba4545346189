/**
 * Krum. Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine Learning with Adversaries: Byzantine
 * Tolerant Gradient Descent", NeurIPS 2017.
 *
 * With n updates of which up to f may be Byzantine, each update's score is the sum of its squared
 * distances to its n − f − 2 nearest other updates; Krum takes the single update with the lowest
 * score: next global = global + Δ*. Requires n ≥ 2f + 3. An outlier is far from the honest majority,
 * so its nearest n − f − 2 include honest updates and its score is large. Unweighted.
 *
 * Default f = 0 (Flower's num_malicious_clients); set it to the number of attackers to tolerate.
 * `lastSelected` names the client chosen in the last finished round.
 *
 * Aggregation: 'individual'. Memory: O(clients × model) for the round's deltas, plus the n × n
 * distance matrix. Time: O(n² · model) for the distances (computed once, in cache-sized column
 * tiles, with SIMD where available).
 */
import type { RoundAggregator, RoundContext, Strategy } from '../strategy.js';
import { pairwiseSquaredDistances } from '../../tensor/pairwise.js';
import { selectInPlace } from '../../tensor/select.js';
import { UpdateStore } from './update-store.js';
import { integerAtLeast } from './options.js';
import { RoundAborted } from '../update-check.js';

export interface KrumOptions {
  /** f, the number of Byzantine updates to tolerate (default 0). */
  f?: number;
}

export class Krum implements Strategy {
  readonly name: string = 'krum';
  readonly aggregation = 'individual' as const;
  readonly f: number;
  /** The fewest updates a round can aggregate (Krum scores each update by its n − f − 2 nearest neighbours). */
  get minUpdates(): number {
    return 2 * this.f + 3;
  }
  /** Client ids chosen in the last finished round. */
  lastSelected: readonly string[] = [];

  constructor(options: KrumOptions = {}) {
    this.f = integerAtLeast('f', options.f ?? 0, 0);
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    return new UpdateStore(ctx.global, ({ deltas, clientIds }, global) => {
      requireKrumQuorum(this.name, deltas.length, this.f);
      const distances = pairwiseSquaredDistances(deltas, { simd: ctx.simd });
      const scores = krumScores(distances, deltas.length, allIndices(deltas.length), this.f);
      const best = argmin(scores);
      this.lastSelected = [clientIds[best]];
      const next = new Float32Array(global.length);
      const delta = deltas[best];
      for (let j = 0; j < next.length; j++) next[j] = global[j] + delta[j];
      return next;
    });
  }
}

export function requireKrumQuorum(name: string, n: number, f: number): void {
  if (n < 2 * f + 3)
    throw new RoundAborted(`${name} with f = ${f} needs at least 2f + 3 = ${2 * f + 3} updates, got ${n}`);
}

export function allIndices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function argmin(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] < xs[best]) best = i;
  return best;
}

/**
 * Krum scores of the updates in `candidates` (indices into the distance matrix), each against the
 * other candidates only: the sum of its k = |candidates| − f − 2 smallest squared distances (k is
 * at least 1 when there are at least two candidates). Result i belongs to candidates[i].
 */
export function krumScores(
  distances: Float64Array,
  n: number,
  candidates: readonly number[],
  f: number,
): Float64Array {
  const c = candidates.length;
  const scores = new Float64Array(c);
  if (c < 2) return scores;
  const k = Math.min(c - 1, Math.max(1, c - f - 2));
  const row = new Float64Array(c - 1);
  for (let a = 0; a < c; a++) {
    const i = candidates[a];
    let m = 0;
    for (let b = 0; b < c; b++) if (b !== a) row[m++] = distances[i * n + candidates[b]];
    // k smallest: select the (k-1)-th, everything before it is smaller.
    selectSmallest(row, k);
    let s = 0;
    for (let q = 0; q < k; q++) s += row[q];
    scores[a] = s;
  }
  return scores;
}

/** Moves the k smallest values of `a` to a[0..k). */
function selectSmallest(a: Float64Array, k: number): void {
  if (k < a.length) selectInPlace(a, k - 1);
}

/**
 * Multi-Krum. Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine Learning with Adversaries:
 * Byzantine Tolerant Gradient Descent", NeurIPS 2017 (Section 4, "m-Krum").
 *
 * Scores every update as Krum does (sum of squared distances to its n − f − 2 nearest others) and
 * averages the m updates with the lowest scores (uniformly, as in the paper; Flower weights them by
 * numExamples): next global = global + mean of those m deltas. m = 1 is Krum; m = n is the plain
 * mean. Default m = n − f (all but as many as may be Byzantine). Requires n ≥ 2f + 3.
 * `lastSelected` names the chosen clients, best score first.
 *
 * Aggregation: 'individual'. Memory: O(clients × model) plus the n × n distance matrix.
 */
import type { RoundAggregator, RoundContext, Strategy } from '../strategy.js';
import { UpdateStore } from './update-store.js';
import { integerAtLeast } from './options.js';
import { pairwiseSquaredDistances } from '../../tensor/pairwise.js';
import { allIndices, krumScores, requireKrumQuorum } from './krum.js';

export interface MultiKrumOptions {
  /** f, the number of Byzantine updates to tolerate (default 0). */
  f?: number;
  /** m, how many of the best-scored updates to average (default n − f; capped at n). */
  m?: number;
}

export class MultiKrum implements Strategy {
  readonly name = 'multikrum';
  readonly aggregation = 'individual' as const;
  readonly f: number;
  /** The fewest updates a round can aggregate (the Krum scores need n ≥ 2f + 3). */
  get minUpdates(): number {
    return 2 * this.f + 3;
  }
  readonly m: number | undefined;
  lastSelected: readonly string[] = [];

  constructor(options: MultiKrumOptions = {}) {
    this.f = integerAtLeast('f', options.f ?? 0, 0);
    this.m = options.m === undefined ? undefined : integerAtLeast('m', options.m, 1);
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    return new UpdateStore(ctx.global, ({ deltas, clientIds }, global) => {
      const n = deltas.length;
      requireKrumQuorum(this.name, n, this.f);
      const scores = krumScores(
        pairwiseSquaredDistances(deltas, { simd: ctx.simd }),
        n,
        allIndices(n),
        this.f,
      );
      const m = Math.min(n, this.m ?? n - this.f);
      // Stable order: lowest score first, ties by arrival.
      const chosen = allIndices(n)
        .sort((a, b) => scores[a] - scores[b] || a - b)
        .slice(0, m);
      this.lastSelected = chosen.map((i) => clientIds[i]);
      return meanOfRows(deltas, chosen, global);
    });
  }
}

/** global + the (float64-accumulated) mean of the chosen deltas. */
export function meanOfRows(
  deltas: readonly Float32Array[],
  chosen: readonly number[],
  global: Float32Array,
): Float32Array {
  const d = global.length;
  const acc = new Float64Array(d);
  for (const i of chosen) {
    const x = deltas[i];
    for (let j = 0; j < d; j++) acc[j] += x[j];
  }
  const inv = 1 / chosen.length;
  const next = new Float32Array(d);
  for (let j = 0; j < d; j++) next[j] = global[j] + acc[j] * inv;
  return next;
}

/**
 * Bulyan. El Mhamdi, Guerraoui, Rouault, "The Hidden Vulnerability of Distributed Learning in
 * Byzantium", ICML 2018.
 *
 * With n updates of which up to f may be Byzantine (n ≥ 4f + 3):
 *   1. Selection: apply Krum repeatedly — pick the best-scored update, remove it from the pool,
 *      rescore the rest — until θ = n − 2f updates are selected.
 *   2. Aggregation, coordinate by coordinate over the θ selected: average the β = θ − 2f values
 *      closest to their median.
 * next global = global + that vector. Krum alone can be steered within the honest spread along one
 * coordinate; the second stage bounds every coordinate by the honest values around the median.
 * Unweighted. Default f = 0 (as Flower's num_malicious_clients). `lastSelected` names the θ
 * clients of step 1 in selection order.
 *
 * Aggregation: 'individual'. Memory: O(clients × model) plus the n × n distance matrix (computed
 * once; rescoring reuses it). Per coordinate: the β nearest values are a window around the middle
 * of the sorted column (tiles sorted by a SIMD sorting network), or, without WebAssembly, found by
 * quickselect over one scratch column.
 */
import type { RoundAggregator, RoundContext, Strategy } from '../strategy.js';
import { meanClosestToMedianInPlace } from '../../tensor/select.js';
import { columnwise, UpdateStore } from './update-store.js';
import { integerAtLeast } from './options.js';
import { pairwiseSquaredDistances } from '../../tensor/pairwise.js';
import { allIndices, argmin, krumScores } from './krum.js';
import { RoundAborted } from '../update-check.js';

export interface BulyanOptions {
  /** f, the number of Byzantine updates to tolerate (default 0). */
  f?: number;
}

export class Bulyan implements Strategy {
  readonly name = 'bulyan';
  readonly aggregation = 'individual' as const;
  readonly f: number;
  /** The fewest updates a round can aggregate (Bulyan needs n ≥ 4f + 3). */
  get minUpdates(): number {
    return 4 * this.f + 3;
  }
  lastSelected: readonly string[] = [];

  constructor(options: BulyanOptions = {}) {
    this.f = integerAtLeast('f', options.f ?? 0, 0);
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    return new UpdateStore(ctx.global, ({ deltas, clientIds }, global) => {
      const n = deltas.length;
      const f = this.f;
      if (n < 4 * f + 3)
        throw new RoundAborted(`bulyan with f = ${f} needs at least 4f + 3 = ${4 * f + 3} updates, got ${n}`);
      const theta = n - 2 * f;
      const beta = theta - 2 * f;
      const selected = bulyanSelection(pairwiseSquaredDistances(deltas, { simd: ctx.simd }), n, theta, f);
      this.lastSelected = selected.map((i) => clientIds[i]);

      const rows = selected.map((i) => deltas[i]);
      const keys = new Float64Array(theta);
      return columnwise(
        rows,
        global,
        {
          sorted: (tile, width, c) => meanClosestToMedianSorted(tile, width, c, theta, beta),
          unsorted: (column) => meanClosestToMedianInPlace(column, theta, beta, keys),
        },
        { simd: ctx.simd },
      );
    });
  }
}

/**
 * Mean of the `count` values closest to the median of a sorted column (tile[r · width + c], r < n):
 * they are contiguous in sorted order, so grow a window outwards from the middle, each time taking
 * the nearer neighbour (the lower one on a tie).
 */
function meanClosestToMedianSorted(
  tile: Float32Array,
  width: number,
  c: number,
  n: number,
  count: number,
): number {
  const k = (n - 1) >>> 1;
  const med = n % 2 === 1 ? tile[k * width + c] : (tile[k * width + c] + tile[(k + 1) * width + c]) / 2;
  let lo = k;
  let hi = k + 1;
  let sum = 0;
  for (let t = 0; t < count; t++) {
    if (hi >= n || (lo >= 0 && med - tile[lo * width + c] <= tile[hi * width + c] - med))
      sum += tile[lo-- * width + c];
    else sum += tile[hi++ * width + c];
  }
  return sum / count;
}

/** Step 1: θ indices chosen one at a time by Krum over the shrinking pool. */
export function bulyanSelection(distances: Float64Array, n: number, theta: number, f: number): number[] {
  const pool = allIndices(n);
  const selected: number[] = [];
  while (selected.length < theta) {
    const best = argmin(krumScores(distances, n, pool, f));
    selected.push(pool[best]);
    pool.splice(best, 1);
  }
  return selected;
}

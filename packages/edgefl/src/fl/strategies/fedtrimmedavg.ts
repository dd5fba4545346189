/**
 * FedTrimmedAvg — coordinate-wise trimmed mean. Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust
 * Distributed Learning: Towards Optimal Statistical Rates", ICML 2018.
 *
 * For each coordinate, drop the ⌊β·n⌋ largest and ⌊β·n⌋ smallest of the n clients' values and
 * average the rest: next global = global + that trimmed mean. β is the paper's trimmed fraction,
 * in [0, 0.5); β = 0 is the plain (unweighted) mean. Default β = 0.2 (Flower's). Unweighted, as in
 * the paper.
 *
 * Aggregation: 'individual'. Memory: O(clients × model) — every delta is kept until `finish`. Then
 * tiles of coordinates are sorted at once by a SIMD sorting network, or, without WebAssembly, two
 * quickselects over one scratch column bracket the kept values.
 */
import type { RoundAggregator, RoundContext, Strategy } from '../strategy.js';
import { trimmedMeanInPlace } from '../../tensor/select.js';
import { columnwise, UpdateStore } from './update-store.js';

export interface FedTrimmedAvgOptions {
  /** β, the fraction cut from each end, in [0, 0.5) (default 0.2). */
  beta?: number;
}

export class FedTrimmedAvg implements Strategy {
  readonly name = 'fedtrimmedavg';
  readonly aggregation = 'individual' as const;
  readonly beta: number;

  constructor(options: FedTrimmedAvgOptions = {}) {
    const beta = options.beta ?? 0.2;
    if (!(typeof beta === 'number' && beta >= 0 && beta < 0.5))
      throw new RangeError(`beta must be in [0, 0.5), got ${beta}`);
    this.beta = beta;
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    return new UpdateStore(ctx.global, ({ deltas }, global) => {
      const n = deltas.length;
      const trim = Math.floor(this.beta * n);
      return columnwise(
        deltas,
        global,
        {
          sorted(tile, width, c) {
            let sum = 0;
            for (let r = trim; r < n - trim; r++) sum += tile[r * width + c];
            return sum / (n - 2 * trim);
          },
          unsorted: (column) => trimmedMeanInPlace(column, n, trim),
        },
        { simd: ctx.simd },
      );
    });
  }
}

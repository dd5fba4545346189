/**
 * FedMedian — coordinate-wise median. Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust
 * Distributed Learning: Towards Optimal Statistical Rates", ICML 2018.
 *
 * Next global = global + median over clients of Δᵢ, coordinate by coordinate (the mean of the two
 * middle values when the number of clients is even). Unweighted: numExamples is checked but not
 * used, as in the paper; a client cannot buy influence by claiming more examples. Robust to a
 * minority of arbitrary updates in each coordinate.
 *
 * Aggregation: 'individual' (not under secure aggregation). Memory: O(clients × model) — every
 * delta of the round is kept until `finish`. Then tiles of coordinates are sorted at once by a SIMD
 * sorting network, or, without WebAssembly, each coordinate is gathered into one scratch column and
 * its median found by quickselect (O(clients) per coordinate).
 */
import type { RoundAggregator, RoundContext, Strategy } from '../strategy.js';
import { medianInPlace } from '../../tensor/select.js';
import { columnwise, UpdateStore, type ColumnStatistic } from './update-store.js';

export class FedMedian implements Strategy {
  readonly name = 'fedmedian';
  readonly aggregation = 'individual' as const;

  beginRound(ctx: RoundContext): RoundAggregator {
    return new UpdateStore(ctx.global, ({ deltas }, global) =>
      columnwise(deltas, global, median, { simd: ctx.simd }),
    );
  }
}

const median: ColumnStatistic = {
  sorted(tile, width, c, n) {
    const k = (n - 1) >>> 1;
    return n % 2 === 1 ? tile[k * width + c] : (tile[k * width + c] + tile[(k + 1) * width + c]) / 2;
  },
  unsorted: medianInPlace,
};

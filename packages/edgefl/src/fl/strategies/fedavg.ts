/**
 * FedAvg — Federated Averaging. McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-
 * Efficient Learning of Deep Networks from Decentralized Data", AISTATS 2017.
 *
 * Next global = global + η · Σ nᵢ·Δᵢ / Σ nᵢ, where Δᵢ is client i's delta and nᵢ its number of
 * examples. With the server learning rate η = 1 (the paper's algorithm) this is exactly the
 * example-weighted average of the clients' models.
 *
 * Aggregation: 'sum' (works under secure aggregation). Memory: O(model) — one float64 running sum,
 * 8 bytes a parameter, whatever the number of clients; updates are folded in as they arrive.
 */
import type { RoundAggregator, RoundContext, Strategy } from '../strategy.js';
import { MeanDeltaAggregator } from './mean-delta-aggregator.js';
import { positive } from './options.js';

export interface FedAvgOptions {
  /** η, the server learning rate applied to the mean delta (default 1). */
  serverLearningRate?: number;
}

export class FedAvg implements Strategy {
  readonly name: string = 'fedavg';
  readonly aggregation = 'sum' as const;
  readonly serverLearningRate: number;

  constructor(options: FedAvgOptions = {}) {
    this.serverLearningRate = positive('serverLearningRate', options.serverLearningRate ?? 1);
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    const eta = this.serverLearningRate;
    return new MeanDeltaAggregator(
      ctx.global,
      (sum, global) => {
        const next = new Float32Array(global.length);
        sum.meanInto(next, { base: global, scale: eta });
        return next;
      },
      { backend: ctx.sumBackend },
    );
  }
}

/**
 * FedAvgM — FedAvg with server momentum. Hsu, Qi, Brown, "Measuring the Effects of Non-Identical
 * Data Distribution for Federated Visual Classification", 2019 (arXiv:1909.06335).
 *
 * With Δ the example-weighted mean delta of the round (local − global):
 *   v ← β·v + Δ        (v = Δ in the first round)
 *   w ← w + η·v
 * Hsu et al. write the same with Δw = −Δ and w ← w − v. The effective step is η/(1 − β) once the
 * momentum has built up, so lowering η when raising β keeps it comparable.
 *
 * Defaults: η (`serverLearningRate`) = 1, β (`serverMomentum`) = 0.9, a common choice. (Flower's
 * FedAvgM defaults to momentum 0, which is plain FedAvg.)
 *
 * Aggregation: 'sum'. Memory: O(model) — the round's float64 sum plus the momentum v (float32),
 * which persists across rounds and is in getState/setState.
 */
import type { RoundAggregator, RoundContext, Strategy, StrategyState } from '../strategy.js';
import { MeanDeltaAggregator } from './mean-delta-aggregator.js';
import { decay, positive } from './options.js';
import { assertStateFits, checkState, loadArray, saveState } from './server-state.js';

export interface FedAvgMOptions {
  /** η (default 1). */
  serverLearningRate?: number;
  /** β, the server momentum, in [0, 1) (default 0.9). */
  serverMomentum?: number;
}

export class FedAvgM implements Strategy {
  readonly name = 'fedavgm';
  readonly aggregation = 'sum' as const;
  readonly serverLearningRate: number;
  readonly serverMomentum: number;
  private momentum: Float32Array | undefined;

  constructor(options: FedAvgMOptions = {}) {
    this.serverLearningRate = positive('serverLearningRate', options.serverLearningRate ?? 1);
    this.serverMomentum = decay('serverMomentum', options.serverMomentum ?? 0.9);
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    assertStateFits('FedAvgM momentum', this.momentum, ctx.global.length);
    return new MeanDeltaAggregator(
      ctx.global,
      (sum, global) => {
        const n = global.length;
        const first = !this.momentum;
        const v = this.momentum ?? new Float32Array(n);
        const s = sum.sumView();
        const inv = 1 / sum.totalWeight;
        const beta = first ? 0 : this.serverMomentum;
        const eta = this.serverLearningRate;
        const next = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const vi = (v[i] = beta * v[i] + s[i] * inv);
          next[i] = global[i] + eta * vi;
        }
        this.momentum = v;
        return next;
      },
      { backend: ctx.sumBackend },
    );
  }

  getState(): StrategyState {
    return saveState(this.name, {}, { momentum: this.momentum });
  }

  setState(state: StrategyState): void {
    checkState(this.name, state, ['momentum']);
    this.momentum = loadArray(state, 'momentum');
  }
}

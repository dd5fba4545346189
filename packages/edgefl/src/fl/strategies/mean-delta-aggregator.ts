/**
 * The streaming round aggregator shared by every 'sum' strategy (FedAvg, FedAvgM, FedProx and the
 * adaptive server optimizers): each accepted update is folded into a float64 running Σ nᵢ·Δᵢ as it
 * arrives, so the round holds O(model) memory (8 bytes a parameter) however many clients report.
 * What differs between those strategies is only the server step applied to the mean delta at
 * `finish`, which the strategy passes in.
 */
import type { ClientUpdate, RoundAggregator, RoundResult } from '../strategy.js';
import { WeightedSum, type SumBackendFactory } from '../../tensor/weighted-sum.js';
import { checkUpdateShape, nonFiniteReason, RoundAborted, UpdateRejected } from '../update-check.js';

/**
 * Computes the next global parameters from the round's weighted sum. `sum.sumView()[i] /
 * sum.totalWeight` is the mean delta (the pseudo-gradient, with the sign of "local − global").
 */
export type ServerStep = (sum: WeightedSum, global: Float32Array) => Float32Array;

export class MeanDeltaAggregator implements RoundAggregator {
  private readonly sum: WeightedSum;
  private result: Float32Array | undefined;

  /** `backend`: the back-end of the round's sum (RoundContext.sumBackend); default SIMD where available. */
  constructor(
    private readonly global: Float32Array,
    private readonly step: ServerStep,
    options: { backend?: SumBackendFactory } = {},
  ) {
    this.sum = new WeightedSum(global.length, { backend: options.backend });
  }

  get count(): number {
    return this.sum.count;
  }

  /** Σ numExamples of the accepted updates. */
  get totalExamples(): number {
    return this.sum.totalWeight;
  }

  add(update: ClientUpdate): void {
    if (this.result) throw new Error('round already finished: no more updates can be added');
    const reason = checkUpdateShape(update, this.global.length);
    if (reason !== undefined) throw new UpdateRejected(String(update.clientId), reason);
    // The sum refuses NaN/±Infinity itself (scanning in its SIMD kernel) before changing anything.
    const bad = this.sum.add(update.delta, update.numExamples);
    if (bad >= 0) throw new UpdateRejected(update.clientId, nonFiniteReason(update.delta, bad));
  }

  /**
   * The next global parameters. The server step runs once (stateful strategies advance their state
   * once per round); later calls return copies of the same result.
   */
  finish(): RoundResult {
    if (!this.result) {
      if (this.sum.count === 0) throw new RoundAborted('no update was accepted');
      this.result = this.step(this.sum, this.global);
    }
    return { global: Float32Array.from(this.result), statistics: {} };
  }
}

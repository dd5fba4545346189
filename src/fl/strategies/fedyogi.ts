/**
 * FedYogi. Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (Algorithm 2 with Yogi,
 * after Zaheer et al., "Adaptive Methods for Nonconvex Optimization", NeurIPS 2018).
 *
 *   m ← β₁·m + (1 − β₁)·Δ
 *   v ← v − (1 − β₂)·Δ²·sign(v − Δ²)
 *   w ← w + η · m / (√v + τ)
 *
 * Yogi's v moves towards Δ² by a step proportional to Δ² rather than to v, so a sudden large Δ²
 * cannot make the effective learning rate collapse or jump as fast as with Adam.
 *
 * Defaults (Flower's): η = 0.01, η_l = 0.0316 (not sent unless `etaL` is given), β₁ = 0.9,
 * β₂ = 0.99, τ = 1e-3.
 *
 * Aggregation: 'sum'. Memory: O(model) (see FedOpt).
 */
import { FedOpt, type FedOptOptions } from './fedopt.js';

export type FedYogiOptions = FedOptOptions;

export class FedYogi extends FedOpt {
  readonly name = 'fedyogi';

  constructor(options: FedYogiOptions = {}) {
    super(options, { eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  }

  protected nextV(v: number, d: number): number {
    const d2 = d * d;
    const gap = v - d2;
    return v - (1 - this.beta2) * d2 * (gap > 0 ? 1 : gap < 0 ? -1 : 0);
  }
}

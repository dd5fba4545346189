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
 * Defaults: η = 10^-2.5 ≈ 0.0032 and τ = 1e-4, the paper's best FedYogi values for EMNIST character
 * recognition (the paper's appendix: best hyper-parameters per task; the same as FedAdam's);
 * β₁ = 0.9, β₂ = 0.99 (as in Flower); η_l not sent unless `etaL` is given (the paper's best there is
 * 10^-1.5 ≈ 0.032). Flower's η = 0.01, τ = 1e-3 also train on `edgefl simulate`'s MNIST job, but
 * more slowly.
 *
 * Aggregation: 'sum'. Memory: O(model) (see FedOpt).
 */
import { FedOpt, type FedOptOptions } from './fedopt.js';

export type FedYogiOptions = FedOptOptions;

export class FedYogi extends FedOpt {
  readonly name = 'fedyogi';

  constructor(options: FedYogiOptions = {}) {
    super(options, { eta: 10 ** -2.5, beta1: 0.9, beta2: 0.99, tau: 1e-4 });
  }

  protected nextV(v: number, d: number): number {
    const d2 = d * d;
    const gap = v - d2;
    return v - (1 - this.beta2) * d2 * (gap > 0 ? 1 : gap < 0 ? -1 : 0);
  }
}

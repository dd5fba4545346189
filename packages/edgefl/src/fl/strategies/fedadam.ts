/**
 * FedAdam. Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (Algorithm 2 with Adam).
 *
 *   m ← β₁·m + (1 − β₁)·Δ
 *   v ← β₂·v + (1 − β₂)·Δ²
 *   w ← w + η · m / (√v + τ)
 *
 * The paper's algorithm has no bias correction. `biasCorrection: true` uses Kingma & Ba's step size
 * η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) at server step t = 1, 2, ... (Flower applies this correction always, with
 * the exponent server_round + 1, i.e. one step ahead of Kingma & Ba's.)
 *
 * Defaults: η = 10^-2.5 ≈ 0.0032 and τ = 1e-4, the paper's best FedAdam values for EMNIST character
 * recognition (the paper's appendix: best hyper-parameters per task); β₁ = 0.9, β₂ = 0.99 (as in
 * Flower); η_l not sent unless `etaL` is given (the paper's best there is 10^-1.5 ≈ 0.032).
 * Flower's η = 0.1, τ = 1e-9 move every coordinate by about η in the first step whatever its
 * magnitude, which on `edgefl simulate`'s MNIST job took the test loss to over 600 (see FedOpt).
 *
 * Aggregation: 'sum'. Memory: O(model) (see FedOpt).
 */
import { FedOpt, type FedOptOptions } from './fedopt.js';

export interface FedAdamOptions extends FedOptOptions {
  /** Kingma & Ba's bias-corrected step size (default false: the paper's Algorithm 2). */
  biasCorrection?: boolean;
}

export class FedAdam extends FedOpt {
  readonly name = 'fedadam';
  readonly biasCorrection: boolean;

  constructor(options: FedAdamOptions = {}) {
    super(options, { eta: 10 ** -2.5, beta1: 0.9, beta2: 0.99, tau: 1e-4 });
    const biasCorrection = options.biasCorrection ?? false;
    if (typeof biasCorrection !== 'boolean')
      throw new TypeError(`biasCorrection must be a boolean, got ${String(biasCorrection)}`);
    this.biasCorrection = biasCorrection;
  }

  protected nextV(v: number, d: number): number {
    return this.beta2 * v + (1 - this.beta2) * d * d;
  }

  protected override stepSize(): number {
    const { beta1, beta2, eta } = this;
    const t = this.steps;
    return this.biasCorrection ? (eta * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t) : eta;
  }
}

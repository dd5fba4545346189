/**
 * FedAdagrad. Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (Algorithm 2 with Adagrad).
 *
 *   m ← β₁·m + (1 − β₁)·Δ
 *   v ← v + Δ²
 *   w ← w + η · m / (√v + τ)
 *
 * v only grows, so each coordinate's step shrinks with the squared pseudo-gradients it has seen.
 *
 * Defaults (Flower's): η = 0.1, η_l = 0.1 (not sent unless `etaL` is given), β₁ = 0 (no momentum:
 * m = Δ), τ = 1e-9. β₂ does not enter the rule.
 *
 * Aggregation: 'sum'. Memory: O(model) (see FedOpt).
 */
import { FedOpt, type FedOptOptions } from './fedopt.js';

export type FedAdagradOptions = Omit<FedOptOptions, 'beta2'>;

export class FedAdagrad extends FedOpt {
  readonly name = 'fedadagrad';

  constructor(options: FedAdagradOptions = {}) {
    super(options, { eta: 0.1, beta1: 0, beta2: 0, tau: 1e-9 });
  }

  protected nextV(v: number, d: number): number {
    return v + d * d;
  }
}

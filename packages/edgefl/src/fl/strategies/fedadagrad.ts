/**
 * FedAdagrad. Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (Algorithm 2 with Adagrad).
 *
 *   m ← β₁·m + (1 − β₁)·Δ
 *   v ← v + Δ²
 *   w ← w + η · m / (√v + τ)
 *
 * v only grows, so each coordinate's step shrinks with the squared pseudo-gradients it has seen.
 *
 * Defaults: τ = 1e-2, the paper's best FedAdagrad value for EMNIST character recognition (the
 * paper's appendix: best hyper-parameters per task), and η = 10^-1.5 ≈ 0.032, half a decade (one step
 * of the paper's grid) below its best η there, 10^-1: with η = 0.1 the first round of `edgefl
 * simulate`'s MNIST job — clients taking 5 epochs of batch 10, where the paper's took 1 of 20 — took
 * the test loss to 36. β₁ = 0 (no momentum: m = Δ, as in Flower and the paper's Adagrad); η_l not
 * sent unless `etaL` is given. β₂ does not enter the rule. Flower's η = 0.1, τ = 1e-9 move every
 * coordinate by about η in the first step, whatever its magnitude (see FedOpt).
 *
 * Aggregation: 'sum'. Memory: O(model) (see FedOpt).
 */
import { FedOpt, type FedOptOptions } from './fedopt.js';

export type FedAdagradOptions = Omit<FedOptOptions, 'beta2'>;

export class FedAdagrad extends FedOpt {
  readonly name = 'fedadagrad';

  constructor(options: FedAdagradOptions = {}) {
    super(options, { eta: 10 ** -1.5, beta1: 0, beta2: 0, tau: 1e-2 });
  }

  protected nextV(v: number, d: number): number {
    return v + d * d;
  }
}

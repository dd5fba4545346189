/**
 * The adaptive server optimizers of Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar, McMahan,
 * "Adaptive Federated Optimization", ICLR 2021 (Algorithm 2, FedOpt): the example-weighted mean
 * delta Δ of a round is a pseudo-gradient (pointing downhill, since Δ = local − global), and the
 * server applies an adaptive step to it:
 *   m ← β₁·m + (1 − β₁)·Δ
 *   v ← (FedAdagrad, FedAdam or FedYogi's rule)
 *   w ← w + η · m / (√v + τ)
 * Hyper-parameters carry the paper's names: η (`eta`, server learning rate), η_l (`etaL`, client
 * learning rate), β₁, β₂ (`beta1`, `beta2`), τ (`tau`, the adaptivity: larger τ, less adaptive).
 *
 * m and v start at zero (as in Flower; the paper allows v₀ ≥ τ²), are kept in float32 and persist
 * across rounds through getState/setState, with the number of server steps taken.
 *
 * η and τ set the size of every step, and the paper tunes both per task (its appendix tables the best
 * η, η_l and τ of each; google-research/federated has them in optimization/docs/hyperparameters.md).
 * With v starting at zero, the first step moves each coordinate by
 *   η·(1 − β₁)·Δ / (√(1 − β₂)·|Δ| + τ)   (FedAdam and FedYogi; FedAdagrad: η·(1 − β₁)·Δ / (|Δ| + τ))
 * — about η·sign(Δ) (at β₁ = 0.9, β₂ = 0.99) wherever √(1 − β₂)·|Δ| is well above τ, however small Δ
 * is. A round's mean delta is mostly tiny: on the 2NN MNIST job of `edgefl simulate`, |Δ| after round
 * 1 has a median of 6e-4. An η of 0.1 with τ = 1e-9 (Flower's FedAdam and FedAdagrad) then moves
 * some 160,000 weights by 0.1 each, over 100 times FedAvg's median step, and the test loss jumps
 * from 2.3 to over 600. Each strategy's defaults therefore come from the paper's best values for the
 * task most like that job (EMNIST character recognition), checked on the job (FedAdagrad's η is half
 * a decade lower); another task may need its own η and τ.
 *
 * `etaL`: when given, `configureFit` sends it to the clients as their learning rate (and samples the
 * clients by `fractionFit` / `minFitClients`, default all). When omitted, the engine's learning rate
 * and sampling are left alone. (Flower stores eta_l but never sends it.)
 *
 * Aggregation: 'sum'. Memory: O(model) — the round's float64 sum plus m and v (float32).
 */
import type {
  ClientInfo,
  FitConfig,
  RoundAggregator,
  RoundContext,
  Strategy,
  StrategyState,
} from '../strategy.js';
import { MeanDeltaAggregator } from './mean-delta-aggregator.js';
import { sampleClients, validateSampling, type SamplingOptions } from './client-sampling.js';
import { decay, nonNegative, positive } from './options.js';
import { assertStateFits, checkState, loadArray, saveState } from './server-state.js';

export interface FedOptOptions extends SamplingOptions {
  /** η, server learning rate. */
  eta?: number;
  /** η_l, client learning rate sent in the fit config (only when given). */
  etaL?: number;
  /** β₁, first-moment decay in [0, 1). */
  beta1?: number;
  /** β₂, second-moment decay in [0, 1) (unused by FedAdagrad). */
  beta2?: number;
  /** τ > 0, added to √v. */
  tau?: number;
}

/** The constants a strategy defaults to (each subclass states where its own come from). */
export interface FedOptDefaults {
  eta: number;
  beta1: number;
  beta2: number;
  tau: number;
}

export abstract class FedOpt implements Strategy {
  abstract readonly name: string;
  readonly aggregation = 'sum' as const;
  readonly eta: number;
  readonly etaL: number | undefined;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
  /** Present only when `etaL` was given (see the file comment). */
  readonly configureFit?: (
    ctx: RoundContext,
    available: readonly ClientInfo[],
    base: FitConfig,
  ) => { clients: ClientInfo[]; config: FitConfig };

  protected m: Float32Array | undefined;
  protected v: Float32Array | undefined;
  /** Server steps taken so far (t in the bias correction). */
  protected steps = 0;

  constructor(options: FedOptOptions, defaults: FedOptDefaults) {
    this.eta = positive('eta', options.eta ?? defaults.eta);
    this.beta1 = decay('beta1', options.beta1 ?? defaults.beta1);
    this.beta2 = decay('beta2', options.beta2 ?? defaults.beta2);
    this.tau = positive('tau', options.tau ?? defaults.tau);
    this.etaL = options.etaL === undefined ? undefined : positive('etaL', options.etaL);
    validateSampling(options);
    const etaL = this.etaL;
    if (etaL !== undefined) {
      const sampling = { fractionFit: options.fractionFit, minFitClients: options.minFitClients };
      this.configureFit = (ctx, available, base) => ({
        clients: sampleClients(available, sampling, ctx.rng),
        config: { ...base, lr: etaL },
      });
    }
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    assertStateFits(`${this.name} first moment m`, this.m, ctx.global.length);
    assertStateFits(`${this.name} second moment v`, this.v, ctx.global.length);
    return new MeanDeltaAggregator(
      ctx.global,
      (sum, global) => {
        const n = global.length;
        this.m ??= new Float32Array(n);
        this.v ??= new Float32Array(n);
        this.steps++;
        const next = new Float32Array(n);
        this.step(sum.sumView(), 1 / sum.totalWeight, global, this.m, this.v, next);
        return next;
      },
      { backend: ctx.sumBackend },
    );
  }

  /**
   * One server step: Δ[i] = sum[i] · invWeight; m ← β₁·m + (1 − β₁)·Δ, v ← `nextV`, and
   * next = global + η·m / (√v + τ), η from `stepSize`. Updates m and v in place and writes the next
   * global parameters into `next`. `this.steps` already counts this step.
   */
  private step(
    sum: Float64Array,
    invWeight: number,
    global: Float32Array,
    m: Float32Array,
    v: Float32Array,
    next: Float32Array,
  ): void {
    const { beta1, tau } = this;
    const eta = this.stepSize();
    for (let i = 0; i < global.length; i++) {
      const d = sum[i] * invWeight;
      const mi = (m[i] = beta1 * m[i] + (1 - beta1) * d);
      const vi = (v[i] = this.nextV(v[i], d));
      next[i] = global[i] + (eta * mi) / (Math.sqrt(vi) + tau);
    }
  }

  /** The algorithm's second-moment update for one coordinate: v from its old value and Δ. */
  protected abstract nextV(v: number, d: number): number;

  /** The server learning rate of this step (FedAdam may bias-correct it). */
  protected stepSize(): number {
    return this.eta;
  }

  getState(): StrategyState {
    return saveState(this.name, { steps: this.steps }, { m: this.m, v: this.v });
  }

  setState(state: StrategyState): void {
    checkState(this.name, state, ['m', 'v']);
    const steps = state.json.steps ?? 0;
    if (typeof steps !== 'number') throw new Error(`state 'steps' must be a number, got ${String(steps)}`);
    this.steps = nonNegative('steps', steps);
    this.m = loadArray(state, 'm');
    this.v = loadArray(state, 'v');
  }
}

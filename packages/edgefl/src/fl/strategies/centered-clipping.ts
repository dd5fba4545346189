/**
 * Centered Clipping. Karimireddy, He, Jaggi, "Learning from History for Byzantine Robust
 * Optimization", ICML 2021.
 *
 * Starting from the previous round's aggregate v (the "history"; zero in the first round), L
 * iterations of
 *   v ← v + (1/n) Σᵢ (Δᵢ − v) · min(1, τ / ‖Δᵢ − v‖)
 * move v towards the updates while no single update can pull it by more than τ/n per iteration. An
 * attacker's influence is therefore bounded by τ whatever the size of its update, and honest
 * updates within τ of v count in full. Then, with server momentum β and learning rate η:
 *   u ← β·u + v,   w ← w + η·u
 * (β = 0, the default, applies v directly, as the paper's server does; its momentum lives on the
 * workers, which in federated learning change from round to round, so here it is optional on the
 * server).
 *
 * Hyper-parameters as in the paper: τ (`tau`, clipping radius; default 10 — choose it from the size
 * of honest deltas: larger means less robust, smaller means slower), L (`iterations`, default 1:
 * starting from the previous aggregate, one iteration is what the paper argues suffices), plus
 * `serverMomentum` β (default 0) and `serverLearningRate` η (default 1). Unweighted.
 *
 * Aggregation: 'individual' (each update's norm is needed, so not under secure aggregation).
 * Memory: with L = 1 the center is fixed for the round, so updates are clipped and folded in as they
 * arrive — O(model); with L > 1 every delta is kept — O(clients × model). Plus the center v and the
 * momentum u (float32, persisted through getState/setState).
 */
import type {
  ClientUpdate,
  RoundAggregator,
  RoundContext,
  Strategy,
  StrategyState,
  RoundResult,
} from '../strategy.js';
import { assertUpdate, RoundAborted } from '../update-check.js';
import { UpdateStore } from './update-store.js';
import { decay, integerAtLeast, positive } from './options.js';
import { assertStateFits, checkState, loadArray, saveState } from './server-state.js';

export interface CenteredClippingOptions {
  /** τ, the clipping radius (default 10). */
  tau?: number;
  /** L, clipping iterations per round (default 1). */
  iterations?: number;
  /** β, server momentum in [0, 1) (default 0). */
  serverMomentum?: number;
  /** η (default 1). */
  serverLearningRate?: number;
}

export class CenteredClipping implements Strategy {
  readonly name = 'centeredclipping';
  readonly aggregation = 'individual' as const;
  readonly tau: number;
  readonly iterations: number;
  readonly serverMomentum: number;
  readonly serverLearningRate: number;
  private center: Float32Array | undefined;
  private momentum: Float32Array | undefined;

  constructor(options: CenteredClippingOptions = {}) {
    this.tau = positive('tau', options.tau ?? 10);
    this.iterations = integerAtLeast('iterations', options.iterations ?? 1, 1);
    this.serverMomentum = decay('serverMomentum', options.serverMomentum ?? 0);
    this.serverLearningRate = positive('serverLearningRate', options.serverLearningRate ?? 1);
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    assertStateFits('centered clipping center', this.center, ctx.global.length);
    assertStateFits('centered clipping momentum', this.momentum, ctx.global.length);
    const start = new Float64Array(ctx.global.length);
    if (this.center) start.set(this.center);
    const apply = (v: Float64Array, global: Float32Array): Float32Array => this.applyStep(v, global);
    // One iteration needs each update only once, around a center known in advance: stream it.
    if (this.iterations === 1) return new StreamingClipAggregator(ctx.global, start, this.tau, apply);
    return new UpdateStore(ctx.global, ({ deltas }, global) => {
      centeredClip(deltas, start, this.tau, this.iterations);
      return apply(start, global);
    });
  }

  /** Momentum and server step from this round's aggregate v; v becomes the next round's center. */
  private applyStep(v: Float64Array, global: Float32Array): Float32Array {
    const d = global.length;
    const beta = this.serverMomentum;
    const eta = this.serverLearningRate;
    const next = new Float32Array(d);
    const u = beta > 0 ? (this.momentum ?? new Float32Array(d)) : undefined;
    for (let j = 0; j < d; j++) {
      let step = v[j];
      if (u) step = u[j] = beta * u[j] + v[j];
      next[j] = global[j] + eta * step;
    }
    this.center = Float32Array.from(v);
    this.momentum = u;
    return next;
  }

  getState(): StrategyState {
    return saveState(this.name, {}, { center: this.center, momentum: this.momentum });
  }

  setState(state: StrategyState): void {
    checkState(this.name, state, ['center', 'momentum']);
    this.center = loadArray(state, 'center');
    this.momentum = loadArray(state, 'momentum');
  }
}

/** L iterations of centered clipping of `deltas` around `v`, updating v in place. */
export function centeredClip(
  deltas: readonly Float32Array[],
  v: Float64Array,
  tau: number,
  iterations: number,
): void {
  const step = new Float64Array(v.length);
  for (let l = 0; l < iterations; l++) {
    step.fill(0);
    for (const x of deltas) addClipped(step, x, v, tau);
    for (let j = 0; j < v.length; j++) v[j] += step[j] / deltas.length;
  }
}

/** step += (x − v) · min(1, τ / ‖x − v‖). */
function addClipped(step: Float64Array, x: Float32Array, v: Float64Array, tau: number): void {
  const d = v.length;
  let sq = 0;
  for (let j = 0; j < d; j++) {
    const z = x[j] - v[j];
    sq += z * z;
  }
  const norm = Math.sqrt(sq);
  const c = norm > tau ? tau / norm : 1;
  for (let j = 0; j < d; j++) step[j] += c * (x[j] - v[j]);
}

/**
 * Centered clipping with L = 1 as updates arrive: each clipped difference from the fixed center is
 * folded into a float64 running sum, so the round holds O(model) memory instead of every update.
 * Same arithmetic, in the same order, as `centeredClip` with one iteration.
 */
class StreamingClipAggregator implements RoundAggregator {
  private readonly step: Float64Array;
  private accepted = 0;
  private result: Float32Array | undefined;

  constructor(
    private readonly global: Float32Array,
    private readonly center: Float64Array,
    private readonly tau: number,
    private readonly apply: (v: Float64Array, global: Float32Array) => Float32Array,
  ) {
    this.step = new Float64Array(global.length);
  }

  get count(): number {
    return this.accepted;
  }

  add(update: ClientUpdate): void {
    if (this.result) throw new Error('round already finished: no more updates can be added');
    assertUpdate(update, this.global.length);
    addClipped(this.step, update.delta, this.center, this.tau);
    this.accepted++;
  }

  finish(): RoundResult {
    if (!this.result) {
      if (this.accepted === 0) throw new RoundAborted('no update was accepted');
      const v = this.center;
      for (let j = 0; j < v.length; j++) v[j] += this.step[j] / this.accepted;
      this.result = this.apply(v, this.global);
    }
    return { global: Float32Array.from(this.result), statistics: {} };
  }
}

/**
 * The RDP privacy accountant for DP-SGD / DP-FedAvg style training: every step (or round) applies
 * the sampled Gaussian mechanism; RDP adds up across steps at each order; the total converts to an
 * (epsilon, delta) guarantee by minimising over the orders.
 *
 * Conversions RDP -> (epsilon, delta), at each order alpha with total RDP r:
 * - 'improved' (default, what Opacus and dp_accounting use today): Balle et al. 2020 "Hypothesis
 *   testing interpretations and Rényi differential privacy", Theorem 21; equivalently Canonne,
 *   Kamath & Steinke 2020, Proposition 12:
 *     epsilon = r + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) / (alpha - 1)
 * - 'classic': Mironov 2017 "Rényi Differential Privacy", Proposition 3:
 *     epsilon = r + log(1 / delta) / (alpha - 1)
 *   Looser; it is what the published tutorial figures from before 2021 were computed with.
 * Both are also floored by a bound that does not depend on the order's formula: RDP at any order
 * alpha >= 1 is at least the KL divergence, and KL <= -log(1 - delta^2) implies total variation
 * <= delta (Bretagnolle–Huber), which is (0, delta)-DP. Negative results are clamped to 0, since
 * (epsilon, delta)-DP for some epsilon < 0 implies (0, delta)-DP.
 */
import {
  DEFAULT_ORDERS,
  assertNoiseMultiplier,
  assertOrders,
  assertSamplingRate,
  rdpSampledGaussian,
  type FractionalSeries,
} from './rdp.js';

export type Conversion = 'improved' | 'classic';

/** An (epsilon, delta) guarantee and the RDP order that gave it (null when no order is finite). */
export interface PrivacySpent {
  epsilon: number;
  bestOrder: number | null;
}

/** Settings shared by every entry point. */
export interface AccountingOptions {
  /** RDP orders to minimise over; default DEFAULT_ORDERS (dp_accounting's list). */
  orders?: readonly number[];
  /** RDP -> (epsilon, delta) conversion; default 'improved'. */
  conversion?: Conversion;
  /** Fractional-order series, see rdp.ts; default 'signed' (exact). */
  fractionalSeries?: FractionalSeries;
}

export interface EpsilonQuery extends AccountingOptions {
  samplingRate: number;
  noiseMultiplier: number;
  steps: number;
  delta: number;
}

export interface NoiseQuery extends AccountingOptions {
  samplingRate: number;
  steps: number;
  delta: number;
  targetEpsilon: number;
  /** Stop bisecting when the bracket is narrower than this fraction of its upper end; default 1e-6. */
  relativeTolerance?: number;
}

/** One accountant step: the mechanism's parameters for that step. */
export interface StepParams {
  noiseMultiplier: number;
  samplingRate: number;
}

/** A run of identical steps in an accountant's history. */
export interface HistoryEntry extends StepParams {
  steps: number;
}

/** The serialized form of an RdpAccountant (plain JSON). */
export interface AccountantState {
  version: 1;
  orders: number[];
  conversion: Conversion;
  fractionalSeries: FractionalSeries;
  history: HistoryEntry[];
}

export function assertDelta(delta: number, name = 'delta'): void {
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) {
    throw new RangeError(`${name} must be a number in (0, 1) (the failure probability); got ${delta}`);
  }
}

export function assertSteps(steps: number, name = 'steps'): void {
  if (typeof steps !== 'number' || !Number.isSafeInteger(steps) || steps < 0) {
    throw new RangeError(`${name} must be an integer >= 0; got ${steps}`);
  }
}

function assertConversion(conversion: string, name = 'conversion'): asserts conversion is Conversion {
  if (conversion !== 'improved' && conversion !== 'classic') {
    throw new RangeError(`${name} must be 'improved' or 'classic'; got ${String(conversion)}`);
  }
}

function assertFractionalSeries(
  series: string,
  name = 'fractionalSeries',
): asserts series is FractionalSeries {
  if (series !== 'signed' && series !== 'absolute') {
    throw new RangeError(`${name} must be 'signed' or 'absolute'; got ${String(series)}`);
  }
}

/**
 * Converts total RDP values (one per order) to the best (epsilon, delta) guarantee over the orders.
 * Orders whose RDP is Infinity or NaN (a series that did not converge) are skipped.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: Conversion = 'improved',
): PrivacySpent {
  assertOrders(orders);
  assertDelta(delta);
  assertConversion(conversion);
  if (rdp.length !== orders.length) {
    throw new RangeError(
      `rdp must have one value per order: ${orders.length} orders, got ${rdp.length} values`,
    );
  }
  // KL <= r at every order; if even r is within the Bretagnolle–Huber threshold, (0, delta)-DP holds.
  const zeroEpsilonBelow = -Math.log1p(-delta * delta);
  const logDelta = Math.log(delta);
  let best: PrivacySpent = { epsilon: Infinity, bestOrder: null };
  for (let k = 0; k < orders.length; k++) {
    const alpha = orders[k];
    const r = rdp[k];
    if (!(r < Infinity)) continue; // Infinity or NaN: this order certifies nothing
    let eps: number;
    if (r <= zeroEpsilonBelow) eps = 0;
    else if (conversion === 'improved') {
      eps = r + Math.log1p(-1 / alpha) - (logDelta + Math.log(alpha)) / (alpha - 1);
    } else {
      eps = r - logDelta / (alpha - 1);
    }
    eps = Math.max(0, eps);
    if (eps < best.epsilon) best = { epsilon: eps, bestOrder: alpha };
  }
  return best;
}

function resolveOptions(options: AccountingOptions): Required<AccountingOptions> {
  const orders = options.orders ?? DEFAULT_ORDERS;
  assertOrders(orders);
  const conversion = options.conversion ?? 'improved';
  assertConversion(conversion);
  const fractionalSeries = options.fractionalSeries ?? 'signed';
  assertFractionalSeries(fractionalSeries);
  return { orders, conversion, fractionalSeries };
}

/** Total RDP of `steps` identical steps (0 steps: exactly 0, even for z = 0). */
function totalRdp(q: number, z: number, steps: number, o: Required<AccountingOptions>): number[] {
  if (steps === 0) return o.orders.map(() => 0);
  return rdpSampledGaussian(q, z, o.orders, { fractionalSeries: o.fractionalSeries }).map((r) => r * steps);
}

/** The (epsilon, delta) guarantee of `steps` steps of the sampled Gaussian mechanism. */
export function epsilon(query: EpsilonQuery): PrivacySpent {
  assertSamplingRate(query.samplingRate);
  assertNoiseMultiplier(query.noiseMultiplier);
  assertSteps(query.steps);
  assertDelta(query.delta);
  const o = resolveOptions(query);
  const rdp = totalRdp(query.samplingRate, query.noiseMultiplier, query.steps, o);
  return epsilonFromRdp(o.orders, rdp, query.delta, o.conversion);
}

/** Below this the search stops shrinking: epsilon this close to z = 0 is astronomically large. */
const SMALLEST_NOISE = 1e-9;
/** Above this the target is declared unreachable (Opacus gives up at 1e6 too). */
const LARGEST_NOISE = 1e7;

/**
 * The smallest noise multiplier z whose epsilon after `steps` steps is at most `targetEpsilon`.
 *
 * epsilon falls monotonically as z grows (more noise is post-processing of less), so the answer
 * is found by bracketing (halving or doubling from z = 1) and bisection. The returned z always
 * satisfies the target, and lies within `relativeTolerance * z` above the exact threshold.
 * Returns 0 when no noise is needed (q = 0 or steps = 0).
 */
export function noiseMultiplierFor(query: NoiseQuery): number {
  assertSamplingRate(query.samplingRate);
  assertSteps(query.steps);
  assertDelta(query.delta);
  const target = query.targetEpsilon;
  if (typeof target !== 'number' || !(target > 0) || target === Infinity) {
    throw new RangeError(`targetEpsilon must be a finite number > 0; got ${target}`);
  }
  const tol = query.relativeTolerance ?? 1e-6;
  if (typeof tol !== 'number' || !(tol > 0 && tol < 1)) {
    throw new RangeError(`relativeTolerance must be a number in (0, 1); got ${tol}`);
  }
  const o = resolveOptions(query);
  if (query.samplingRate === 0 || query.steps === 0) return 0;

  const meets = (z: number): boolean =>
    epsilonFromRdp(o.orders, totalRdp(query.samplingRate, z, query.steps, o), query.delta, o.conversion)
      .epsilon <= target;

  let lo: number; // epsilon(lo) > target
  let hi: number; // epsilon(hi) <= target
  if (meets(1)) {
    hi = 1;
    lo = 0.5;
    while (meets(lo)) {
      hi = lo;
      lo /= 2;
      if (lo < SMALLEST_NOISE) return hi;
    }
  } else {
    lo = 1;
    hi = 2;
    while (!meets(hi)) {
      lo = hi;
      hi *= 2;
      if (hi > LARGEST_NOISE) {
        throw new RangeError(
          `targetEpsilon ${target} is out of reach: even noiseMultiplier ${LARGEST_NOISE} gives more ` +
            `(samplingRate ${query.samplingRate}, steps ${query.steps}, delta ${query.delta})`,
        );
      }
    }
  }
  while (hi - lo > tol * hi) {
    const mid = 0.5 * (lo + hi);
    if (meets(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Accumulates the privacy cost of heterogeneous steps (e.g. one call per federated round, with the
 * round's noise multiplier and client sampling rate) and reports the (epsilon, delta) spent so far.
 *
 * The state is the step history (consecutive identical steps merged), not running sums: spent()
 * recomputes the total from it, so an accountant restored from toJSON() answers bit-for-bit like
 * the one that was saved.
 */
export class RdpAccountant {
  readonly orders: readonly number[];
  readonly conversion: Conversion;
  readonly fractionalSeries: FractionalSeries;
  private readonly entries: HistoryEntry[] = [];
  /** Per-step RDP for each (noiseMultiplier, samplingRate) pair seen, so repeated rounds cost nothing. */
  private readonly perStep = new Map<string, number[]>();

  constructor(options: AccountingOptions = {}) {
    const o = resolveOptions(options);
    for (const order of o.orders) {
      if (!Number.isFinite(order)) {
        throw new RangeError(`orders must be finite for an accountant (its state is JSON); got ${order}`);
      }
    }
    this.orders = Object.freeze([...o.orders]);
    this.conversion = o.conversion;
    this.fractionalSeries = o.fractionalSeries;
  }

  /** Records `count` steps with the given parameters. Returns this, for chaining. */
  step(params: StepParams, count = 1): this {
    const { noiseMultiplier, samplingRate } = checkStep(params);
    assertSteps(count, 'count');
    if (count === 0) return this;
    const last = this.entries[this.entries.length - 1];
    if (last && last.noiseMultiplier === noiseMultiplier && last.samplingRate === samplingRate) {
      last.steps += count;
    } else {
      this.entries.push({ noiseMultiplier, samplingRate, steps: count });
    }
    return this;
  }

  /** The (epsilon, delta) guarantee of all steps so far; epsilon 0 before the first step. */
  spent(delta: number): PrivacySpent {
    assertDelta(delta);
    return epsilonFromRdp(this.orders, this.rdp(), delta, this.conversion);
  }

  /**
   * What spent(delta) would report after `count` more steps with `params`, without recording them:
   * lets a training loop check a budget before it runs the round.
   */
  spentAfter(params: StepParams, count: number, delta: number): PrivacySpent {
    const { noiseMultiplier, samplingRate } = checkStep(params);
    assertSteps(count, 'count');
    assertDelta(delta);
    const total = this.rdp();
    if (count > 0) {
      const extra = this.rdpPerStep(noiseMultiplier, samplingRate);
      for (let k = 0; k < total.length; k++) total[k] += count * extra[k];
    }
    return epsilonFromRdp(this.orders, total, delta, this.conversion);
  }

  /** Total RDP at each order (same order as `orders`). */
  rdp(): number[] {
    const total = this.orders.map(() => 0);
    for (const entry of this.entries) {
      const perStep = this.rdpPerStep(entry.noiseMultiplier, entry.samplingRate);
      for (let k = 0; k < total.length; k++) total[k] += entry.steps * perStep[k];
    }
    return total;
  }

  /** Number of steps recorded. */
  get steps(): number {
    return this.entries.reduce((sum, e) => sum + e.steps, 0);
  }

  /** The recorded steps, consecutive identical ones merged (a copy). */
  get history(): HistoryEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  toJSON(): AccountantState {
    return {
      version: 1,
      orders: [...this.orders],
      conversion: this.conversion,
      fractionalSeries: this.fractionalSeries,
      history: this.history,
    };
  }

  /** Restores an accountant from toJSON() output (or its JSON.parse'd text), validating every field. */
  static fromJSON(state: unknown): RdpAccountant {
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(
        `accountant state must be an object; got ${state === null ? 'null' : typeof state}`,
      );
    }
    const s = state as Partial<Record<keyof AccountantState, unknown>>;
    if (s.version !== 1) {
      throw new RangeError(`accountant state version must be 1; got ${String(s.version)}`);
    }
    if (!Array.isArray(s.orders)) throw new TypeError('accountant state.orders must be an array of numbers');
    if (!Array.isArray(s.history)) throw new TypeError('accountant state.history must be an array');
    assertConversion(String(s.conversion), 'state.conversion');
    assertFractionalSeries(String(s.fractionalSeries), 'state.fractionalSeries');
    const accountant = new RdpAccountant({
      orders: s.orders as number[],
      conversion: s.conversion as Conversion,
      fractionalSeries: s.fractionalSeries as FractionalSeries,
    });
    s.history.forEach((entry: unknown, k: number) => {
      if (typeof entry !== 'object' || entry === null) {
        throw new TypeError(`accountant state.history[${k}] must be an object; got ${String(entry)}`);
      }
      const e = entry as Record<string, unknown>;
      const where = `state.history[${k}]`;
      assertNoiseMultiplier(e.noiseMultiplier as number, `${where}.noiseMultiplier`);
      assertSamplingRate(e.samplingRate as number, `${where}.samplingRate`);
      assertSteps(e.steps as number, `${where}.steps`);
      accountant.step(
        { noiseMultiplier: e.noiseMultiplier as number, samplingRate: e.samplingRate as number },
        e.steps as number,
      );
    });
    return accountant;
  }

  private rdpPerStep(noiseMultiplier: number, samplingRate: number): number[] {
    const key = `${noiseMultiplier}|${samplingRate}`;
    let rdp = this.perStep.get(key);
    if (!rdp) {
      rdp = rdpSampledGaussian(samplingRate, noiseMultiplier, this.orders, {
        fractionalSeries: this.fractionalSeries,
      });
      this.perStep.set(key, rdp);
    }
    return rdp;
  }
}

function checkStep(params: StepParams): StepParams {
  if (typeof params !== 'object' || params === null) {
    throw new TypeError(
      `step parameters must be an object {noiseMultiplier, samplingRate}; got ${String(params)}`,
    );
  }
  const { noiseMultiplier, samplingRate } = params;
  assertNoiseMultiplier(noiseMultiplier);
  if (noiseMultiplier === Infinity) {
    throw new RangeError(
      'noiseMultiplier must be finite for an accountant step (its state is JSON); got Infinity',
    );
  }
  assertSamplingRate(samplingRate);
  return { noiseMultiplier, samplingRate };
}

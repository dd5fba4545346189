/**
 * Client-level differential privacy around any sum-based strategy: DP-FedAvg (McMahan, Ramage,
 * Talwar, Zhang, "Learning Differentially Private Recurrent Language Models", ICLR 2018), with fixed
 * or adaptive clipping (Andrew et al. 2021) and central or distributed noise.
 *
 * Each round: every client's update is clipped to L2 norm C; the clipped updates are summed with
 * equal weight (a client's influence is what is bounded, so example counts do not weight it); Gaussian
 * noise N(0, (z·C)²) is added to the sum; the sum is divided by the *expected* number of clients
 * m̄ = q·N (the fixed-denominator estimator, whose sensitivity does not depend on who took part);
 * and that noisy mean is handed to the wrapped strategy as one update — FedAvg applies it, FedAvgM
 * or FedAdam treat it as their pseudo-gradient (post-processing: no extra privacy cost).
 *
 * - Central noise (trusted server): the server clips and adds all the noise.
 * - Distributed noise (for secure aggregation, where the server sees only the sum): each client
 *   clips its own update and adds N(0, (z·C)²/k), k = `minClients`, so any k contributions carry the
 *   full noise. A round with fewer than k contributions is aborted, never released with too little
 *   noise. The server cannot clip what it cannot see: this mode trusts clients to follow the protocol
 *   (it only refuses updates whose norm no honest clipped-and-noised update would have).
 *
 * Composition: central noise needs the server to see each update (it clips them), so it cannot run
 * under secure aggregation. Distributed noise passes each client's (already clipped and noised)
 * update on to the wrapped strategy with equal weight, so the wrapped strategy may be secure
 * aggregation: `withDifferentialPrivacy(withSecureAggregation(fedavg), { noise: 'distributed' })` —
 * the server then only ever sees a sum that already carries the full noise. (The mean is then over
 * the clients that took part, not the expected number; the noise is already in the sum.) Either
 * way the DP layer counts and checks individual updates, so it declares itself 'individual' and
 * secure aggregation refuses to sit outside it.
 *
 * The engine samples clients by Poisson sampling with rate q (`clientSampling = 'poisson'`), the
 * scheme the sampled-Gaussian RDP accountant assumes; every released round is charged to the
 * accountant at (z, q), and `privacy.spent()` reports (epsilon, delta) for the engine to print and
 * to stop at a budget.
 */
import type {
  ClientInfo,
  ClientUpdate,
  FitConfig,
  PrivacyLedger,
  RoundAggregator,
  RoundChannel,
  RoundContext,
  RoundResult,
  Strategy,
  StrategyState,
} from '../fl/strategy.js';
import { assertUpdate, RoundAborted, UpdateRejected } from '../fl/update-check.js';
import { l2Norm } from '../tensor/math.js';
import { roundRng } from '../fl/engine.js';
import { SecureAggregationStrategy } from './secure-aggregation.js';
import { RdpAccountant } from './dp/accountant.js';
import { clipFactor } from './dp/clip.js';
import { secureGaussian, seededGaussian, type GaussianSource } from './dp/noise.js';
import {
  defaultCountNoiseStd,
  nextClipNorm,
  updateNoiseMultiplier,
  validateAdaptiveClipping,
  type AdaptiveClippingOptions,
} from './dp/adaptive-clip.js';

/** Σ of the values, in the order of their keys: the same bits whatever order they arrived in. */
function sumInIdOrder(values: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const id of [...values.keys()].sort()) sum += values.get(id)!;
  return sum;
}

export interface DifferentialPrivacyOptions {
  /** z: noise std over clip norm, for the whole mechanism (updates and, if adaptive, the count). */
  noiseMultiplier: number;
  /** C: the L2 bound of one client's update (the initial bound when clipping is adaptive). */
  clipNorm: number;
  /**
   * Track a quantile of the update norms instead of a fixed C. With distributed noise each client
   * reports its noisy unclipped indicator inside the (secure) sum, next to its update.
   */
  adaptiveClipping?: AdaptiveClippingOptions;
  /** Where the noise is added (default 'central'). */
  noise?: 'central' | 'distributed';
  /** Distributed noise: contributions that together carry the full noise (default: `defaultNoiseClients`). */
  minClients?: number;
  /** δ of the reported (ε, δ) guarantee (default 1e-5). */
  delta?: number;
  /** Reproducible noise for experiments (a seeded statistical generator). Omit in a deployment: the default draws from the platform's cryptographic generator. */
  noiseSeed?: number;
}

declare module '../fl/strategy.js' {
  interface AggregationStatistics {
    /** What differential privacy did this round. */
    dp?: DpRoundStats;
  }
}

/** What one released round did, for metrics. */
export interface DpRoundStats {
  round: number;
  clients: number;
  /** Central noise: how many updates were clipped. */
  clipped?: number;
  /** The clip norm used this round, and the one the next round will use. */
  clipNorm: number;
  nextClipNorm: number;
  /** Noise std added to the sum of updates (central), or by each client (distributed). */
  noiseStd: number;
  expectedClients: number;
}

class DifferentiallyPrivate implements Strategy {
  readonly name: string;
  readonly aggregation = 'individual' as const;
  readonly clientSampling = 'poisson' as const;
  readonly privacy: PrivacyLedger;
  get minUpdates(): number | undefined {
    return this.inner.minUpdates;
  }
  /** The current clip norm (moves each round under adaptive clipping). */
  clipNorm: number;
  private accountant = new RdpAccountant();
  private readonly delta: number;
  private readonly secureNoise: GaussianSource | undefined;

  constructor(
    readonly inner: Strategy,
    readonly options: DifferentialPrivacyOptions,
  ) {
    if (inner.aggregation !== 'sum')
      throw new Error(
        `differential privacy cannot wrap '${inner.name}': DP-FedAvg's guarantee is for a noised sum of clipped updates, and '${inner.name}' needs each update individually`,
      );
    const { noiseMultiplier: z, clipNorm } = options;
    if (!(z > 0 && Number.isFinite(z)))
      throw new RangeError(`noiseMultiplier must be positive and finite, got ${z}`);
    if (!(clipNorm > 0 && Number.isFinite(clipNorm)))
      throw new RangeError(`clipNorm must be positive and finite, got ${clipNorm}`);
    this.delta = options.delta ?? 1e-5;
    if (!(this.delta > 0 && this.delta < 1))
      throw new RangeError(`delta must be in (0, 1), got ${this.delta}`);
    if (options.noise !== undefined && options.noise !== 'central' && options.noise !== 'distributed')
      throw new RangeError(`noise must be 'central' or 'distributed', got '${String(options.noise)}'`);
    if (options.adaptiveClipping) validateAdaptiveClipping(options.adaptiveClipping);
    if (inner instanceof SecureAggregationStrategy && options.noise !== 'distributed')
      throw new Error(
        "central DP noise needs the server to clip each client's update, which secure aggregation hides; use noise: 'distributed' (each client clips and noises its own update)",
      );
    if (
      options.minClients !== undefined &&
      !(Number.isInteger(options.minClients) && options.minClients >= 1)
    )
      throw new RangeError(`minClients must be an integer >= 1, got ${options.minClients}`);
    this.clipNorm = clipNorm;
    this.secureNoise = options.noiseSeed === undefined ? secureGaussian() : undefined;
    this.name = `dp(${inner.name})`;
    this.privacy = {
      spent: () => ({ epsilon: this.accountant.spent(this.delta).epsilon, delta: this.delta }),
      spentAfterNextRound: (samplingRate: number) => ({
        epsilon: this.accountant.spentAfter({ noiseMultiplier: z, samplingRate }, 1, this.delta).epsilon,
        delta: this.delta,
      }),
    };
  }

  /** The round's noise: cryptographic, or — for experiments — seeded by (noiseSeed, round) so a resumed run repeats. */
  private noiseFor(round: number): GaussianSource {
    return this.secureNoise ?? seededGaussian(roundRng(this.options.noiseSeed!, round).nextUint32());
  }

  private get distributed(): boolean {
    return this.options.noise === 'distributed';
  }

  private expectedClients(ctx: RoundContext): number {
    if (ctx.samplingRate === undefined || ctx.available === undefined)
      throw new Error('differential privacy needs the round engine (the round context has no sampling rate)');
    return ctx.samplingRate * ctx.available;
  }

  /** Contributions that must carry the full noise under distributed noise. */
  private minClients(ctx: RoundContext): number {
    return this.options.minClients ?? defaultNoiseClients(this.expectedClients(ctx), ctx.samplingRate!);
  }

  /** σ_b: the noise std of the unclipped count (adaptive clipping only). */
  private countNoiseStd(expected: number): number {
    const a = this.options.adaptiveClipping!;
    return a.countNoiseStd ?? defaultCountNoiseStd(this.options.noiseMultiplier, expected);
  }

  /**
   * Distributed noise: each client's share of the update noise (z_Δ·C/√m, m = minClients) and,
   * under adaptive clipping, of the count noise (σ_b/√m) and the scale s of its reported indicator,
   * chosen so that s·(b + noise) stays within ±C (the range secure aggregation is set up for) but
   * with probability below e^-32.
   */
  private shares(ctx: RoundContext, C: number): { update: number; count?: number; scale?: number } {
    const expected = this.expectedClients(ctx);
    const root = Math.sqrt(this.minClients(ctx));
    const update = (this.noiseMultiplierForUpdates(expected) * C) / root;
    if (!this.options.adaptiveClipping) return { update };
    const count = this.countNoiseStd(expected) / root;
    return { update, count, scale: C / (1 + 8 * count) };
  }

  /** z_Δ: the updates' noise multiplier (less than z when the count also gets noise). */
  private noiseMultiplierForUpdates(expected: number): number {
    const a = this.options.adaptiveClipping;
    if (!a) return this.options.noiseMultiplier;
    return updateNoiseMultiplier(this.options.noiseMultiplier, this.countNoiseStd(expected));
  }

  configureFit(
    ctx: RoundContext,
    available: readonly ClientInfo[],
    base: FitConfig,
  ): { clients: ClientInfo[]; config: FitConfig } {
    if (!this.distributed)
      return this.inner.configureFit
        ? this.inner.configureFit(ctx, available, base)
        : { clients: [...available], config: base };
    // Distributed noise: the clients clip and noise their own updates, and every client weighs the
    // same (a client's influence is what is bounded). The inner layers see both — secure aggregation
    // announces equal weights and reserves the slot of the adaptive-clipping indicator.
    const share = this.shares(ctx, this.clipNorm);
    const withDp: FitConfig = {
      ...base,
      dp: {
        clipNorm: this.clipNorm,
        noiseStd: share.update,
        ...(share.scale !== undefined ? { countScale: share.scale, countNoiseStd: share.count! } : {}),
        ...(this.options.noiseSeed !== undefined ? { seeded: true } : {}),
      },
    };
    const equal = available.map((c) => ({ ...c, numExamples: 1 }));
    return this.inner.configureFit
      ? this.inner.configureFit(ctx, equal, withDp)
      : { clients: equal, config: withDp };
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    const expected = this.expectedClients(ctx);
    const C = this.clipNorm;
    const distributed = this.distributed;
    const d = ctx.global.length;
    const share = distributed ? this.shares(ctx, C) : undefined;
    const shareStd = share?.update ?? 0;
    // An honest indicator report s·(b + N(0, share²)) lies within s·(1 + 8·share) of 0 but with
    // probability below e^-32 (the same margin as the norm check below).
    const maxIndicator = share?.scale !== undefined ? share.scale * (1 + 8 * share.count!) : undefined;
    // The clients' indicators, summed at the end in the order of their ids: a float64 sum in arrival
    // order would differ in its last bits from run to run, and through the next clip norm, so would
    // every later round of a seeded run.
    const indicators = new Map<string, number>();
    // An honest clipped update plus its noise share has norm below C + σ(√d + 8) except with
    // probability < e^-32 (Gaussian norm concentration): anything larger did not follow the protocol.
    const maxDistributedNorm = C + shareStd * (Math.sqrt(d) + 8);
    const sum = distributed ? undefined : new Float64Array(d);
    // Distributed noise: the updates go straight on to the wrapped strategy (perhaps secure
    // aggregation), with equal weight.
    const passOn = distributed ? this.inner.beginRound(ctx) : undefined;
    let count = 0;
    let clipped = 0;
    let unclipped = 0;
    let finished = false;
    return {
      add: (update: ClientUpdate) => {
        if (finished) throw new Error('round already finished: no more updates can be added');
        assertUpdate(update, d);
        const norm = l2Norm(update.delta);
        if (distributed && norm > maxDistributedNorm)
          throw new UpdateRejected(
            update.clientId,
            `update norm ${norm.toPrecision(4)} exceeds what a clipped (C = ${C.toPrecision(4)}) and noised update can have (${maxDistributedNorm.toPrecision(4)})`,
          );
        if (passOn) {
          if (maxIndicator !== undefined) {
            const aux = update.auxiliary;
            if (!aux || aux.length !== 1 || !Number.isFinite(aux[0]) || Math.abs(aux[0]) > maxIndicator)
              throw new UpdateRejected(
                update.clientId,
                `adaptive clipping needs the client's noisy unclipped indicator (one value within ±${maxIndicator.toPrecision(4)}), got ${aux ? `[${aux.join(', ')}]` : 'none'}`,
              );
            passOn.add({ ...update, numExamples: 1, auxiliary: aux });
            indicators.set(update.clientId, aux[0]);
          } else passOn.add({ ...update, numExamples: 1, auxiliary: undefined });
          count++;
          return;
        }
        const f = clipFactor(norm, C);
        if (f < 1) clipped++;
        else unclipped++;
        const x = update.delta;
        for (let i = 0; i < d; i++) sum![i] += f * x[i];
        count++;
      },
      // Under secure aggregation the clients' updates arrive masked, as protocol messages: they go
      // to the secure layer, which alone can sum them. The norm and indicator checks above cannot
      // see inside them; the protocol's quantization range bounds each value instead.
      ...(passOn?.receive
        ? {
            receive: (clientId: string, message: Uint8Array, numExamples: number) => {
              if (finished) throw new Error('round already finished: no more messages can be received');
              passOn.receive!(clientId, message, numExamples);
              count++;
            },
          }
        : {}),
      ...(passOn?.complete ? { complete: (channel: RoundChannel) => passOn.complete!(channel) } : {}),
      get count() {
        return count;
      },
      finish: () => {
        if (finished) throw new Error('round already finished');
        if (count === 0) throw new RoundAborted('no update was accepted');
        // Under secure aggregation, the noise shares in the sum are the protocol's survivors'.
        const contributions = passOn?.complete ? passOn.count : count;
        if (distributed && contributions < this.minClients(ctx))
          throw new RoundAborted(
            `only ${contributions} clients contributed noise shares; the privacy guarantee needs at least ${this.minClients(ctx)}`,
          );
        finished = true;
        const zUpdates = this.noiseMultiplierForUpdates(expected);
        const noiseStd = distributed ? shareStd : zUpdates * C;
        const noise = this.noiseFor(ctx.round);
        let next: RoundResult;
        if (passOn) next = passOn.finish();
        else {
          noise.addNoise(sum!, noiseStd);
          const mean = new Float32Array(d);
          for (let i = 0; i < d; i++) mean[i] = sum![i] / expected;
          const agg = this.inner.beginRound(ctx);
          agg.add({ clientId: 'dp-noised-mean', delta: mean, numExamples: 1 });
          next = agg.finish();
        }
        // Released: charge the round, then adapt the clip norm from the noisy unclipped count.
        this.accountant.step({
          noiseMultiplier: this.options.noiseMultiplier,
          samplingRate: ctx.samplingRate!,
        });
        const a = this.options.adaptiveClipping;
        if (a) {
          // Central: the server counts and adds the count noise. Distributed: the clients' noisy
          // indicators were summed with their updates — inside the secure sum when there is one,
          // which covers only the protocol's survivors.
          const noisyCount = passOn
            ? (passOn.auxiliarySum?.()?.[0] ?? sumInIdOrder(indicators)) / share!.scale!
            : unclipped + this.countNoiseStd(expected) * noise.normal();
          this.clipNorm = nextClipNorm(C, noisyCount / expected, a);
        }
        const dp: DpRoundStats = {
          round: ctx.round,
          clients: contributions,
          clipped: distributed ? undefined : clipped,
          clipNorm: C,
          nextClipNorm: this.clipNorm,
          noiseStd,
          expectedClients: expected,
        };
        return {
          global: next.global,
          statistics: { ...next.statistics, dp },
          ...(next.contributors !== undefined ? { contributors: next.contributors } : {}),
        };
      },
    };
  }

  getState(): StrategyState {
    const inner = this.inner.getState?.() ?? { json: {}, arrays: {} };
    return {
      json: { inner: inner.json, dp: { clipNorm: this.clipNorm, accountant: this.accountant.toJSON() } },
      arrays: inner.arrays,
    };
  }

  setState(state: StrategyState): void {
    const dp = state.json.dp as { clipNorm?: unknown; accountant?: unknown } | undefined;
    if (!dp || typeof dp.clipNorm !== 'number' || !(dp.clipNorm > 0))
      throw new Error(
        `state has no differential-privacy record (clip norm and accountant) for '${this.name}'`,
      );
    const accountant = RdpAccountant.fromJSON(dp.accountant);
    this.inner.setState?.({
      json: (state.json.inner ?? {}) as Record<string, unknown>,
      arrays: state.arrays,
    });
    this.accountant = accountant;
    this.clipNorm = dp.clipNorm;
  }
}

/** DP-FedAvg around `strategy` (which must aggregate a sum). */
export function withDifferentialPrivacy(
  strategy: Strategy,
  options: DifferentialPrivacyOptions,
): Strategy & {
  readonly clipNorm: number;
  readonly privacy: PrivacyLedger;
} {
  return new DifferentiallyPrivate(strategy, options);
}

/**
 * Under Poisson sampling the number of clients in a round is Binomial(N, q): mean m̄ = qN, variance
 * m̄(1 − q). Distributed noise must be full with the fewest clients a round may bring, so each share
 * is sized for two standard deviations below the mean (a round falls below it about 2% of the
 * time, and is then aborted) — the price is more noise than needed in a typical round.
 */
export function defaultNoiseClients(expectedClients: number, samplingRate: number): number {
  return Math.max(1, Math.floor(expectedClients - 2 * Math.sqrt(expectedClients * (1 - samplingRate))));
}

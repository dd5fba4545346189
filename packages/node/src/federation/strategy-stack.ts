/**
 * The strategy of a run, from its settings: the named strategy with its own options, under secure
 * aggregation and differential privacy when the settings ask for them. The layers stack in the one
 * order that works — DP outside secure aggregation, so that with distributed noise the server only
 * ever sees a sum that already carries the full noise (privacy/differential-privacy.ts).
 */
import {
  strategyByName,
  withDifferentialPrivacy,
  withSecureAggregation,
  type Platform,
  type SecureAggregationStrategy,
  type Strategy,
} from 'edgefl';
import { defaultNoiseClients } from 'edgefl/internal/privacy/differential-privacy';
import { SettingsError, clientsPerRound, type RunSettings } from './settings.js';

export interface StrategyStack {
  /** The outermost layer: what the round engine drives. */
  strategy: Strategy;
  /** The secure-aggregation layer, when there is one (it loads its cryptography asynchronously). */
  secure?: SecureAggregationStrategy;
}

/**
 * Builds the stack for a federation of `population` clients; throws SettingsError when the
 * settings ask for something the strategy cannot do.
 */
export function strategyStack(
  settings: RunSettings,
  population: number,
  platform: Pick<Platform, 'secaggCrypto'>,
  o: {
    /**
     * Draw the DP noise (the server's, and the clients' under distributed noise) from a generator
     * seeded by the run's seed, so a simulation repeats (default). A deployment must pass false:
     * seeded noise is noise anyone who knows the settings can subtract.
     */
    seededNoise?: boolean;
  } = {},
): StrategyStack {
  let inner: Strategy;
  try {
    inner = strategyByName(settings.strategy, settings.strategyOptions ?? {});
  } catch (e) {
    throw new SettingsError(`strategy: ${(e as Error).message}`, [
      { path: 'strategyOptions', message: (e as Error).message },
    ]);
  }
  const needed = inner.minUpdates ?? 1;
  const perRound = clientsPerRound(settings, population);
  if (needed > perRound)
    throw new SettingsError(
      `strategy '${settings.strategy}' needs at least ${needed} updates a round, and a round trains ${perRound} of the ${population} clients: raise fraction or minFitClients, or lower its f`,
      [{ path: 'strategy', message: `needs ${needed} updates a round` }],
    );
  const dp = settings.dp;
  // The DP layer's current clip norm, once it exists: adaptive clipping moves it, and secure
  // aggregation's range has to follow.
  let currentClipNorm = (): number => dp?.clipNorm ?? 1;
  const sa = settings.secureAggregation;
  let secure: SecureAggregationStrategy | undefined;
  if (sa) {
    try {
      secure = withSecureAggregation(inner, {
        crypto: platform.secaggCrypto,
        neighbours: sa.neighbours,
        range: sa.range ?? (() => secureRangeFor(settings, population, currentClipNorm())),
      });
    } catch (e) {
      throw new SettingsError(`secureAggregation: ${(e as Error).message}`, [
        { path: 'secureAggregation', message: (e as Error).message },
      ]);
    }
  }
  if (!dp) return { strategy: secure ?? inner, secure };
  const strategy = withDifferentialPrivacy(secure ?? inner, {
    noiseMultiplier: dp.noiseMultiplier,
    clipNorm: dp.clipNorm,
    adaptiveClipping: dp.targetQuantile === undefined ? undefined : { targetQuantile: dp.targetQuantile },
    noise: dp.noise,
    delta: dp.delta,
    noiseSeed: o.seededNoise === false ? undefined : settings.seed,
  });
  currentClipNorm = () => strategy.clipNorm;
  return { strategy, secure };
}

/**
 * The quantization range secure aggregation needs: a clipped update (norm ≤ C, the DP layer's
 * current clip norm) has every value in [−C, C]; with distributed DP each value also carries its
 * noise share (std z·C/√k), so six standard deviations more are kept (the adaptive-clipping
 * indicator is scaled to stay within ±C). Without DP, updates are not clipped and 1 is the default.
 */
function secureRangeFor(settings: RunSettings, population: number, clipNorm: number): number {
  const dp = settings.dp;
  if (!dp) return 1;
  const k = defaultNoiseClients(settings.fraction * population, settings.fraction);
  return clipNorm * (1 + (6 * dp.noiseMultiplier) / Math.sqrt(k));
}

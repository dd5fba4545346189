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
    /** How the caller's user spells a field in messages (the CLI names the flag too). */
    describePath?: (path: string) => string;
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
  refuseBudgetBelowOneRound(settings, strategy, o.describePath ?? ((p) => p));
  return { strategy, secure };
}

/**
 * A budget smaller than one round's spend would stop the run before its first round, after the
 * data was loaded and a run folder made: refused here instead. The DP layer samples clients by
 * Poisson sampling at rate `fraction`, so its first round costs the same whoever is present, and
 * no later round costs less.
 */
function refuseBudgetBelowOneRound(
  settings: RunSettings,
  strategy: Strategy,
  describePath: (path: string) => string,
): void {
  const budget = settings.dp?.epsilonBudget;
  if (budget === undefined || !strategy.privacy) return;
  const first = strategy.privacy.spentAfterNextRound(settings.fraction);
  if (first.epsilon <= budget) return;
  const message =
    `${describePath('dp.epsilonBudget')} is ${budget}, less than one round spends: epsilon ${first.epsilon.toFixed(3)} at delta ` +
    `${first.delta} (noise multiplier ${settings.dp!.noiseMultiplier}, ${settings.fraction} of the clients a round), ` +
    'so no round could run: raise the budget or the noise multiplier, or lower the fraction';
  throw new SettingsError(message, [{ path: 'dp.epsilonBudget', message }]);
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

/**
 * Client selection for strategies that configure the fit themselves (FedProx, and the adaptive
 * optimizers when they set the client learning rate). `Strategy.configureFit` returns the clients as
 * well as the config, so a strategy that only wants to change the config still has to choose them;
 * this is Flower's rule (fraction_fit, min_fit_clients), seeded by the round's generator.
 */
import type { ClientInfo } from '../strategy.js';
import type { Rng } from '../../util/rng.js';

export interface SamplingOptions {
  /** Fraction of the available clients to train each round (default 1: all of them). */
  fractionFit?: number;
  /** At least this many (when that many are available; default 1). */
  minFitClients?: number;
}

export function validateSampling(options: SamplingOptions): void {
  const f = options.fractionFit ?? 1;
  if (!(f > 0 && f <= 1)) throw new RangeError(`fractionFit must be in (0, 1], got ${f}`);
  const m = options.minFitClients ?? 1;
  if (!(Number.isInteger(m) && m >= 1))
    throw new RangeError(`minFitClients must be an integer >= 1, got ${m}`);
}

/** max(floor(fractionFit · n), minFitClients) of the available clients, capped at n, chosen at random. */
export function sampleClients(
  available: readonly ClientInfo[],
  options: SamplingOptions,
  rng: Rng,
): ClientInfo[] {
  const n = available.length;
  const k = Math.min(n, Math.max(Math.floor((options.fractionFit ?? 1) * n), options.minFitClients ?? 1));
  if (k === n) return [...available];
  const order = rng.permutation(n);
  const chosen: ClientInfo[] = [];
  for (let i = 0; i < k; i++) chosen.push(available[order[i]]);
  return chosen;
}

/**
 * Poisson sampling: each available client independently with probability `rate` (the round may be
 * empty). Privacy amplification by subsampling (the RDP accountant's sampled Gaussian mechanism)
 * is proved for this scheme, so DP strategies ask the engine for it.
 */
export function poissonSample(available: readonly ClientInfo[], rate: number, rng: Rng): ClientInfo[] {
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampling rate must be in (0, 1], got ${rate}`);
  return available.filter(() => rng.uniform() < rate);
}

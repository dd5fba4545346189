/**
 * The client's half of DP-FedAvg with distributed noise: when the round's instructions carry a clip
 * norm and a noise share, the client clips its own update to that norm and adds its share of the
 * Gaussian noise before the update leaves it — under secure aggregation the server never sees an
 * update without noise.
 *
 * Under adaptive clipping (Andrew et al. 2021) the instructions also carry a count scale s and a
 * count-noise share: the client then reports s·(b + N(0, share²)), b = 1 when its update was within
 * the clip norm, as an auxiliary value that travels inside the secure sum next to its update. The
 * server only ever learns the noisy count Σ b + N(0, σ_b²) of unclipped updates.
 */
import type { FitConfig } from '../../fl/strategy.js';
import { clipToNorm } from './clip.js';
import { secureGaussian, seededGaussian } from './noise.js';

export const DP_CLIENT_KEYS = {
  clipNorm: 'dpClipNorm',
  noiseStd: 'dpNoiseStd',
  /** Adaptive clipping: the scale s of the reported indicator. */
  countScale: 'dpCountScale',
  /** Adaptive clipping: this client's share of the count noise (in count units, before s). */
  countNoiseStd: 'dpCountNoiseStd',
  /** Seeded noise, for reproducible experiments only. */
  seeded: 'dpSeededNoise',
} as const;

/** What the client adds to its update message: the noisy, scaled unclipped indicator if asked. */
export interface PrivatizedUpdate {
  auxiliary?: number[];
}

function numberOrUndefined(config: FitConfig, key: string): number | undefined {
  const v = config.extra?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new Error(`DP instruction '${key}' must be a non-negative number, got ${String(v)}`);
  return v;
}

/**
 * Clips and noises `delta` in place if `config` asks for it; returns what the update message must
 * also carry, or undefined when the round asks for no DP.
 */
export function privatizeOwnUpdate(
  delta: Float32Array,
  config: FitConfig,
  seed: number,
): PrivatizedUpdate | undefined {
  const clipNorm = numberOrUndefined(config, DP_CLIENT_KEYS.clipNorm);
  if (clipNorm === undefined) return undefined;
  const noiseStd = numberOrUndefined(config, DP_CLIENT_KEYS.noiseStd) ?? 0;
  const countScale = numberOrUndefined(config, DP_CLIENT_KEYS.countScale);
  const countNoiseStd = numberOrUndefined(config, DP_CLIENT_KEYS.countNoiseStd) ?? 0;
  const unclipped = clipToNorm(delta, clipNorm).clipped ? 0 : 1;
  // A different stream from the one that shuffled the client's data.
  const noise =
    config.extra?.[DP_CLIENT_KEYS.seeded] === true ? seededGaussian(seed ^ 0x5bd1e995) : secureGaussian();
  noise.addNoise(delta, noiseStd);
  if (countScale === undefined) return {};
  return { auxiliary: [countScale * (unclipped + countNoiseStd * noise.normal())] };
}

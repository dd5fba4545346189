/**
 * The client's half of DP-FedAvg with distributed noise: when the round's instructions carry a clip
 * norm and a noise share, the client clips its own update to that norm and adds its share of the
 * Gaussian noise before the update leaves it — under secure aggregation the server never sees an
 * update without noise.
 */
import type { FitConfig } from '../../fl/strategy.js';
import { clipToNorm } from './clip.js';
import { secureGaussian, seededGaussian } from './noise.js';

export const DP_CLIENT_KEYS = {
  clipNorm: 'dpClipNorm',
  noiseStd: 'dpNoiseStd',
  /** Seeded noise, for reproducible experiments only. */
  seeded: 'dpSeededNoise',
} as const;

/** Clips and noises `delta` in place if `config` asks for it; returns whether it did. */
export function privatizeOwnUpdate(delta: Float32Array, config: FitConfig, seed: number): boolean {
  const extra = config.extra;
  const clipNorm = extra?.[DP_CLIENT_KEYS.clipNorm];
  if (clipNorm === undefined) return false;
  const noiseStd = extra?.[DP_CLIENT_KEYS.noiseStd] ?? 0;
  if (typeof clipNorm !== 'number' || typeof noiseStd !== 'number')
    throw new Error(
      `DP instructions must be numbers, got clip norm ${String(clipNorm)} and noise std ${String(noiseStd)}`,
    );
  clipToNorm(delta, clipNorm);
  // A different stream from the one that shuffled the client's data.
  const noise =
    extra?.[DP_CLIENT_KEYS.seeded] === true ? seededGaussian(seed ^ 0x5bd1e995) : secureGaussian();
  noise.addNoise(delta, noiseStd);
  return true;
}

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
import type { ClientDpInstructions } from '../../fl/strategy.js';
import { clipToNorm } from './clip.js';
import { secureGaussian, seededGaussian } from './noise.js';

/** What the client adds to its update message: the noisy, scaled unclipped indicator if asked. */
export interface PrivatizedUpdate {
  auxiliary?: number[];
}

/** The instructions' numbers, checked: a client must not act on a NaN or negative noise level. */
function checkInstructions(dp: ClientDpInstructions): void {
  for (const key of ['clipNorm', 'noiseStd', 'countScale', 'countNoiseStd'] as const) {
    const v = dp[key];
    if (v === undefined && key !== 'clipNorm' && key !== 'noiseStd') continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new Error(`DP instruction '${key}' must be a non-negative number, got ${String(v)}`);
  }
}

/**
 * Clips and noises `delta` in place as `dp` says; returns what the update message must also carry
 * (the adaptive-clipping indicator, when asked for).
 */
export function privatizeOwnUpdate(
  delta: Float32Array,
  dp: ClientDpInstructions,
  seed: number,
): PrivatizedUpdate {
  checkInstructions(dp);
  const unclipped = clipToNorm(delta, dp.clipNorm).clipped ? 0 : 1;
  // A different stream from the one that shuffled the client's data.
  const noise = dp.seeded === true ? seededGaussian(seed ^ 0x5bd1e995) : secureGaussian();
  noise.addNoise(delta, dp.noiseStd);
  if (dp.countScale === undefined) return {};
  return { auxiliary: [dp.countScale * (unclipped + (dp.countNoiseStd ?? 0) * noise.normal())] };
}

/**
 * What stands between a client's gradient and the attacker — an honest-but-curious server that
 * follows the protocol and looks at everything it receives, in FedSGD (each client sends one SGD
 * step on one batch; the learning rate is public, so what the server holds is a gradient):
 *
 * - none:   the client's gradient on a small batch (1 image by default), as sent;
 * - batch:  the same client's gradient averaged over a large batch (64 by default);
 * - dp:     the client's update clipped to L2 norm C with Gaussian noise N(0, (z C)^2) added to every
 *           coordinate (the Gaussian mechanism), z calibrated to a stated (epsilon, delta) for this one
 *           release by the RDP accountant of src/privacy/dp;
 * - secagg: the server only learns the sum over many clients, each with its own image, produced by
 *           the real secure-aggregation protocol (runSecAggInProcess).
 */
import { epsilon as epsilonOf, noiseMultiplierFor } from '../dp/accountant.js';
import type { SecAggCrypto } from '../secagg/crypto-suite.js';
import { runSecAggInProcess } from '../secagg/in-process.js';
import type { Rng } from '../../util/rng.js';

export const DEFENSES = ['none', 'batch', 'dp', 'secagg'] as const;
export type DefenseName = (typeof DEFENSES)[number];

export function isDefense(name: string): name is DefenseName {
  return (DEFENSES as readonly string[]).includes(name);
}

/** One release (sampling rate 1, one step) of the Gaussian mechanism at this delta. */
export const DP_DELTA = 1e-5;

export interface DpCalibration {
  /** The target epsilon, and the epsilon the chosen z actually gives (<= the target). */
  targetEpsilon: number;
  epsilon: number;
  delta: number;
  noiseMultiplier: number;
}

/**
 * The smallest noise multiplier z for which one release of the Gaussian mechanism (sampling rate 1,
 * one step) is (epsilon, delta)-DP by the RDP accountant.
 */
export function calibrateDp(targetEpsilon: number, delta = DP_DELTA): DpCalibration {
  const query = { samplingRate: 1, steps: 1, delta };
  const noiseMultiplier = noiseMultiplierFor({ ...query, targetEpsilon });
  return {
    targetEpsilon,
    epsilon: epsilonOf({ ...query, noiseMultiplier }).epsilon,
    delta,
    noiseMultiplier,
  };
}

/** The update clipped to L2 norm `clipNorm`, plus N(0, (noiseMultiplier clipNorm)^2) per coordinate. */
export function clipAndNoise(
  update: Float32Array,
  o: { clipNorm: number; noiseMultiplier: number; rng: Rng },
): Float32Array {
  if (!(o.clipNorm > 0)) throw new RangeError(`dp: the clipping norm must be > 0, got ${o.clipNorm}`);
  if (!(o.noiseMultiplier >= 0))
    throw new RangeError(`dp: the noise multiplier must be >= 0, got ${o.noiseMultiplier}`);
  let sq = 0;
  for (let i = 0; i < update.length; i++) sq += update[i] * update[i];
  const factor = Math.min(1, o.clipNorm / Math.sqrt(sq));
  const sigma = o.noiseMultiplier * o.clipNorm;
  // Seeded for reproducible experiments; a deployment must draw this noise from a CSPRNG.
  return Float32Array.from(update, (v) => v * factor + sigma * o.rng.normal());
}

export interface SecureSum {
  /** The sum the server learns (within errorBound per coordinate of the exact sum). */
  sum: Float32Array;
  survivors: number;
  errorBound: number;
  /** The clipping range the clients agreed on, and the quantization bits. */
  range: number;
  bits: number;
  neighbours: number;
}

/**
 * Runs one round of secure aggregation over the clients' updates and returns what the server
 * learns. The clipping range defaults to the largest |value| of any update, so nothing is clipped
 * and the attacker gets the exact sum up to quantization — the best case for the attacker (a
 * deployment fixes the range in advance).
 */
export async function secureSum(
  updates: readonly Float32Array[],
  o: { crypto: SecAggCrypto; range?: number; seed?: number },
): Promise<SecureSum> {
  if (updates.length < 2)
    throw new RangeError(`secagg: secure aggregation needs at least 2 clients, got ${updates.length}`);
  let range = o.range;
  if (range === undefined) {
    range = 0;
    for (const u of updates) for (let i = 0; i < u.length; i++) range = Math.max(range, Math.abs(u[i]));
    if (!(range > 0)) range = 1;
  }
  const report = await runSecAggInProcess({ vectors: updates, range, seed: o.seed, crypto: o.crypto });
  return {
    sum: report.sum,
    survivors: report.survivors.length,
    errorBound: report.errorBound,
    range,
    bits: report.params.quantization.bits,
    neighbours: report.params.neighbours,
  };
}

/**
 * L2 clipping, the step that bounds one client's (or one example's) influence so that Gaussian
 * noise of a known scale hides it.
 */
import { l2Norm } from '../../tensor/math.js';

export interface ClipResult {
  /** The L2 norm before clipping. */
  norm: number;
  /** Whether the vector was scaled down (norm > clipNorm). */
  clipped: boolean;
}

/** Scales `x` in place to L2 norm at most `clipNorm`. */
export function clipToNorm(x: Float32Array, clipNorm: number): ClipResult {
  if (!(clipNorm > 0 && Number.isFinite(clipNorm)))
    throw new RangeError(`clip norm must be a positive finite number, got ${clipNorm}`);
  const norm = l2Norm(x);
  if (!(norm > clipNorm)) return { norm, clipped: false };
  // float32 rounding can leave the result a hair above clipNorm; shrink the factor by one ulp-ish.
  const factor = (clipNorm / norm) * (1 - 1e-7);
  for (let i = 0; i < x.length; i++) x[i] *= factor;
  return { norm, clipped: true };
}

/** The factor min(1, clipNorm / norm) that clipping applies to a vector of this norm. */
export function clipFactor(norm: number, clipNorm: number): number {
  return norm > clipNorm ? (clipNorm / norm) * (1 - 1e-7) : 1;
}

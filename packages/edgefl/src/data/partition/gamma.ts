/**
 * Gamma and Dirichlet variates on the seeded `Rng`, for the Dirichlet and quantity-skew partitioners.
 *
 * Gamma(shape a >= 1) uses Marsaglia & Tsang, "A simple method for generating gamma variables"
 * (ACM TOMS 26(3), 2000): squeeze-and-reject on a cubed normal, about 1.05 normals per variate.
 * For a < 1 it uses their boost, Gamma(a) = Gamma(a + 1) · U^(1/a).
 *
 * Dirichlet draws with small concentration (alpha ≈ 0.01, common in non-IID studies) make U^(1/a)
 * underflow to 0 for every component, and normalizing all zeros gives NaN. So the Dirichlet sampler
 * works with log-Gamma variates and normalizes after subtracting the largest log: the largest
 * component is then exactly 1 before normalizing, and the result is always a proper distribution.
 */
import type { Rng } from '../../util/rng.js';

/** log of a Gamma(shape, 1) variate; finite even when the variate itself would underflow to 0. */
export function sampleLogGamma(rng: Rng, shape: number): number {
  if (!Number.isFinite(shape) || shape <= 0)
    throw new RangeError(`sampleLogGamma: shape must be a finite number > 0, got ${shape}`);
  if (shape < 1) {
    // 1 - uniform() lies in (0, 1], so its log is finite.
    return Math.log(marsagliaTsang(rng, shape + 1)) + Math.log(1 - rng.uniform()) / shape;
  }
  return Math.log(marsagliaTsang(rng, shape));
}

/** A Gamma(shape, scale) variate: mean shape·scale, variance shape·scale². */
export function sampleGamma(rng: Rng, shape: number, scale = 1): number {
  if (!Number.isFinite(scale) || scale <= 0)
    throw new RangeError(`sampleGamma: scale must be a finite number > 0, got ${scale}`);
  return Math.exp(sampleLogGamma(rng, shape)) * scale;
}

/**
 * A draw from the symmetric Dirichlet Dir(alpha, ..., alpha) over k components, written into `out`
 * (allocated when absent): non-negative, summing to 1.
 */
export function sampleDirichlet(rng: Rng, alpha: number, k: number, out = new Float64Array(k)): Float64Array {
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`sampleDirichlet: k must be an integer >= 1, got ${k}`);
  if (out.length !== k) throw new RangeError(`sampleDirichlet: out has ${out.length} entries, expected ${k}`);
  let max = -Infinity;
  for (let i = 0; i < k; i++) {
    out[i] = sampleLogGamma(rng, alpha);
    if (out[i] > max) max = out[i];
  }
  let sum = 0;
  for (let i = 0; i < k; i++) {
    out[i] = Math.exp(out[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < k; i++) out[i] /= sum;
  return out;
}

/** Marsaglia–Tsang for shape >= 1. */
function marsagliaTsang(rng: Rng, shape: number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    let v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const u = rng.uniform();
    const x2 = x * x;
    // The cheap squeeze accepts ~98% of candidates without a logarithm.
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

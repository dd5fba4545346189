/**
 * The case quantization-aware fine-tuning is tested and benchmarked on (not part of the library): a
 * model post-training int8 hurts, built on purpose — an MLP with one hidden unit scaled up k-fold
 * (its incoming weights and bias ×k, its outgoing weights ÷k). ReLU is positively homogeneous, so
 * the float model computes the same function, but that one unit stretches the hidden activation's
 * range k-fold (one uint8 scale for the whole tensor leaves the other units a level or two) and the
 * layer's per-tensor int8 weight scale with it (the other units' weights round to zero).
 */
import type { ParameterSet } from '../../packages/edgefl/src/tensor/parameters.js';

/**
 * `first` and `second` name consecutive dense layers (e.g. 'dense_1' and 'dense_3' of the zoo's
 * 2NN); dense weights are [units, inputs]. Returns new parameters.
 */
export function withOutlierUnit(
  params: ParameterSet,
  first: string,
  second: string,
  unit: number,
  k: number,
): ParameterSet {
  const out = params.withValues(params.values);
  const units = out.view(`${first}.bias`).length;
  const w1 = out.view(`${first}.weight`);
  const inputs = w1.length / units;
  for (let i = 0; i < inputs; i++) w1[unit * inputs + i] *= k;
  out.view(`${first}.bias`)[unit] *= k;
  const w2 = out.view(`${second}.weight`);
  for (let r = 0; r < w2.length / units; r++) w2[r * units + unit] /= k;
  return out;
}

/**
 * The zoo 2NN's outlier: a hidden unit of its first layer ×1000 — unit 3 by default (as
 * quantize/outlier.test.ts); a unit that is rarely active stretches the activation range little.
 */
export const outlierMlp = (params: ParameterSet, unit = 3) =>
  withOutlierUnit(params, 'dense_1', 'dense_3', unit, 1000);

/** The hidden unit of the 2NN's first layer with the largest mean activation on `images` ([n, 784]). */
export function mostActiveUnit(params: ParameterSet, images: Float32Array): number {
  const w = params.view('dense_1.weight');
  const b = params.view('dense_1.bias');
  const n = images.length / 784;
  let best = 0;
  let bestMean = -Infinity;
  for (let j = 0; j < b.length; j++) {
    let total = 0;
    for (let s = 0; s < n; s++) {
      let h = b[j];
      for (let i = 0; i < 784; i++) h += w[j * 784 + i] * images[s * 784 + i];
      total += Math.max(h, 0);
    }
    if (total / n > bestMean) [best, bestMean] = [j, total / n];
  }
  return best;
}

/**
 * Fixed-point encoding of float updates into the ring Z_{2^32} where masks live.
 *
 * A value x is clipped to [-range, range] and mapped to one of L = 2^bits levels:
 *
 *     q = round((x + range) / step),   step = 2 * range / (L - 1),   q in [0, L - 1].
 *
 * Summing m encoded vectors in Z_{2^32} is exact as long as m * (L - 1) < 2^32 (checked when the round
 * is set up), and the sum decodes as  sum_q * step - m * range.
 *
 * Error bound, per coordinate of the decoded sum of m clipped inputs:
 *   - rounding 'nearest':    |error| <= m * step / 2
 *   - rounding 'stochastic': |error| <  m * step, and the error has mean zero (unbiased)
 * plus the float32 rounding of the result and float64 slack, together below m * range * 2^-23.
 * Clipping is not counted: values outside [-range, range] are moved to the boundary on purpose.
 *
 * A weighted sum is the caller multiplying its vector by its weight before encoding; the range must
 * then cover weight * value.
 */
import { SecAggError } from './errors.js';

export type Rounding = 'nearest' | 'stochastic';

export interface Quantization {
  /** Clipping bound: inputs are clipped to [-range, range]. */
  readonly range: number;
  /** log2 of the number of levels. */
  readonly bits: number;
  readonly rounding: Rounding;
}

export const RING_MODULUS = 2 ** 32;

export function levels(q: Quantization): number {
  return 2 ** q.bits;
}

export function quantizationStep(q: Quantization): number {
  return (2 * q.range) / (levels(q) - 1);
}

/** The most bits per value that still let `clients` encoded vectors add up without wrapping. */
export function maxBitsFor(clients: number): number {
  if (!Number.isInteger(clients) || clients < 1)
    throw new RangeError(`clients must be a positive integer, got ${clients}`);
  return Math.floor(Math.log2(Math.floor((RING_MODULUS - 1) / clients) + 1));
}

export function checkQuantization(q: Quantization, clients: number): void {
  if (!(Number.isFinite(q.range) && q.range > 0)) {
    throw new SecAggError(
      'invalid-params',
      'setup',
      `quantization range must be a finite number > 0, got ${q.range}`,
    );
  }
  if (!Number.isInteger(q.bits) || q.bits < 1 || q.bits > 32) {
    throw new SecAggError(
      'invalid-params',
      'setup',
      `quantization bits must be an integer in [1, 32], got ${q.bits}`,
    );
  }
  if (q.rounding !== 'nearest' && q.rounding !== 'stochastic') {
    throw new SecAggError(
      'invalid-params',
      'setup',
      `rounding must be 'nearest' or 'stochastic', got '${q.rounding}'`,
    );
  }
  const top = clients * (levels(q) - 1);
  if (top > RING_MODULUS - 1) {
    throw new SecAggError(
      'invalid-params',
      'setup',
      `${clients} clients x ${levels(q) - 1} (2^${q.bits} - 1 levels) = ${top} does not fit the ring 2^32: ` +
        `the sum would wrap; use bits <= ${maxBitsFor(clients)}`,
    );
  }
}

/** Upper bound on |decoded sum - sum of clipped inputs| per coordinate, for a sum of `count` vectors. */
export function sumErrorBound(q: Quantization, count: number): number {
  const perValue = q.rounding === 'nearest' ? 0.5 : 1;
  return count * (perValue * quantizationStep(q) + q.range * 2 ** -23);
}

export interface QuantizeReport {
  /** How many values were outside [-range, range] and clipped. */
  readonly clipped: number;
}

/**
 * Encode `input` into `out` (same length). For stochastic rounding, `uniformWords` supplies one fresh
 * random 32-bit word per value (from a CSPRNG-keyed stream). Non-finite values are refused: NaN has no
 * place in a sum, and an infinity means something upstream already went wrong. `indexOffset` only
 * shifts the index named in that error, for callers that encode a long vector chunk by chunk.
 */
export function quantizeInto(
  input: Float32Array,
  out: Uint32Array,
  q: Quantization,
  uniformWords?: Uint32Array,
  indexOffset = 0,
): QuantizeReport {
  if (out.length !== input.length)
    throw new RangeError(`quantize: output length ${out.length} != input ${input.length}`);
  if (q.rounding === 'stochastic' && (!uniformWords || uniformWords.length < input.length)) {
    throw new RangeError('quantize: stochastic rounding needs one random word per value');
  }
  const range = q.range;
  const inverseStep = 1 / quantizationStep(q);
  const n = input.length;
  let clipped = 0;
  // The loops stay free of calls and closures: this runs over every parameter of every client.
  if (q.rounding === 'nearest') {
    for (let i = 0; i < n; i++) {
      let x = input[i];
      if (!(x >= -range && x <= range)) {
        if (x !== x || x === Infinity || x === -Infinity) throw nonFinite(x, i + indexOffset);
        x = x < 0 ? -range : range;
        clipped++;
      }
      // (x + range) * inverseStep is in [0, L - 1]; +0.5 then truncation rounds half up.
      out[i] = ((x + range) * inverseStep + 0.5) >>> 0;
    }
  } else {
    const words = uniformWords!;
    const top = levels(q) - 1;
    for (let i = 0; i < n; i++) {
      let x = input[i];
      if (!(x >= -range && x <= range)) {
        if (x !== x || x === Infinity || x === -Infinity) throw nonFinite(x, i + indexOffset);
        x = x < 0 ? -range : range;
        clipped++;
      }
      const v = (x + range) * inverseStep;
      const floor = Math.floor(v);
      // Round up with probability equal to the fractional part (word * 2^-32 is uniform in [0, 1)).
      const up = words[i] * 2.3283064365386963e-10 < v - floor ? 1 : 0;
      out[i] = Math.min(floor + up, top);
    }
  }
  return { clipped };
}

function nonFinite(x: number, index: number): SecAggError {
  return new SecAggError(
    'invalid-input',
    'masked-input',
    `input value at index ${index} is ${x}, not a finite number`,
  );
}

/** Decode the ring sum of `count` encoded vectors back to floats. */
export function dequantizeSum(
  sum: Uint32Array,
  count: number,
  q: Quantization,
  out = new Float32Array(sum.length),
) {
  const step = quantizationStep(q);
  const offset = count * q.range;
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] * step - offset;
  return out;
}

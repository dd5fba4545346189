/**
 * IEEE 754 binary16 ("half") conversions, exact and round-to-nearest-even, without relying on
 * Float16Array (not in Node 20 or most browsers yet).
 *
 * Half has 1 sign bit, 5 exponent bits (bias 15) and 10 fraction bits: largest finite 65504,
 * smallest normal 2^-14 ≈ 6.1e-5, smallest subnormal 2^-24 ≈ 6.0e-8, relative precision 2^-11.
 */

export const HALF_MAX = 65504;

/**
 * The half bit pattern nearest to the float32 with bits `f` (round to nearest, ties to even),
 * through subnormals. Beyond the half range: ±Infinity, as IEEE says, or with `saturate` the largest
 * finite half ±65504. Infinities stay infinities and NaN stays NaN (quiet) either way.
 */
export function float32BitsToHalf(f: number, saturate = false): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  const fraction = f & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (fraction !== 0 ? 0x200 | (fraction >>> 13) : 0);
  const e = exponent - 127 + 15; // the half exponent field, if representable
  if (e >= 0x1f) return sign | (saturate ? 0x7bff : 0x7c00);
  if (e <= 0) {
    // Subnormal half (or zero): the value in units of 2^-24 is the 24-bit significand shifted right
    // by 14 - e. Below 2^-25 (e < -10) even the smallest subnormal is more than half an ulp away.
    if (e < -10) return sign;
    const significand = fraction | 0x800000;
    const shift = 14 - e;
    const kept = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    // Rounding up from 0x3ff carries into the exponent field, giving the smallest normal: correct.
    return sign | (kept + (rest > halfway || (rest === halfway && (kept & 1) === 1) ? 1 : 0));
  }
  let h = (e << 10) | (fraction >>> 13);
  const rest = fraction & 0x1fff;
  // A carry out of the fraction increments the exponent, which is the right result (and may reach Inf).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  if (h >= 0x7c00) return sign | (saturate ? 0x7bff : 0x7c00);
  return sign | h;
}

/** The value of a half bit pattern, exactly (every half is a float32). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

let table: Float32Array | undefined;

/** All 65,536 halves as float32, built on first use (256 KB): decoding is then one lookup a value. */
export function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfToNumber(h);
  }
  return table;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** Nearest half to a number (rounded to float32 first), as bits. */
export function numberToHalf(x: number, saturate = false): number {
  scratch[0] = x;
  return float32BitsToHalf(scratchBits[0], saturate);
}

/**
 * 8-bit unbiased stochastic quantization, one byte a value.
 *
 * The update is cut into blocks of `blockSize` values; each block sends its minimum a and maximum b
 * (float32) and every value x as one of the 256 evenly spaced levels a + j·Δ, Δ = (b − a)/255,
 * rounded stochastically: up to the level above with probability equal to x's fractional position
 * between the two levels, else down. This is the stochastic k-level quantizer of Suresh, Yu, Kumar &
 * McMahan, "Distributed Mean Estimation with Limited Communication" (ICML 2017) with k = 256, and
 * the stochastic rounding of QSGD (Alistarh, Grubic, Li, Tomioka & Vojnovic, NeurIPS 2017), whose
 * levels it scales by the block range instead of the vector's norm: with 256 levels the range is a
 * far tighter scale than the norm, and blocks follow the different scales of a model's layers.
 *
 * Unbiased: E[Q(x)] = x. Variance, for x between levels l and l + Δ: (l + Δ − x)(x − l) ≤ Δ²/4,
 * so a block of B values has E‖Q(x) − x‖² ≤ B·(b − a)²/(4·255²) ≤ B·‖x‖²/(2·255²) (Suresh et al.,
 * Theorem 2, since (b − a)² ≤ 2‖x‖²). Averaging m clients' independent quantizations divides this by m.
 * The decoded value is rounded to float32, an error of at most 2^-24 relative, negligible next to Δ.
 *
 * Randomness comes from the Rng given to encode (32 random bits per value, see random-bits.ts, so a
 * rounding probability is exact to 2^-32), and a client seeded per round reproduces its encoding exactly. Non-finite values cannot be placed on a grid: encode
 * refuses them.
 *
 * Wire format after the header: blockSize (uint32 LE), then min and max of each block (float32 LE
 * pairs), then one byte per value. Size: 12 + 8·ceil(n / blockSize) + n bytes.
 */
import {
  CodecError,
  decodeTarget,
  encoded,
  requireFinite,
  type EncodeOptions,
  type Encoded,
  type UpdateCodec,
} from './codec.js';
import { checkHeader, checkSize, HEADER_BYTES, writeHeader } from './header.js';
import { readFloat32LE, writeFloat32LE } from './little-endian.js';
import { RandomBits } from './random-bits.js';

export interface Qsgd8Options {
  /** Values sharing one min/max (default 512: 1.6% overhead for the 8 bytes of range). */
  blockSize?: number;
}

const LEVELS = 255;
const TWO_TO_MINUS_32 = 2 ** -32;

export function qsgd8Codec(options: Qsgd8Options = {}): UpdateCodec {
  const { blockSize = 512 } = options;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 0xffffffff)
    throw new RangeError(`qsgd8: blockSize must be a positive integer, got ${blockSize}`);
  const sizeFor = (n: number, block: number) => HEADER_BYTES + 4 + 8 * Math.ceil(n / block) + n;

  return {
    name: 'qsgd8',
    maxEncodedBytes: (length) => sizeFor(length, blockSize),
    encode(delta: Float32Array, { rng }: EncodeOptions = {}): Encoded {
      if (!rng)
        throw new Error(
          'qsgd8: encode needs options.rng, a seeded Rng (seed it per client and round), for its stochastic rounding',
        );
      requireFinite('qsgd8', delta);
      const n = delta.length;
      const blocks = Math.ceil(n / blockSize);
      const bytes = new Uint8Array(sizeFor(n, blockSize));
      writeHeader(bytes, 'qsgd8', n);
      new DataView(bytes.buffer).setUint32(HEADER_BYTES, blockSize, true);
      const ranges = new Float32Array(2 * blocks);
      const codes = bytes.subarray(HEADER_BYTES + 4 + 8 * blocks);
      const bits = new RandomBits(rng);
      const uniforms = new Uint32Array(Math.min(blockSize, n));
      for (let b = 0; b < blocks; b++) {
        const start = b * blockSize;
        const end = Math.min(n, start + blockSize);
        let min = Infinity;
        let max = -Infinity;
        for (let i = start; i < end; i++) {
          if (delta[i] < min) min = delta[i];
          if (delta[i] > max) max = delta[i];
        }
        ranges[2 * b] = min;
        ranges[2 * b + 1] = max;
        quantizeBlock(delta, start, end, min, max, codes, bits.fill(uniforms));
      }
      writeFloat32LE(ranges, bytes, HEADER_BYTES + 4);
      return encoded(bytes, n);
    },
    decode(bytes: Uint8Array, length: number, out?: Float32Array): Float32Array {
      const target = decodeTarget('qsgd8', length, out);
      checkHeader(bytes, 'qsgd8', length);
      if (bytes.length < HEADER_BYTES + 4)
        checkSize('qsgd8', bytes, HEADER_BYTES + 4, 'the block size field');
      const block = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(HEADER_BYTES, true);
      if (block === 0) throw new CodecError('qsgd8: block size 0 is invalid');
      const blocks = Math.ceil(length / block);
      checkSize('qsgd8', bytes, sizeFor(length, block), `${length} values in blocks of ${block}`);
      const ranges = readFloat32LE(bytes, HEADER_BYTES + 4, new Float32Array(2 * blocks));
      const codes = bytes.subarray(HEADER_BYTES + 4 + 8 * blocks);
      for (let b = 0; b < blocks; b++) {
        const min = ranges[2 * b];
        const max = ranges[2 * b + 1];
        if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
          throw new CodecError(`qsgd8: block ${b} has an invalid range [${min}, ${max}]`);
        // The same step as the encoder computed, in the same double arithmetic.
        const step = (max - min) / LEVELS;
        const end = Math.min(length, (b + 1) * block);
        for (let i = b * block; i < end; i++) target[i] = min + codes[i] * step;
      }
      return target;
    },
  };
}

/** Stochastic rounding of delta[start, end) onto the 256 levels of [min, max], into codes. */
function quantizeBlock(
  delta: Float32Array,
  start: number,
  end: number,
  min: number,
  max: number,
  codes: Uint8Array,
  uniforms: Uint32Array,
): void {
  if (max === min) return; // one level; codes stay 0 and decode to min exactly
  const scale = LEVELS / (max - min);
  for (let i = start; i < end; i++) {
    // t in [0, 255]; floor(t + u) with u uniform on [0, 1) is floor(t) + 1 with probability frac(t).
    const t = (delta[i] - min) * scale;
    const code = Math.floor(t + uniforms[i - start] * TWO_TO_MINUS_32);
    codes[i] = code > LEVELS ? LEVELS : code;
  }
}

/**
 * IEEE half precision, 2 bytes a value: half the bytes of float32 at a relative error of at most
 * 2^-11 (half an ulp) for values within the half range.
 *
 * Values beyond ±65504 are clamped to ±65504 instead of becoming ±Infinity (IEEE overflow). An
 * update is a step, not a measurement: a very large step clamped is still a very large step in the
 * right direction (the server's clipping or norm checks treat it as such), while a single Infinity
 * poisons any weighted sum and gets the whole update refused. Genuine ±Infinity and NaN are not
 * clamped: they mean the client diverged, and they travel unchanged so the server refuses them.
 *
 * Magnitudes below 2^-24 ≈ 6e-8 round to zero and those below 2^-14 ≈ 6e-5 lose relative precision
 * (subnormals). Deltas of small models trained with small learning rates can live there; compare
 * with float32 (or use qsgd8, which scales per block) before relying on float16 for such updates.
 */
import { decodeTarget, encoded, type Encoded, type UpdateCodec } from './codec.js';
import { float32BitsToHalf, halfTable } from './half.js';
import { checkHeader, checkSize, HEADER_BYTES, writeHeader } from './header.js';
import { littleEndianHost, uint16LE, writeUint16LE } from './little-endian.js';

export function float16Codec(): UpdateCodec {
  return {
    name: 'float16',
    maxEncodedBytes: (length) => HEADER_BYTES + 2 * length,
    encode(delta: Float32Array): Encoded {
      const n = delta.length;
      const bits = new Uint32Array(delta.buffer, delta.byteOffset, n);
      const bytes = new Uint8Array(HEADER_BYTES + 2 * n);
      writeHeader(bytes, 'float16', n);
      // On little-endian hosts, write the halves straight into the output.
      const halves = littleEndianHost ? new Uint16Array(bytes.buffer, HEADER_BYTES, n) : new Uint16Array(n);
      for (let i = 0; i < n; i++) halves[i] = float32BitsToHalf(bits[i], true);
      if (!littleEndianHost) writeUint16LE(halves, bytes, HEADER_BYTES);
      return encoded(bytes, n);
    },
    decode(bytes: Uint8Array, length: number, out?: Float32Array): Float32Array {
      const target = decodeTarget('float16', length, out);
      checkHeader(bytes, 'float16', length);
      checkSize('float16', bytes, HEADER_BYTES + 2 * length, `${length} float16 values`);
      const halves = uint16LE(bytes, HEADER_BYTES, length);
      const table = halfTable();
      for (let i = 0; i < length; i++) target[i] = table[halves[i]];
      return target;
    },
  };
}

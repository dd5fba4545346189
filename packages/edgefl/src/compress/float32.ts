/**
 * The baseline: the update as it is, 4 bytes a value after the header. Lossless; NaN and
 * infinities travel unchanged, so the server's update validation sees and refuses them.
 */
import { decodeTarget, encoded, type Encoded, type UpdateCodec } from './codec.js';
import { checkHeader, checkSize, HEADER_BYTES, writeHeader } from './header.js';
import { readFloat32LE, writeFloat32LE } from './little-endian.js';

export function float32Codec(): UpdateCodec {
  return {
    name: 'float32',
    maxEncodedBytes: (length) => HEADER_BYTES + 4 * length,
    encode(delta: Float32Array): Encoded {
      const bytes = new Uint8Array(HEADER_BYTES + 4 * delta.length);
      writeHeader(bytes, 'float32', delta.length);
      writeFloat32LE(delta, bytes, HEADER_BYTES);
      return encoded(bytes, delta.length);
    },
    decode(bytes: Uint8Array, length: number, out?: Float32Array): Float32Array {
      const target = decodeTarget('float32', length, out);
      checkHeader(bytes, 'float32', length);
      checkSize('float32', bytes, HEADER_BYTES + 4 * length, `${length} float32 values`);
      return readFloat32LE(bytes, HEADER_BYTES, target);
    },
  };
}

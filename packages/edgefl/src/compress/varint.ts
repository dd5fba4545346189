/**
 * Unsigned LEB128 variable-length integers (7 bits a byte, high bit = more follows), as in
 * protobuf: small numbers — the gaps between sorted sparse indices — take one or two bytes
 * instead of four. Writing is the shared LEB128 encoder; reading is here, bounds-checked, because
 * its input comes off the wire.
 */
import { CodecError } from './codec.js';
import { writeUnsignedLeb128 } from '../util/leb128.js';

export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes a uint32 at bytes[offset] (varintLength(value) bytes of room); returns the offset after it. */
export function writeVarint(bytes: Uint8Array, offset: number, value: number): number {
  return writeUnsignedLeb128(bytes, offset, value);
}

/**
 * Reads a uint32 at bytes[offset]; the result is in `cursor.value`, the next offset in `cursor.offset`.
 * Refuses encodings that run past `end`, take more than 5 bytes, or exceed 2^32 − 1.
 */
export function readVarint(
  bytes: Uint8Array,
  cursor: { offset: number; value: number },
  end: number,
  what: string,
): void {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (cursor.offset >= end) throw new CodecError(`${what}: truncated variable-length integer`);
    const b = bytes[cursor.offset++];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (value > 0xffffffff)
        throw new CodecError(`${what}: variable-length integer ${value} exceeds 32 bits`);
      cursor.value = value;
      return;
    }
    scale *= 128;
  }
  throw new CodecError(`${what}: variable-length integer longer than 5 bytes`);
}

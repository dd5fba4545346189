/**
 * LEB128, the variable-length integer encoding of protobuf varints and of WebAssembly's binary
 * format: 7 bits a byte, least significant first, the high bit set on every byte but the last.
 * One encoder serves the wire format's sparse indices (compress/varint.ts) and the WebAssembly
 * assembler's sizes, indices and immediates (tensor/wasm/assembler.ts).
 */

/**
 * Writes `value`, an integer in [0, 2^32), as unsigned LEB128 at bytes[offset]; returns the offset
 * after it (at most 5 bytes).
 */
export function writeUnsignedLeb128(bytes: Uint8Array, offset: number, value: number): number {
  if (value >>> 0 !== value) throw new RangeError(`unsigned LEB128: ${value} is not an integer in [0, 2^32)`);
  while (value >= 0x80) {
    bytes[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  bytes[offset++] = value;
  return offset;
}

/**
 * Writes `value`, an integer in [-2^31, 2^31), as signed LEB128 at bytes[offset]; returns the offset
 * after it. The last byte's 0x40 bit is the sign, so 64 takes two bytes (0xc0 0x00): a lone 0x40
 * reads as -64.
 */
export function writeSignedLeb128(bytes: Uint8Array, offset: number, value: number): number {
  if ((value | 0) !== value)
    throw new RangeError(`signed LEB128: ${value} is not an integer in [-2^31, 2^31)`);
  for (;;) {
    const low = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (low & 0x40) === 0) || (value === -1 && (low & 0x40) !== 0)) {
      bytes[offset++] = low;
      return offset;
    }
    bytes[offset++] = low | 0x80;
  }
}

// The writers only ever see Uint8Arrays: writing into number[]s too would make their stores
// polymorphic, which made the wire format's writeVarint several times slower once a process had
// also assembled a WebAssembly module.
const scratch = new Uint8Array(5);

/** The unsigned LEB128 bytes of `value` (an integer in [0, 2^32)). */
export function unsignedLeb128(value: number): number[] {
  return Array.from(scratch.subarray(0, writeUnsignedLeb128(scratch, 0, value)));
}

/** The signed LEB128 bytes of `value` (an integer in [-2^31, 2^31)). */
export function signedLeb128(value: number): number[] {
  return Array.from(scratch.subarray(0, writeSignedLeb128(scratch, 0, value)));
}

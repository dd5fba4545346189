/** Damaged copies of an encoded file, for tests that a decoder refuses them. */

/**
 * The three ways a file goes bad on disk or in transit: one flipped bit in its header (at
 * `headerOffset`), one flipped bit near the end of its payload, and the file cut short by a byte.
 */
export function damagedCopies(bytes: Uint8Array, headerOffset: number): [string, Uint8Array][] {
  const header = bytes.slice();
  header[headerOffset] ^= 0x01;
  const payload = bytes.slice();
  payload[bytes.length - 40] ^= 0x10;
  return [
    ['a flipped header byte', header],
    ['a flipped payload byte', payload],
    ['a truncated file', bytes.subarray(0, bytes.length - 1)],
  ];
}

/** Where `text` first occurs in `bytes` (as UTF-8), to aim a flip at one field of a JSON header. */
export function offsetOf(bytes: Uint8Array, text: string): number {
  const at = new TextDecoder('latin1').decode(bytes).indexOf(text);
  if (at < 0) throw new Error(`'${text}' does not occur in the bytes`);
  return at;
}

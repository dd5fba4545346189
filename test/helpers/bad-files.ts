/** Files a decoder must refuse: damaged copies of good ones, and files of an older format version. */

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

/**
 * A file as edgefl wrote checkpoints and parameter files before they carried a checksum (format
 * version 1): magic, version, header length, JSON header, zeros to a multiple of 4, then `values`.
 */
export function versionOneFile(magic: string, header: unknown, values: Float32Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = (12 + json.length + 3) & ~3;
  const file = new Uint8Array(start + values.byteLength);
  file.set(new TextEncoder().encode(magic), 0);
  new DataView(file.buffer).setUint32(4, 1, true);
  new DataView(file.buffer).setUint32(8, json.length, true);
  file.set(json, 12);
  file.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), start);
  return file;
}

/**
 * Bulk little-endian reads and writes. The wire is little-endian; on little-endian hosts (all
 * mainstream ones) these are plain memory copies or views, with a DataView fallback elsewhere.
 * Received bytes may sit at any offset, so reads never assume alignment.
 */
export const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function writeFloat32LE(values: Float32Array, bytes: Uint8Array, offset: number): void {
  if (littleEndianHost)
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, values.byteLength);
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  }
}

/** Copies out.length float32 values from bytes[offset...] into out. */
export function readFloat32LE(bytes: Uint8Array, offset: number, out: Float32Array): Float32Array {
  if (littleEndianHost)
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(
      bytes.subarray(offset, offset + out.byteLength),
    );
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, out.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/** count uint16 values at bytes[offset...]: a view when possible, otherwise a copy. */
export function uint16LE(bytes: Uint8Array, offset: number, count: number): Uint16Array {
  const start = bytes.byteOffset + offset;
  if (littleEndianHost && start % 2 === 0) return new Uint16Array(bytes.buffer, start, count);
  const out = new Uint16Array(count);
  const view = new DataView(bytes.buffer, start, 2 * count);
  for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

export function writeUint16LE(values: Uint16Array, bytes: Uint8Array, offset: number): void {
  if (littleEndianHost)
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, values.byteLength);
    for (let i = 0; i < values.length; i++) view.setUint16(2 * i, values[i], true);
  }
}

/**
 * The binary form of a ParameterSet, for run folders (`parameters.eflp`) and the wire, in edgefl's
 * checked frame (src/util/checked-file.ts):
 *
 *   bytes 0-3   magic "EFLP"
 *   bytes 4-7   format version (uint32 LE) = 2
 *   bytes 8-11  header length H (uint32 LE)
 *   H bytes     UTF-8 JSON header: { entries: [{name, shape}], count }
 *   padding     zeros up to a multiple of 4
 *   4*count     float32 little-endian values
 *   32 bytes    SHA-256 of everything before
 *
 * Decoding verifies the checksum, then every field, and says what is wrong, so a corrupt, truncated
 * or foreign file is refused instead of loaded as garbage.
 */
import { ParameterSet } from './parameters.js';
import { decodeCheckedFile, encodeCheckedFile, type CheckedFileFormat } from '../util/checked-file.js';

const FORMAT: CheckedFileFormat = {
  magic: 'EFLP',
  version: 2,
  name: 'parameter file',
  error: (message) => new WireFormatError(message),
};
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

export function encodeParameters(p: ParameterSet): Uint8Array {
  const header = { entries: p.entries.map((e) => ({ name: e.name, shape: e.shape })), count: p.size };
  return encodeCheckedFile(FORMAT, header, 4 * p.size, (payload) => {
    if (littleEndian) payload.set(new Uint8Array(p.values.buffer, p.values.byteOffset, p.values.byteLength));
    else {
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      for (let i = 0; i < p.size; i++) view.setFloat32(4 * i, p.values[i], true);
    }
  });
}

export function decodeParameters(bytes: Uint8Array, source = 'parameters'): ParameterSet {
  const { header: h, payload } = decodeCheckedFile(FORMAT, bytes, source);
  const header = h as { entries: { name: string; shape: number[] }[]; count: number };
  if (!header || !Array.isArray(header.entries) || !Number.isInteger(header.count))
    throw new WireFormatError(`${source}: header lacks entries/count`);
  for (const e of header.entries)
    if (
      typeof e?.name !== 'string' ||
      !Array.isArray(e.shape) ||
      !e.shape.every((d) => Number.isInteger(d) && d >= 0)
    )
      throw new WireFormatError(`${source}: malformed entry ${JSON.stringify(e)}`);
  if (payload.length !== 4 * header.count)
    throw new WireFormatError(
      `${source}: ${payload.length} bytes of values, expected ${4 * header.count} for ${header.count} values`,
    );
  const layout = ParameterSet.layout(header.entries);
  const total = layout.reduce((a, e) => a + e.size, 0);
  if (total !== header.count)
    throw new WireFormatError(`${source}: entries hold ${total} values but count says ${header.count}`);
  const values = new Float32Array(header.count);
  if (littleEndian) new Uint8Array(values.buffer).set(payload);
  else {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    for (let i = 0; i < header.count; i++) values[i] = view.getFloat32(4 * i, true);
  }
  return new ParameterSet(layout, values);
}

/**
 * The binary form of a ParameterSet, for checkpoints and the wire:
 *
 *   bytes 0-3   magic "EFLP"
 *   bytes 4-7   format version (uint32 LE) = 1
 *   bytes 8-11  header length H (uint32 LE)
 *   H bytes     UTF-8 JSON header: { entries: [{name, shape}], count }
 *   padding     zeros up to a multiple of 4
 *   4*count     float32 little-endian values
 *
 * Decoding checks every field and says what is wrong, so a truncated or foreign file is refused
 * instead of loaded as garbage.
 */
import { ParameterSet } from './parameters.js';

const MAGIC = [0x45, 0x46, 0x4c, 0x50]; // "EFLP"
const VERSION = 1;
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

export function encodeParameters(p: ParameterSet): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ entries: p.entries.map((e) => ({ name: e.name, shape: e.shape })), count: p.size }),
  );
  const start = align4(12 + header.length);
  const out = new Uint8Array(start + 4 * p.size);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  if (littleEndian) out.set(new Uint8Array(p.values.buffer, p.values.byteOffset, p.values.byteLength), start);
  else for (let i = 0; i < p.size; i++) view.setFloat32(start + 4 * i, p.values[i], true);
  return out;
}

export function decodeParameters(bytes: Uint8Array, source = 'parameters'): ParameterSet {
  if (bytes.length < 12 || MAGIC.some((m, i) => bytes[i] !== m))
    throw new WireFormatError(`${source}: not an edgefl parameter file (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION)
    throw new WireFormatError(`${source}: format version ${version} is not supported (expected ${VERSION})`);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length)
    throw new WireFormatError(`${source}: truncated header (${bytes.length} bytes)`);
  let header: { entries: { name: string; shape: number[] }[]; count: number };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    throw new WireFormatError(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || !Array.isArray(header.entries) || !Number.isInteger(header.count))
    throw new WireFormatError(`${source}: header lacks entries/count`);
  for (const e of header.entries)
    if (
      typeof e?.name !== 'string' ||
      !Array.isArray(e.shape) ||
      !e.shape.every((d) => Number.isInteger(d) && d >= 0)
    )
      throw new WireFormatError(`${source}: malformed entry ${JSON.stringify(e)}`);
  const start = align4(12 + headerLength);
  const expected = start + 4 * header.count;
  if (bytes.length !== expected)
    throw new WireFormatError(
      `${source}: ${bytes.length} bytes, expected ${expected} for ${header.count} values`,
    );
  const layout = ParameterSet.layout(header.entries);
  const total = layout.reduce((a, e) => a + e.size, 0);
  if (total !== header.count)
    throw new WireFormatError(`${source}: entries hold ${total} values but count says ${header.count}`);
  const values = new Float32Array(header.count);
  if (littleEndian) new Uint8Array(values.buffer).set(bytes.subarray(start, expected));
  else for (let i = 0; i < header.count; i++) values[i] = view.getFloat32(start + 4 * i, true);
  return new ParameterSet(layout, values);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * The 8-byte header every encoded update starts with:
 *
 *   bytes 0-1  magic "EU" (edgefl update)
 *   byte  2    codec id (CODEC_IDS)
 *   byte  3    format version of that codec = 1
 *   bytes 4-7  number of values (uint32 little-endian)
 *
 * Eight bytes keep a float32 payload that follows at a 4-byte-aligned offset, so it can be viewed
 * rather than copied.
 */
import { CodecError } from './codec.js';

export const HEADER_BYTES = 8;
const MAGIC0 = 0x45; // 'E'
const MAGIC1 = 0x55; // 'U'
const VERSION = 1;

export const CODEC_IDS = { float32: 1, float16: 2, qsgd8: 3, topk: 4 } as const;
export type CodecFamily = keyof typeof CODEC_IDS;

function familyOf(id: number): string {
  const entry = Object.entries(CODEC_IDS).find(([, v]) => v === id);
  return entry ? entry[0] : `an unknown codec (id ${id})`;
}

/** Writes the header at the start of `bytes`. */
export function writeHeader(bytes: Uint8Array, family: CodecFamily, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff)
    throw new RangeError(`${family}: cannot encode ${length} values (at most 2^32 - 1)`);
  bytes[0] = MAGIC0;
  bytes[1] = MAGIC1;
  bytes[2] = CODEC_IDS[family];
  bytes[3] = VERSION;
  new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).setUint32(4, length, true);
}

/** Checks the header against the codec and the expected number of values. */
export function checkHeader(bytes: Uint8Array, family: CodecFamily, length: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${family}: expected a Uint8Array`);
  if (bytes.length < HEADER_BYTES)
    throw new CodecError(
      `${family}: ${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header (truncated?)`,
    );
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1)
    throw new CodecError(`${family}: not an edgefl update (bad magic bytes)`);
  if (bytes[2] !== CODEC_IDS[family])
    throw new CodecError(`${family}: these bytes were encoded by ${familyOf(bytes[2])}, not ${family}`);
  if (bytes[3] !== VERSION)
    throw new CodecError(`${family}: format version ${bytes[3]} is not supported (expected ${VERSION})`);
  const count = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getUint32(4, true);
  if (count !== length)
    throw new CodecError(`${family}: the update holds ${count} values, expected ${length}`);
}

/** Refuses a payload whose size is not the one the header implies. */
export function checkSize(family: CodecFamily, bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length !== expected)
    throw new CodecError(
      `${family}: ${bytes.length} bytes, expected ${expected} for ${what} (${bytes.length < expected ? 'truncated' : 'trailing bytes'})`,
    );
}

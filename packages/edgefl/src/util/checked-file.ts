/**
 * The frame shared by edgefl's binary files (checkpoints, parameter files):
 *
 *   magic (4 ASCII bytes) | version u32 LE | header length H u32 LE | H bytes UTF-8 JSON header
 *   | zeros up to a multiple of 4 | payload | SHA-256 of every byte before it (32 bytes)
 *
 * The checksum is what makes a file trustworthy: a length check catches a cut file, but a flipped
 * bit in a parameter, or in a header field that still parses, would otherwise load silently (a
 * resumed run that quietly starts from garbage). Decoding verifies it before reading any field
 * beyond magic and version, so nothing is ever interpreted from bytes that were not written.
 * SHA-256 comes from @noble/hashes by default, which is pure JavaScript, so this module stays
 * browser-safe; a platform with a native one (node:crypto, several times faster on a multi-megabyte
 * checkpoint written every round) passes it in.
 */
import { sha256 as portableSha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of some bytes (32 bytes out). */
export type Sha256 = (bytes: Uint8Array) => Uint8Array;

const CHECKSUM_BYTES = 32;
const PREFIX_BYTES = 12;

export interface CheckedFileFormat {
  /** Four ASCII characters that open every file of the format, e.g. "EFLC". */
  magic: string;
  /** The version written; it must be at least 2, the first version with a checksum. */
  version: number;
  /** What a file is called in messages: "checkpoint", "parameter file". */
  name: string;
  /** The format's own error type, so callers can tell its refusals apart. */
  error: (message: string) => Error;
}

/** Lays out a file of `format` and lets `fill` write its payload (4-byte aligned), then seals it. */
export function encodeCheckedFile(
  format: CheckedFileFormat,
  header: unknown,
  payloadBytes: number,
  fill: (payload: Uint8Array) => void,
  sha256: Sha256 = portableSha256,
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align4(PREFIX_BYTES + json.length);
  const out = new Uint8Array(start + payloadBytes + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = format.magic.charCodeAt(i);
  view.setUint32(4, format.version, true);
  view.setUint32(8, json.length, true);
  out.set(json, PREFIX_BYTES);
  fill(out.subarray(start, start + payloadBytes));
  const end = out.length - CHECKSUM_BYTES;
  out.set(sha256(out.subarray(0, end)), end);
  return out;
}

/**
 * Checks a file of `format` — magic, version, checksum, JSON header — and returns its parsed header
 * and its payload (a view into `bytes`). Every refusal names `source` and the reason.
 */
export function decodeCheckedFile(
  format: CheckedFileFormat,
  bytes: Uint8Array,
  source: string,
  sha256: Sha256 = portableSha256,
): { header: unknown; payload: Uint8Array } {
  const fail = (reason: string) => format.error(`${source}: ${reason}`);
  if (bytes.length < 8 || [...format.magic].some((c, i) => bytes[i] !== c.charCodeAt(0)))
    throw fail(`not an edgefl ${format.name} (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  // Version 1 files have no checksum. They are refused rather than read unverified: a file that
  // cannot be verified is exactly what let a corrupt checkpoint resume, and the formats were only
  // written by pre-release builds, so writing the file again is a small price for never loading one
  // that cannot be trusted. The message says so, so nobody takes it for damage.
  if (version === 1)
    throw fail(
      `${format.name} version 1 was written by an edgefl release before ${format.name}s carried a checksum, ` +
        `so it cannot be verified and is not read; write it again with this release (which reads version ${format.version})`,
    );
  if (version !== format.version)
    throw fail(
      `${format.name} version ${version} is not supported (this release reads version ${format.version})`,
    );
  const end = bytes.length - CHECKSUM_BYTES;
  if (end < PREFIX_BYTES || !sameBytes(sha256(bytes.subarray(0, end)), bytes.subarray(end)))
    throw fail(`checksum mismatch: the file is corrupt or truncated (${bytes.length} bytes)`);
  const headerLength = view.getUint32(8, true);
  const start = align4(PREFIX_BYTES + headerLength);
  if (start > end) throw fail(`the header length ${headerLength} runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch (e) {
    throw fail(`header is not valid JSON (${(e as Error).message})`);
  }
  return { header, payload: bytes.subarray(start, end) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

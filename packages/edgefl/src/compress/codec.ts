/**
 * Update codecs: how a client's update (a Float32Array delta, see fl/strategy.ts) is turned into bytes
 * for the wire, and back. Compression is a layer around any strategy: the client encodes its delta,
 * the server decodes it to a Float32Array of the same length and aggregates as usual.
 *
 * Every encoding starts with the same 8-byte header (see header.ts) and is checked on decode, so
 * bytes from another codec, a truncated upload or an update of the wrong model size are refused
 * with a CodecError that says which, instead of being decoded into garbage.
 */
import type { Rng } from '../util/rng.js';

/** Client-side memory a codec carries from one round to the next (top-k's error feedback). */
export interface CodecState {
  /** The codec family that made it ('topk'); a state only fits the same family. */
  readonly codec: string;
  /** What earlier rounds computed but did not send; added to the next delta before encoding. */
  readonly residual: Float32Array;
}

export interface EncodeOptions {
  /** The state returned by this client's previous encode, if any. Not modified. */
  state?: CodecState;
  /** Randomness for stochastic codecs (qsgd8). Seed it per client and round for reproducible runs. */
  rng?: Rng;
}

export interface Encoded {
  /** What goes on the wire. */
  bytes: Uint8Array;
  /** Keep on the client and pass to the next encode; absent for stateless codecs. */
  state?: CodecState;
  /** bytes.length, reported for communication accounting. */
  bytesSent: number;
  /** Size of the plain float32 update (4 bytes per value) divided by bytesSent. */
  compression: number;
}

export interface UpdateCodec {
  /** The spec codecByName accepts for this codec, e.g. 'topk:0.01'. */
  readonly name: string;
  /** Encodes a delta. Throws a CodecError for values the codec cannot represent (see each codec). */
  encode(delta: Float32Array, options?: EncodeOptions): Encoded;
  /**
   * Decodes an update of `length` values into `out` (allocated when absent; every entry written).
   * Throws a CodecError when the bytes are malformed, from another codec, or of another length.
   */
  decode(bytes: Uint8Array, length: number, out?: Float32Array): Float32Array;
  /** The most bytes an update of `length` values can take: a transport can refuse larger uploads unread. */
  maxEncodedBytes(length: number): number;
}

/** Malformed or unencodable data: the message names the codec and what is wrong. */
export class CodecError extends Error {
  override name = 'CodecError';
}

export function encoded(bytes: Uint8Array, length: number, state?: CodecState): Encoded {
  const result: Encoded = {
    bytes,
    bytesSent: bytes.length,
    compression: bytes.length === 0 ? 0 : (4 * length) / bytes.length,
  };
  if (state) result.state = state;
  return result;
}

/** Checks the decode target; returns it, or a new array of `length` when absent. */
export function decodeTarget(codec: string, length: number, out?: Float32Array): Float32Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff)
    throw new RangeError(`${codec}: length must be an integer in [0, 2^32), got ${length}`);
  if (out === undefined) return new Float32Array(length);
  if (out.length !== length)
    throw new RangeError(`${codec}: output buffer holds ${out.length} values, expected ${length}`);
  return out;
}

/** For codecs whose arithmetic needs finite inputs: refuses NaN and ±Infinity, naming the first. */
export function requireFinite(codec: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i]))
      throw new CodecError(`${codec}: cannot encode ${values[i]} at index ${i}; the update must be finite`);
}

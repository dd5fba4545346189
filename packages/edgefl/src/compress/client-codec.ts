/**
 * The update codec as the simulation applies it, apart from the thread plumbing so it can be tested
 * without workers: the client encodes its delta right after local training (in its worker), the
 * server decodes the bytes (on the main thread) into the delta its strategy aggregates. Isomorphic.
 */
import type { CodecState, Encoded, UpdateCodec } from './codec.js';
import { Rng } from '../util/rng.js';

/**
 * Mixed into the client's seed for the codec's randomness. The client seed already seeds local
 * training (batch shuffling); a salted seed gives the stochastic rounding a stream of its own, so
 * turning a codec on does not change what the client trains.
 */
const CODEC_STREAM = 0x636f6465; // 'code'

/** The codec's generator for one client in one round: a function of the client's seed only. */
export function codecRng(clientSeed: number): Rng {
  return new Rng((clientSeed ^ CODEC_STREAM) >>> 0);
}

/** The client side: encodes `delta` with the client's previous state, reproducibly from its seed. */
export function encodeClientUpdate(
  codec: UpdateCodec,
  delta: Float32Array,
  clientSeed: number,
  state?: CodecState,
): Encoded {
  return codec.encode(delta, { state, rng: codecRng(clientSeed) });
}

export type Decoded = { ok: true; delta: Float32Array } | { ok: false; reason: string };

/**
 * The server side: the delta of `length` values in `bytes`, or why it could not be decoded (a
 * truncated upload, another codec's bytes, an update for another model size...). Never throws for
 * bad bytes: what a client sends must not crash the server.
 */
export function decodeClientUpdate(codec: UpdateCodec, bytes: Uint8Array, length: number): Decoded {
  try {
    return { ok: true, delta: codec.decode(bytes, length) };
  } catch (e) {
    return {
      ok: false,
      reason: `could not decode its ${codec.name} update (${bytes.length} bytes): ${(e as Error).message}`,
    };
  }
}

/** `bytes` as a view of a buffer of its own, which can be transferred to another thread whole. */
export function ownBuffer(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
}

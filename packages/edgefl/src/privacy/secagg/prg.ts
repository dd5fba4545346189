/**
 * The mask PRG: a cryptographic stream cipher turned into a stream of 32-bit mask words.
 *
 * The algorithm is a *protocol parameter*, not a platform choice: a pairwise mask only cancels if
 * both clients (and the server, when it removes a dropped client's masks) expand the same seed with
 * the same cipher. So each algorithm has one definition and several implementations that must agree
 * bit for bit (tested):
 *
 * - `aes-256-ctr`: AES-256 in counter mode, IV = 16 zero bytes, the 128-bit counter block
 *   incremented big-endian (NIST SP 800-38A). Fast wherever AES-NI is reachable (node:crypto).
 * - `chacha20`: ChaCha20 of RFC 8439, 96-bit all-zero nonce, block counter from 0. Fast in plain
 *   JavaScript, so the better choice when browser clients take part.
 *
 * Mask words are the keystream bytes read as little-endian unsigned 32-bit integers. Every key is
 * used for exactly one stream (it is derived per pair, per client and per round), so the fixed
 * zero nonce is safe.
 */

export type PrgAlgorithm = 'aes-256-ctr' | 'chacha20';
export const PRG_ALGORITHMS: readonly PrgAlgorithm[] = ['aes-256-ctr', 'chacha20'];

/** A keystream positioned at some word; each `fill` continues where the last one stopped. */
export interface WordStream {
  /**
   * Overwrite `out` with the next `out.length` keystream words. Every call but the last must ask for
   * a multiple of 16 words (64 bytes), so that block-oriented implementations stay aligned.
   */
  fill(out: Uint32Array): void;
}

export interface MaskPrg {
  readonly algorithm: PrgAlgorithm;
  /** Which code runs it, e.g. 'node:crypto' or '@noble/ciphers', for reports. */
  readonly implementation: string;
  /** A stream keyed by a 32-byte secret, starting at word 0. */
  open(key: Uint8Array): WordStream;
}

export const PRG_KEY_BYTES = 32;
/** Words per call to a stream in the hot path: 64 KiB, small enough to stay in L2 cache. */
export const CHUNK_WORDS = 16384;

/** Word order: the keystream is read little-endian; typed arrays use host order. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new Error('secure aggregation: big-endian hosts are not supported (mask words are little-endian)');
  }
}

export function checkPrgKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== PRG_KEY_BYTES) {
    throw new RangeError(`mask PRG: key must be ${PRG_KEY_BYTES} bytes, got ${key?.length}`);
  }
}

export function checkPrgAlgorithm(algorithm: string): asserts algorithm is PrgAlgorithm {
  if (!PRG_ALGORITHMS.includes(algorithm as PrgAlgorithm)) {
    throw new RangeError(
      `mask PRG: unknown algorithm '${algorithm}', expected one of ${PRG_ALGORITHMS.join(', ')}`,
    );
  }
}

/**
 * Guards the "multiple of 16 words except the last call" contract, so a misuse fails loudly instead
 * of silently desynchronising the two ends of a pairwise mask.
 */
export class StreamPosition {
  private words = 0;
  private ended = false;

  advance(count: number): number {
    if (this.ended) throw new Error('mask PRG: stream already ended with a partial block');
    const start = this.words;
    this.words += count;
    if (count % 16 !== 0) this.ended = true;
    return start;
  }
}

/** The first `length` words of the stream for `key`, mostly for tests and known-answer checks. */
export function keystreamWords(prg: MaskPrg, key: Uint8Array, length: number): Uint32Array {
  const out = new Uint32Array(length);
  const stream = prg.open(key);
  for (let offset = 0; offset < length; offset += CHUNK_WORDS) {
    stream.fill(out.subarray(offset, Math.min(length, offset + CHUNK_WORDS)));
  }
  return out;
}

/**
 * Mask PRGs through node:crypto (OpenSSL: AES-NI for AES-256-CTR, SIMD ChaCha20). Node only; the
 * portable twin is prg-portable.ts and the two produce identical words (tested).
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import {
  assertLittleEndianHost,
  checkPrgAlgorithm,
  checkPrgKey,
  CHUNK_WORDS,
  StreamPosition,
  type MaskPrg,
  type PrgAlgorithm,
  type WordStream,
} from 'edgefl/internal/privacy/secagg/prg';

// OpenSSL encrypts a buffer of zeros to obtain the raw keystream. One shared, never-written buffer.
const ZEROS = new Uint8Array(CHUNK_WORDS * 4);
// node's 'chacha20' IV is a 4-byte little-endian block counter followed by the 12-byte nonce.
const ZERO_IV = new Uint8Array(16);

const OPENSSL_NAMES: Record<PrgAlgorithm, string> = { 'aes-256-ctr': 'aes-256-ctr', chacha20: 'chacha20' };

class NodeCipherStream implements WordStream {
  private readonly position = new StreamPosition();
  private readonly cipher: Cipher;

  constructor(algorithm: PrgAlgorithm, key: Uint8Array) {
    this.cipher = createCipheriv(OPENSSL_NAMES[algorithm], key, ZERO_IV);
  }

  fill(out: Uint32Array): void {
    this.position.advance(out.length);
    const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let offset = 0; offset < outBytes.length; offset += ZEROS.length) {
      const length = Math.min(ZEROS.length, outBytes.length - offset);
      // update() allocates its output; copying it into `out` is cheap next to the cipher itself.
      outBytes.set(this.cipher.update(ZEROS.subarray(0, length)), offset);
    }
  }
}

export function nodeMaskPrg(algorithm: PrgAlgorithm): MaskPrg {
  checkPrgAlgorithm(algorithm);
  assertLittleEndianHost();
  return {
    algorithm,
    implementation: 'node:crypto',
    open(key) {
      checkPrgKey(key);
      return new NodeCipherStream(algorithm, key);
    },
  };
}

/**
 * Mask PRGs in plain JavaScript (audited @noble/ciphers), for browsers and any runtime without
 * node:crypto. Same algorithms and same output as prg-node.ts.
 */
import { ctr } from '@noble/ciphers/aes.js';
import { chacha20 } from '@noble/ciphers/chacha.js';
import {
  assertLittleEndianHost,
  checkPrgAlgorithm,
  checkPrgKey,
  StreamPosition,
  type MaskPrg,
  type PrgAlgorithm,
  type WordStream,
} from './prg.js';

const ZERO_NONCE_12 = new Uint8Array(12);

class ChaCha20Stream implements WordStream {
  private readonly position = new StreamPosition();
  private zeros = new Uint8Array(0);

  constructor(private readonly key: Uint8Array) {}

  fill(out: Uint32Array): void {
    const start = this.position.advance(out.length);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    if (this.zeros.length < bytes.length) this.zeros = new Uint8Array(bytes.length);
    // XOR of zeros with the keystream is the keystream; 16 words make one 64-byte ChaCha block.
    chacha20(this.key, ZERO_NONCE_12, this.zeros.subarray(0, bytes.length), bytes, start / 16);
  }
}

class AesCtrStream implements WordStream {
  private readonly position = new StreamPosition();
  private zeros = new Uint8Array(0);

  constructor(private readonly key: Uint8Array) {}

  fill(out: Uint32Array): void {
    const start = this.position.advance(out.length);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    if (this.zeros.length < bytes.length) this.zeros = new Uint8Array(bytes.length);
    // The counter block for word `start` is the big-endian 128-bit number start / 4 (4 words a block).
    const iv = new Uint8Array(16);
    let block = start / 4;
    for (let i = 15; i >= 8 && block > 0; i--) {
      iv[i] = block % 256;
      block = Math.floor(block / 256);
    }
    ctr(this.key, iv).encrypt(this.zeros.subarray(0, bytes.length), bytes);
  }
}

export function portableMaskPrg(algorithm: PrgAlgorithm): MaskPrg {
  checkPrgAlgorithm(algorithm);
  assertLittleEndianHost();
  return {
    algorithm,
    implementation: '@noble/ciphers',
    open(key) {
      checkPrgKey(key);
      return algorithm === 'chacha20' ? new ChaCha20Stream(key.slice()) : new AesCtrStream(key.slice());
    },
  };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { CHUNK_WORDS, keystreamWords, PRG_ALGORITHMS, type MaskPrg, type PrgAlgorithm } from './prg.js';
import { nodeMaskPrg } from '@edgefl/node/internal/privacy/secagg/prg-node';
import { portableMaskPrg } from './prg-portable.js';

const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 3) & 0xff);

/** The reference: node:crypto called directly, keystream = encryption of zeros, read little-endian. */
function referenceWords(algorithm: PrgAlgorithm, k: Uint8Array, words: number): Uint32Array {
  const bytes = createCipheriv(algorithm, k, new Uint8Array(16)).update(new Uint8Array(4 * words));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: words }, (_, i) => view.getUint32(4 * i, true));
}

const implementations: [string, (a: PrgAlgorithm) => MaskPrg][] = [
  ['node:crypto', nodeMaskPrg],
  ['@noble/ciphers', portableMaskPrg],
];

for (const algorithm of PRG_ALGORITHMS) {
  for (const [name, make] of implementations) {
    test(`${algorithm} via ${name} matches node:crypto called directly (known answer)`, () => {
      const words = 2 * CHUNK_WORDS + 1000; // crosses chunk boundaries and ends on a partial one
      assert.deepEqual(keystreamWords(make(algorithm), key, words), referenceWords(algorithm, key, words));
    });

    test(`${algorithm} via ${name} continues a stream across uneven calls`, () => {
      const stream = make(algorithm).open(key);
      const out = new Uint32Array(16 * 7 + 16 * 100 + 5);
      stream.fill(out.subarray(0, 16 * 7));
      stream.fill(out.subarray(16 * 7, 16 * 107));
      stream.fill(out.subarray(16 * 107));
      assert.deepEqual(out, referenceWords(algorithm, key, out.length));
      assert.throws(() => stream.fill(new Uint32Array(16)), /already ended with a partial block/);
    });
  }
}

test('chacha20 keystream matches RFC 8439 A.1 test vector #1 (zero key, zero nonce, counter 0)', () => {
  const expected = '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7';
  for (const [, make] of implementations) {
    const words = keystreamWords(make('chacha20'), new Uint8Array(32), 8);
    const hex = Array.from(new Uint8Array(words.buffer), (b) => b.toString(16).padStart(2, '0')).join('');
    assert.equal(hex, expected);
  }
});

test('different keys give unrelated streams; bad keys and algorithms are refused', () => {
  const other = key.slice();
  other[0] ^= 1;
  const a = keystreamWords(nodeMaskPrg('aes-256-ctr'), key, 64);
  const b = keystreamWords(nodeMaskPrg('aes-256-ctr'), other, 64);
  assert.ok(a.some((w, i) => w !== b[i]));
  assert.throws(() => nodeMaskPrg('aes-256-ctr').open(new Uint8Array(16)), /key must be 32 bytes/);
  assert.throws(() => portableMaskPrg('rc4' as PrgAlgorithm), /unknown algorithm 'rc4'/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { RandomBits } from './random-bits.js';

test('RandomBits: reproducible under the Rng seed, different across seeds', () => {
  const a = new RandomBits(new Rng(1)).fill(new Uint32Array(100));
  assert.deepEqual(a, new RandomBits(new Rng(1)).fill(new Uint32Array(100)));
  assert.notDeepEqual(a, new RandomBits(new Rng(2)).fill(new Uint32Array(100)));
  // Successive fills continue the stream rather than repeat it.
  const bits = new RandomBits(new Rng(1));
  const first = bits.fill(new Uint32Array(50)).slice();
  assert.deepEqual(first, a.subarray(0, 50));
  assert.deepEqual(bits.fill(new Uint32Array(50)), a.subarray(50));
});

test('RandomBits: words are uniform (mean and every bit balanced within 4 standard errors)', () => {
  const n = 1 << 20;
  const words = new RandomBits(new Rng(7)).fill(new Uint32Array(n));
  let sum = 0;
  const ones = new Float64Array(32);
  for (const w of words) {
    sum += w / 2 ** 32;
    for (let b = 0; b < 32; b++) ones[b] += (w >>> b) & 1;
  }
  // U(0, 1) has sd sqrt(1/12); a fair bit has sd 1/2.
  assert.ok(Math.abs(sum / n - 0.5) < 4 * Math.sqrt(1 / 12 / n), `mean ${sum / n}`);
  for (let b = 0; b < 32; b++)
    assert.ok(Math.abs(ones[b] / n - 0.5) < (4 * 0.5) / Math.sqrt(n), `bit ${b}: ${ones[b] / n}`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import {
  chunkCount,
  combineShares,
  lagrangeAtZero,
  SHAMIR_PRIME,
  splitSecret,
  type Share,
} from './shamir.js';

function isPrime(n: number): boolean {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n > 1;
}

const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

test('the field modulus is the prime 2^26 - 5, so products of two elements are exact doubles', () => {
  assert.equal(SHAMIR_PRIME, 2 ** 26 - 5);
  assert.ok(isPrime(SHAMIR_PRIME));
  assert.ok((SHAMIR_PRIME - 1) ** 2 + SHAMIR_PRIME < 2 ** 53);
});

test('any t of n shares rebuild the secret', () => {
  const rng = new Rng(7);
  const n = 12;
  const t = 7;
  const xs = Array.from({ length: n }, (_, i) => 3 * i + 1);
  const shares = splitSecret(secret, t, xs);
  for (let trial = 0; trial < 25; trial++) {
    const subset = Array.from(rng.permutation(n).subarray(0, t), (i) => shares[i]);
    assert.deepEqual(combineShares(subset, t, secret.length), secret);
  }
  // More than t shares: the first t are used.
  assert.deepEqual(combineShares(shares, t, secret.length), secret);
});

test('t - 1 shares are refused, and are consistent with every possible secret', () => {
  const t = 5;
  const shares = splitSecret(secret, t, [1, 2, 3, 4, 5, 6]);
  assert.throws(() => combineShares(shares.slice(0, t - 1), t, 32), /4 shares given, 5 needed/);

  // Perfect hiding, constructively: for an arbitrary other secret, a t-th share exists that together
  // with the same t - 1 real shares rebuilds *that* secret. So t - 1 shares rule nothing out.
  const other = new Uint8Array(32).fill(0xab);
  const otherShares = splitSecret(other, 1, [1]); // degree 0: the chunks of `other` as field elements
  const known: Share[] = shares.slice(0, t - 1);
  const forgedX = 9;
  // Evaluate at forgedX the polynomial through (0, other) and the known shares: shift points by -forgedX.
  const shifted = [0, ...known.map((s) => s.x)].map((x) => (x - forgedX + SHAMIR_PRIME) % SHAMIR_PRIME);
  const lambdas = lagrangeAtZero(shifted);
  const ys = [otherShares[0].y, ...known.map((s) => s.y)];
  const forged = new Uint32Array(chunkCount(32));
  for (let c = 0; c < forged.length; c++) {
    let v = 0;
    for (let j = 0; j < ys.length; j++) v = (v + ((lambdas[j] * ys[j][c]) % SHAMIR_PRIME)) % SHAMIR_PRIME;
    forged[c] = v;
  }
  assert.deepEqual(combineShares([...known, { x: forgedX, y: forged }], t, 32), other);
  assert.notDeepEqual(other, secret);
});

test('secrets of any length round-trip, including a partial last chunk', () => {
  for (const length of [1, 2, 3, 4, 31, 33]) {
    const s = Uint8Array.from({ length }, (_, i) => 255 - i);
    assert.deepEqual(combineShares(splitSecret(s, 3, [10, 20, 30]), 3, length), s);
  }
});

test('fresh randomness: sharing the same secret twice gives different shares', () => {
  const a = splitSecret(secret, 3, [1, 2, 3]);
  const b = splitSecret(secret, 3, [1, 2, 3]);
  assert.notDeepEqual(a[1].y, b[1].y);
});

test('bad parameters and corrupted shares give clear errors', () => {
  assert.throws(() => splitSecret(secret, 4, [1, 2, 3]), /3 shareholders cannot meet threshold 4/);
  assert.throws(() => splitSecret(secret, 2, [1, 1, 2]), /appears twice/);
  assert.throws(() => splitSecret(secret, 2, [0, 1]), /share point x must be an integer/);
  assert.throws(() => splitSecret(secret, 0, [1, 2]), /threshold must be a positive integer/);
  const shares = splitSecret(secret, 2, [1, 2, 3]);
  assert.throws(() => combineShares([shares[0], shares[0]], 2, 32), /same point/);
  // A share replaced by random field elements rebuilds garbage, and a chunk out of range (here nearly
  // certain: the 2-byte last chunk is in range with probability 2^16 / p) reveals the corruption.
  const rng = new Rng(3);
  let caught = 0;
  for (let i = 0; i < 20; i++) {
    const s = splitSecret(secret, 2, [1, 2]);
    const bad = { x: s[1].x, y: s[1].y.map(() => rng.int(SHAMIR_PRIME)) };
    try {
      assert.notDeepEqual(combineShares([s[0], bad], 2, 32), secret);
    } catch (e) {
      assert.match((e as Error).message, /inconsistent/);
      caught++;
    }
  }
  assert.ok(caught >= 19, `corruption detected only ${caught}/20 times`);
});

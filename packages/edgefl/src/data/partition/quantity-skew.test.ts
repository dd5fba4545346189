import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { apportion } from './cut.js';
import { quantitySkew } from './quantity-skew.js';

function assertCoversOnce(parts: Uint32Array[], n: number): void {
  const held = new Uint8Array(n);
  for (const part of parts) for (const j of part) held[j]++;
  assert.ok(
    held.every((c) => c === 1),
    'every sample held exactly once',
  );
}

test('apportion: exact shares when they are whole, largest remainders otherwise, minSize first', () => {
  assert.deepEqual(apportion(10, [1, 1, 3]), [2, 2, 6]);
  assert.deepEqual(apportion(10, [1, 1, 1]), [4, 3, 3]); // 3.33 each; the tie goes to the first
  assert.deepEqual(apportion(10, [0, 0, 1], 2), [2, 2, 6]);
  assert.throws(() => apportion(5, [1, 1, 1], 2), /5 samples cannot give 3 parts 2 each/);
  assert.throws(() => apportion(5, [1, NaN]), /proportion 1 is NaN/);
});

test('quantity skew (Dirichlet): all samples once, sizes skewed, labels IID', () => {
  const n = 100000;
  const parts = quantitySkew(n, 50, { alpha: 0.5 }, new Rng(1));
  assertCoversOnce(parts, n);
  assert.ok(parts.every((p) => p.length >= 10));
  // Dir(0.5) shares over K = 50 clients are each Beta(0.5, 24.5): mean 1/K, coefficient of variation
  // sqrt((K - 1) / (K·alpha + 1)) = sqrt(49 / 26) ≈ 1.37; a balanced split would have ~0.
  const sizes = parts.map((p) => p.length);
  const mean = n / 50;
  const cv = Math.sqrt(sizes.reduce((a, s) => a + (s - mean) ** 2, 0) / 50) / mean;
  assert.ok(cv > 0.8 && cv < 2.2, `coefficient of variation ${cv}`);
  // Labels are IID: in the largest client, the fraction of even indices (a stand-in label) is 1/2
  // within 4 binomial standard deviations.
  const largest = parts.reduce((a, b) => (b.length > a.length ? b : a));
  const even = largest.filter((j) => j % 2 === 0).length / largest.length;
  assert.ok(Math.abs(even - 0.5) < 4 * Math.sqrt(0.25 / largest.length), `even fraction ${even}`);
});

test('quantity skew (log-normal): log sizes have standard deviation ~ sigma', () => {
  const n = 1000000;
  const clients = 1000;
  const sigma = 1;
  const parts = quantitySkew(n, clients, { sigma }, new Rng(2));
  assertCoversOnce(parts, n);
  // Sizes = 10 + share·(n − 10,000), shares ∝ exp(σZ): log sizes have sd σ up to rounding and the
  // minSize floor, which lifts only the smallest few (median share ~590 samples, so e.g. Z = −3 gives
  // 29 + 10): it lowers the sd by ~0.03. The sample sd of 1000 normals has SE σ/sqrt(2·1000) ≈ 0.022.
  const logs = parts.map((p) => Math.log(p.length));
  const m = logs.reduce((a, x) => a + x, 0) / clients;
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (clients - 1));
  assert.ok(Math.abs(sd - sigma) < 0.1, `sd of log sizes ${sd}`);
});

test('quantity skew: sigma = 0 and huge alpha are (nearly) balanced; minSize is always met', () => {
  const even = quantitySkew(1000, 10, { sigma: 0 }, new Rng(3));
  assert.ok(even.every((p) => p.length === 100));
  const nearly = quantitySkew(100000, 10, { alpha: 1e6 }, new Rng(3));
  // Dir(1e6) shares have relative sd sqrt(9 / 1e7) ≈ 0.001: sizes 10,000 ± ~10.
  assert.ok(nearly.every((p) => Math.abs(p.length - 10000) < 60));
  const tiny = quantitySkew(1000, 100, { alpha: 0.01 }, new Rng(3), { minSize: 5 });
  assertCoversOnce(tiny, 1000);
  assert.ok(tiny.every((p) => p.length >= 5));
});

test('quantity skew is reproducible under a seed and differs between seeds', () => {
  assert.deepEqual(
    quantitySkew(500, 5, { alpha: 1 }, new Rng(7)),
    quantitySkew(500, 5, { alpha: 1 }, new Rng(7)),
  );
  assert.notDeepEqual(
    quantitySkew(500, 5, { alpha: 1 }, new Rng(7)),
    quantitySkew(500, 5, { alpha: 1 }, new Rng(8)),
  );
});

test('quantity skew refuses bad arguments', () => {
  const rng = new Rng(1);
  assert.throws(
    () => quantitySkew(10, 20, { alpha: 1 }, rng),
    /10 samples cannot give each of 20 clients minSize=10/,
  );
  assert.throws(() => quantitySkew(10, 2, { alpha: -1 }, rng), /alpha must be a finite number > 0/);
  assert.throws(() => quantitySkew(10, 2, { sigma: Infinity }, rng), /sigma must be a finite number >= 0/);
  assert.throws(
    () => quantitySkew(10, 2, {} as { alpha: number }, rng),
    /skew must be \{ alpha \} or \{ sigma \}/,
  );
});

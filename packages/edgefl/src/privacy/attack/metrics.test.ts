/** PSNR and SSIM against closed forms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { gaussianTaps, mse, psnr, ssim } from './metrics.js';

const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

function randomImage(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform());
}

test('identical images: PSNR is infinite, SSIM exactly 1', () => {
  const a = randomImage(28 * 28, 1);
  assert.equal(psnr(a, Float32Array.from(a), 1), Infinity);
  assert.equal(ssim(a, Float32Array.from(a), { width: 28, height: 28, dataRange: 1, window: 7 }), 1);
  assert.equal(ssim(a, Float32Array.from(a), { width: 28, height: 28, dataRange: 1 }), 1);
});

test('a constant offset c: MSE c^2, PSNR 10 log10(R^2 / c^2)', () => {
  const a = randomImage(16 * 16, 2);
  for (const [c, range] of [
    [0.1, 1],
    [0.05, 1],
    [3, 255],
  ]) {
    const b = a.map((v) => v + c);
    // Float32 rounding of a + c: compare with a tolerance well below the effect measured.
    assert.ok(Math.abs(mse(a, b) - c * c) < 1e-6 * Math.max(1, c * c));
    const expected = 10 * Math.log10((range * range) / (c * c));
    assert.ok(Math.abs(psnr(a, b, range) - expected) < 1e-4, `c ${c}: ${psnr(a, b, range)} vs ${expected}`);
  }
  // 20 log10(1 / 0.1) = 20 dB exactly for an offset of a tenth of the range.
  assert.ok(Math.abs(psnr(new Float32Array(4), new Float32Array(4).fill(0.1), 1) - 20) < 1e-5);
});

test('constant images: SSIM is the luminance term (2 m1 m2 + C1) / (m1^2 + m2^2 + C1)', () => {
  for (const [m1, m2] of [
    [0.2, 0.5],
    [0.5, 0.5],
    [0, 1],
    [0.9, 0.1],
  ]) {
    const a = new Float32Array(12 * 12).fill(m1);
    const b = new Float32Array(12 * 12).fill(m2);
    const f1 = Math.fround(m1);
    const f2 = Math.fround(m2);
    const expected = (2 * f1 * f2 + C1) / (f1 * f1 + f2 * f2 + C1);
    const got = ssim(a, b, { width: 12, height: 12, dataRange: 1, window: 7 });
    assert.ok(Math.abs(got - expected) < 1e-9, `${m1} vs ${m2}: ${got}, closed form ${expected}`);
  }
});

test('one 7x7 window: SSIM of a checkerboard and its negative and offset versions, in closed form', () => {
  // a = m + d s with s = +-1 in a checkerboard. Under window weights w (summing to 1):
  // mu = m + d S with S = sum w s, and var = d^2 (1 - S^2) since s^2 = 1.
  const taps = gaussianTaps(7, 1.5);
  let s1 = 0;
  for (let i = 0; i < 7; i++) s1 += taps[i] * (i % 2 === 0 ? 1 : -1);
  const S = s1 * s1; // separable: sum over (i, j) of w_i w_j (-1)^(i + j)
  const [m, d] = [0.5, 0.3];
  const a = Float64Array.from(
    { length: 49 },
    (_, k) => m + d * (((k % 7) + Math.floor(k / 7)) % 2 === 0 ? 1 : -1),
  );
  const mu = m + d * S;
  const v = d * d * (1 - S * S);
  const opts = { width: 7, height: 7, dataRange: 1, window: 7 };

  // The negative image 1 - a: mu' = 1 - mu, same variance, covariance -v.
  const neg = a.map((x) => 1 - x);
  const negExpected =
    ((2 * mu * (1 - mu) + C1) * (-2 * v + C2)) / ((mu * mu + (1 - mu) ** 2 + C1) * (2 * v + C2));
  const negGot = ssim(a, neg, opts);
  assert.ok(negGot < 0, `a negatively correlated image has SSIM < 0, got ${negGot}`);
  assert.ok(Math.abs(negGot - negExpected) < 1e-9, `${negGot} vs closed form ${negExpected}`);

  // An offset image a + c: only the luminance term changes.
  const c = 0.2;
  const off = a.map((x) => x + c);
  const offExpected = (2 * mu * (mu + c) + C1) / (mu * mu + (mu + c) ** 2 + C1);
  assert.ok(Math.abs(ssim(a, off, opts) - offExpected) < 1e-9);

  // Half the contrast: cs = (2 * v/2 + C2) / (v + v/4 + C2), luminance 1 (same mean).
  const flat = a.map((x) => m + (x - m) / 2);
  const muF = m + (d / 2) * S;
  const flatExpected =
    ((2 * mu * muF + C1) * (2 * (v / 2) + C2)) / ((mu * mu + muF * muF + C1) * (v + v / 4 + C2));
  assert.ok(Math.abs(ssim(a, flat, opts) - flatExpected) < 1e-9);
});

test('SSIM is symmetric, at most 1, and falls as noise grows; PSNR falls by 6.02 dB when the error doubles', () => {
  const a = randomImage(28 * 28, 3);
  const rng = new Rng(4);
  const noise = Float32Array.from(a, () => rng.normal());
  const noisy = (s: number) => a.map((v, i) => v + s * noise[i]);
  const opts = { width: 28, height: 28, dataRange: 1, window: 7 };
  const values = [0.01, 0.05, 0.2, 0.5].map((s) => ssim(a, noisy(s), opts));
  for (let i = 1; i < values.length; i++) assert.ok(values[i] < values[i - 1], `SSIM ${values}`);
  assert.ok(values[0] < 1 && values[0] > 0.9);
  const b = noisy(0.1);
  assert.ok(Math.abs(ssim(a, b, opts) - ssim(b, a, opts)) < 1e-12);
  const drop = psnr(a, noisy(0.1), 1) - psnr(a, noisy(0.2), 1);
  assert.ok(Math.abs(drop - 20 * Math.log10(2)) < 1e-3, `drop ${drop}`);
});

test('bad arguments are refused with a message naming the problem', () => {
  const a = new Float32Array(100);
  assert.throws(() => psnr(a, new Float32Array(99), 1), /100 and 99 pixels/);
  assert.throws(() => psnr(a, a, 0), /dataRange must be > 0/);
  assert.throws(
    () => ssim(a, a, { width: 10, height: 10, dataRange: 1, window: 11 }),
    /does not fit a 10x10/,
  );
  assert.throws(() => ssim(a, a, { width: 10, height: 10, dataRange: 1, window: 4 }), /odd positive integer/);
  assert.throws(() => ssim(a, a, { width: 9, height: 10, dataRange: 1, window: 7 }), /not a 9x10 image/);
});

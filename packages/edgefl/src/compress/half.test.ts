import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { float32BitsToHalf, HALF_MAX, halfToNumber, numberToHalf } from './half.js';

test('every half value survives number -> half -> number exactly (NaNs stay NaN)', () => {
  for (let h = 0; h < 65536; h++) {
    const x = halfToNumber(h);
    if (Number.isNaN(x)) {
      assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0);
      assert.ok(Number.isNaN(halfToNumber(numberToHalf(x))));
    } else assert.equal(numberToHalf(x), h, `half 0x${h.toString(16)} = ${x}`);
  }
});

test('halfToNumber decodes the format exactly', () => {
  assert.equal(halfToNumber(0x3c00), 1);
  assert.equal(halfToNumber(0xc000), -2);
  assert.equal(halfToNumber(0x7bff), HALF_MAX);
  assert.equal(halfToNumber(0x0400), 2 ** -14); // smallest normal
  assert.equal(halfToNumber(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(halfToNumber(0x03ff), 1023 * 2 ** -24); // largest subnormal
  assert.equal(halfToNumber(0x3555), 1365 * 2 ** -12); // 0.333251953125, nearest half to 1/3
  assert.ok(Object.is(halfToNumber(0x8000), -0));
  assert.equal(halfToNumber(0xfc00), -Infinity);
});

/** Positive finite halves in increasing order: bit patterns 0..0x7bff are monotonic in value. */
const positive = Float64Array.from({ length: 0x7c00 }, (_, h) => halfToNumber(h));

/** The nearest half by search over all of them, ties to the even bit pattern: an independent oracle. */
function nearestHalf(x: number): number {
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  let lo = 0;
  let hi = positive.length - 1;
  if (a >= HALF_MAX) return sign | 0x7bff; // (saturating)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (positive[mid] <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - positive[lo];
  const dHi = positive[hi] - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

test('rounding matches a nearest-value search, within half an ulp, on random values of every scale', () => {
  const rng = new Rng(1);
  const f = new Float32Array(1);
  for (let i = 0; i < 100000; i++) {
    // Magnitudes from 2^-30 (below the subnormals) to 2^16 (the top binade), both signs.
    f[0] = (rng.uniform() < 0.5 ? -1 : 1) * 2 ** (rng.uniform() * 46 - 30);
    const x = f[0];
    const h = numberToHalf(x, true);
    assert.equal(h, nearestHalf(x), `x = ${x}`);
    const y = halfToNumber(h);
    // Half an ulp: 2^(e - 11) for |x| in [2^e, 2^(e+1)), and 2^-25 in the subnormal range.
    const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
    if (Math.abs(x) <= HALF_MAX) assert.ok(Math.abs(y - x) <= 2 ** (e - 11), `x = ${x}, half = ${y}`);
  }
});

test('ties round to even, including across the subnormal/normal boundary', () => {
  // 1 + 2^-11 is halfway between 1 (fraction 0, even) and 1 + 2^-10 (odd): rounds down.
  assert.equal(numberToHalf(1 + 2 ** -11), 0x3c00);
  // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): rounds up.
  assert.equal(numberToHalf(1 + 3 * 2 ** -11), 0x3c02);
  // Just above a tie rounds up.
  assert.equal(numberToHalf(1 + 2 ** -11 + 2 ** -20), 0x3c01);
  // Subnormal ties: 2.5 and 3.5 units of 2^-24 round to 2 and 4.
  assert.equal(numberToHalf(2.5 * 2 ** -24), 0x0002);
  assert.equal(numberToHalf(3.5 * 2 ** -24), 0x0004);
  // 1023.5 units rounds to 1024 units = the smallest normal.
  assert.equal(numberToHalf(1023.5 * 2 ** -24), 0x0400);
  // 2^-25 is exactly half the smallest subnormal: ties to 0; anything above rounds to it.
  assert.equal(numberToHalf(2 ** -25), 0x0000);
  assert.equal(numberToHalf(2 ** -25 * (1 + 2 ** -23)), 0x0001);
  assert.equal(numberToHalf(-(2 ** -26)), 0x8000);
});

test('special values: signed zeros, infinities, NaN, overflow to Inf or saturation', () => {
  assert.equal(numberToHalf(0), 0x0000);
  assert.equal(numberToHalf(-0), 0x8000);
  assert.equal(numberToHalf(Infinity), 0x7c00);
  assert.equal(numberToHalf(-Infinity, true), 0xfc00); // infinities are not clamped
  const nan = numberToHalf(NaN, true);
  assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, 'NaN stays NaN');
  // NaN payload only in low float32 bits must not turn into Infinity.
  const lowPayloadNaN = float32BitsToHalf(0x7f800001);
  assert.ok((lowPayloadNaN & 0x3ff) !== 0);
  // 65504 is the largest half; 65520 = 65504 + half an ulp is a tie that rounds (to even) to Inf.
  assert.equal(numberToHalf(65504), 0x7bff);
  assert.equal(numberToHalf(65519), 0x7bff);
  assert.equal(numberToHalf(65520), 0x7c00);
  assert.equal(numberToHalf(-1e6), 0xfc00);
  assert.equal(numberToHalf(65520, true), 0x7bff);
  assert.equal(numberToHalf(-1e30, true), 0xfbff);
});

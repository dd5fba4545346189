import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import {
  checkQuantization,
  dequantizeSum,
  maxBitsFor,
  quantizationStep,
  quantizeInto,
  sumErrorBound,
  type Quantization,
} from './quantize.js';

function encodeSum(vectors: Float32Array[], q: Quantization, rng?: Rng): Uint32Array {
  const sum = new Uint32Array(vectors[0].length);
  for (const v of vectors) {
    const out = new Uint32Array(v.length);
    const words = rng ? Uint32Array.from({ length: v.length }, () => rng.nextUint32()) : undefined;
    quantizeInto(v, out, q, words);
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] + out[i]) >>> 0;
  }
  return sum;
}

test('the decoded sum is within the stated bound, for nearest and stochastic rounding', () => {
  const rng = new Rng(1);
  const n = 20;
  const vectors = Array.from({ length: n }, () =>
    Float32Array.from({ length: 2000 }, () => rng.normal() * 0.7),
  );
  for (const rounding of ['nearest', 'stochastic'] as const) {
    for (const bits of [4, 12, maxBitsFor(n)]) {
      const q: Quantization = { range: 2, bits, rounding };
      const decoded = dequantizeSum(encodeSum(vectors, q, rounding === 'stochastic' ? rng : undefined), n, q);
      const bound = sumErrorBound(q, n);
      let worst = 0;
      for (let i = 0; i < decoded.length; i++) {
        let exact = 0;
        for (const v of vectors) exact += Math.max(-2, Math.min(2, v[i]));
        worst = Math.max(worst, Math.abs(decoded[i] - exact));
      }
      assert.ok(worst <= bound, `${rounding}, ${bits} bits: error ${worst} > bound ${bound}`);
      // The bound is not vacuous: at 4 bits the error uses a real part of it.
      if (bits === 4)
        assert.ok(worst > bound / 20, `${rounding}: error ${worst} suspiciously small vs ${bound}`);
    }
  }
});

test('nearest rounding errs by at most half a step per value; stochastic rounding is unbiased', () => {
  const q: Quantization = { range: 1, bits: 3, rounding: 'nearest' };
  const step = quantizationStep(q);
  const x = Float32Array.from({ length: 1001 }, (_, i) => -1 + i / 500);
  const out = new Uint32Array(x.length);
  quantizeInto(x, out, q);
  x.forEach((v, i) => assert.ok(Math.abs(out[i] * step - 1 - v) <= step / 2 + 1e-12));

  // 0.1 sits between levels; stochastic rounding averages back to it over many draws.
  const rng = new Rng(9);
  const s: Quantization = { range: 1, bits: 3, rounding: 'stochastic' };
  const trials = 20000;
  const xs = new Float32Array(trials).fill(0.1);
  const qs = new Uint32Array(trials);
  quantizeInto(
    xs,
    qs,
    s,
    Uint32Array.from({ length: trials }, () => rng.nextUint32()),
  );
  const mean = qs.reduce((a, v) => a + (v * step - 1), 0) / trials;
  assert.ok(Math.abs(mean - Math.fround(0.1)) < 0.01, `mean ${mean}`);
  const nearestOnly = new Uint32Array(trials);
  quantizeInto(xs, nearestOnly, q);
  assert.ok(Math.abs(nearestOnly[0] * step - 1 - 0.1) > 0.03, 'nearest rounding of 0.1 is biased at 3 bits');
});

test('values outside the range are clipped and counted; non-finite values are refused by index', () => {
  const q: Quantization = { range: 1, bits: 8, rounding: 'nearest' };
  const out = new Uint32Array(4);
  assert.deepEqual(quantizeInto(Float32Array.of(-5, 0, 1, 7), out, q), { clipped: 2 });
  assert.equal(out[0], 0);
  assert.equal(out[3], 255);
  assert.throws(() => quantizeInto(Float32Array.of(0, NaN, 0, 0), out, q), /index 1 is NaN/);
  assert.throws(
    () => quantizeInto(Float32Array.of(0, 0, -Infinity, 0), out, q, undefined, 100),
    /index 102 is -Infinity/,
  );
});

test('the ring must hold n times the levels; the error says which bits would fit', () => {
  assert.equal(maxBitsFor(1), 32);
  assert.equal(maxBitsFor(2), 31);
  assert.equal(maxBitsFor(100), 25);
  assert.equal(maxBitsFor(500), 23);
  assert.doesNotThrow(() => checkQuantization({ range: 1, bits: 25, rounding: 'nearest' }, 100));
  assert.throws(
    () => checkQuantization({ range: 1, bits: 26, rounding: 'nearest' }, 100),
    /does not fit the ring 2\^32.*use bits <= 25/,
  );
  assert.throws(
    () => checkQuantization({ range: 0, bits: 8, rounding: 'nearest' }, 2),
    /range must be a finite number > 0/,
  );
  assert.throws(
    () => checkQuantization({ range: 1, bits: 8, rounding: 'up' as 'nearest' }, 2),
    /rounding must be/,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { CodecError } from './codec.js';
import { qsgd8Codec } from './qsgd8.js';

/** A delta whose blocks have very different scales, as a flat parameter vector of several layers does. */
function layeredDelta(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, (_, i) => rng.normal() * 10 ** -(1 + (Math.floor(i / 300) % 4)));
}

/** Per value: the two levels around it, as the codec defines them, and the exact rounding variance. */
function levels(delta: Float32Array, blockSize: number) {
  const variance = new Float64Array(delta.length);
  const slack = new Float64Array(delta.length);
  let bound = 0;
  for (let start = 0; start < delta.length; start += blockSize) {
    const block = delta.subarray(start, start + blockSize);
    const min = Math.min(...block);
    const max = Math.max(...block);
    const step = (max - min) / 255;
    bound += (block.length * step * step) / 4;
    for (let i = 0; i < block.length; i++) {
      const f = step === 0 ? 0 : (block[i] - min) / step - Math.floor((block[i] - min) / step);
      variance[start + i] = f * (1 - f) * step * step;
      // The decoded value is rounded to float32: allow an ulp of the block's largest magnitude.
      slack[start + i] = 2 ** -23 * Math.max(Math.abs(min), Math.abs(max));
    }
  }
  return { variance, slack, bound };
}

test('qsgd8 is unbiased: the mean of many seeded encodings converges to the original (CLT bound)', () => {
  const n = 2000;
  const blockSize = 256;
  const codec = qsgd8Codec({ blockSize });
  const delta = layeredDelta(n, 1);
  const rounds = 400;
  const sum = new Float64Array(n);
  const out = new Float32Array(n);
  let squaredError = 0;
  for (let r = 0; r < rounds; r++) {
    codec.decode(codec.encode(delta, { rng: new Rng(1000 + r) }).bytes, n, out);
    for (let i = 0; i < n; i++) {
      sum[i] += out[i];
      squaredError += (out[i] - delta[i]) ** 2;
    }
  }
  const { variance, slack, bound } = levels(delta, blockSize);
  // Each coordinate's mean over 400 draws has standard deviation sqrt(var_i / 400). With 2000
  // coordinates, |z| > 5.5 anywhere has probability ~ 2000 · 4e-8 < 1e-4.
  let sumZ2 = 0;
  let counted = 0;
  for (let i = 0; i < n; i++) {
    const error = Math.max(0, Math.abs(sum[i] / rounds - delta[i]) - slack[i]);
    if (variance[i] === 0) {
      assert.equal(error, 0, `value ${i} lies on a level and must decode exactly`);
      continue;
    }
    const z = error / Math.sqrt(variance[i] / rounds);
    assert.ok(z < 5.5, `value ${i}: z = ${z}`);
    sumZ2 += z * z;
    counted++;
  }
  // z^2 averages 1 when the means are unbiased (a little less, since slack is subtracted); a bias of
  // even one standard deviation would double it. sd of the average of ~2000 chi-squares(1): 0.032.
  assert.ok(sumZ2 / counted < 1.15, `mean z^2 = ${sumZ2 / counted}`);
  // The measured mean squared error matches the exact variance and respects the bound B·Δ²/4.
  const expected = variance.reduce((a, v) => a + v, 0);
  assert.ok(
    Math.abs(squaredError / rounds / expected - 1) < 0.05,
    `MSE ${squaredError / rounds} vs ${expected}`,
  );
  assert.ok(expected <= bound);
});

test('qsgd8 sends one byte a value plus small overhead', () => {
  const codec = qsgd8Codec();
  const n = 100000;
  const { bytes, compression } = codec.encode(layeredDelta(n, 2), { rng: new Rng(1) });
  // 8 header + 4 block size + 8 per block of 512 + n.
  assert.equal(bytes.length, 12 + 8 * Math.ceil(n / 512) + n);
  assert.equal(codec.maxEncodedBytes(n), bytes.length);
  assert.ok(bytes.length < 1.02 * n);
  assert.ok(compression > 3.9);
});

test('qsgd8 is reproducible under a seed, and endpoints and constant blocks decode exactly', () => {
  const codec = qsgd8Codec({ blockSize: 4 });
  const delta = new Float32Array([-1, 0.3, 2, 0.5, 7, 7, 7, 7, 0.25]);
  const a = codec.encode(delta, { rng: new Rng(5) }).bytes;
  assert.deepEqual(a, codec.encode(delta, { rng: new Rng(5) }).bytes);
  assert.notDeepEqual(
    codec.encode(layeredDelta(100, 3), { rng: new Rng(5) }).bytes,
    codec.encode(layeredDelta(100, 3), { rng: new Rng(6) }).bytes,
  );
  const back = codec.decode(a, delta.length);
  assert.equal(back[0], -1);
  assert.equal(back[2], 2);
  assert.deepEqual(Array.from(back.subarray(4)), [7, 7, 7, 7, 0.25]);
  // Everything decoded lies on a level of its block: min + j (max - min) / 255.
  for (const i of [1, 3]) {
    const j = (back[i] + 1) / (3 / 255);
    assert.ok(Math.abs(j - Math.round(j)) < 1e-4, `${back[i]} is level ${j}`);
  }
});

test('qsgd8 needs an rng and finite values', () => {
  const codec = qsgd8Codec();
  assert.throws(() => codec.encode(new Float32Array(3)), /qsgd8: encode needs options.rng, a seeded Rng/);
  assert.throws(
    () => codec.encode(new Float32Array([0, NaN]), { rng: new Rng(1) }),
    (e: unknown) => e instanceof CodecError && /cannot encode NaN at index 1/.test(e.message),
  );
  assert.throws(() => qsgd8Codec({ blockSize: 0 }), /blockSize must be a positive integer/);
});

test('qsgd8 refuses invalid block ranges and block sizes', () => {
  const codec = qsgd8Codec({ blockSize: 4 });
  const bytes = codec.encode(new Float32Array([1, 2, 3, 4, 5]), { rng: new Rng(1) }).bytes;
  const view = new DataView(bytes.buffer);
  const swapped = bytes.slice();
  new DataView(swapped.buffer).setFloat32(12, 9, true); // block 0 min 9 > max 4
  assert.throws(() => codec.decode(swapped, 5), /qsgd8: block 0 has an invalid range \[9, 4\]/);
  const nan = bytes.slice();
  new DataView(nan.buffer).setFloat32(20 + 4, NaN, true); // block 1 max
  assert.throws(() => codec.decode(nan, 5), /block 1 has an invalid range \[5, NaN\]/);
  const zero = bytes.slice();
  new DataView(zero.buffer).setUint32(8, 0, true);
  assert.throws(() => codec.decode(zero, 5), /block size 0 is invalid/);
  const other = bytes.slice();
  new DataView(other.buffer).setUint32(8, 2, true); // claims 3 blocks: a size mismatch
  assert.throws(() => codec.decode(other, 5), /expected 41 for 5 values in blocks of 2/);
  assert.equal(view.getUint32(8, true), 4);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainSumBackend, simdSumBackend, WeightedSum } from './weighted-sum.js';
import { Rng } from '../util/rng.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

function randomVector(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}

const BACKENDS = [
  ['SIMD', simdSumBackend],
  ['plain', plainSumBackend],
] as const;

for (const [label, backend] of BACKENDS) {
  test(`WeightedSum (${label}) sums exactly what float64 arithmetic gives, any length`, () => {
    const rng = new Rng(3);
    // Up to 2^17 the SIMD path stages the whole vector; above, it works block by block (4096).
    for (const n of [0, 1, 3, 4, 5, 15, 16, 17, 4095, 4096, 4097, 10_001, 131_072, 131_073, 200_003]) {
      const s = new WeightedSum(n, { backend });
      if (n > 0) assert.equal(s.simd, label === 'SIMD' && typeof WebAssembly === 'object');
      const ref = new Float64Array(n);
      for (let c = 0; c < 5; c++) {
        const x = randomVector(rng, n);
        const w = 1 + rng.int(100);
        assert.equal(s.add(x, w), -1);
        for (let i = 0; i < n; i++) ref[i] += w * x[i];
      }
      assert.deepEqual(s.sumView(), ref);
      assert.equal(s.count, 5);
    }
  });

  test(`WeightedSum (${label}) refuses NaN/Infinity anywhere without changing`, () => {
    const rng = new Rng(4);
    // Staged whole, and (above 2^17) block by block: 34 blocks, the last one partial.
    for (const n of [9_000, 135_000]) {
      const s = new WeightedSum(n, { backend });
      s.add(randomVector(rng, n), 2);
      const before = Float64Array.from(s.sumView());
      for (const [index, value] of [
        [0, NaN],
        [4095, Infinity],
        [4096, -Infinity],
        [n - 1, NaN],
      ]) {
        const x = randomVector(rng, n);
        x[index] = value;
        assert.equal(s.add(x, 3), index);
        assert.deepEqual(s.sumView(), before);
        assert.equal(s.count, 1);
        assert.equal(s.totalWeight, 2);
      }
      // Finite values whose weighted product overflows float64 are refused as well.
      const big = new Float32Array(n);
      big[10] = 3e38;
      assert.equal(s.add(big, 1e300), n);
      assert.deepEqual(s.sumView(), before);
    }
  });
}

test('WeightedSum mean, base and scale; merge adds partial sums', () => {
  const a = new WeightedSum(3);
  a.add(f32([1, 0, 2]), 1);
  a.add(f32([0, 3, 2]), 3);
  const out = new Float32Array(3);
  a.meanInto(out);
  assert.deepEqual([...out], [0.25, 2.25, 2]);
  a.meanInto(out, { base: f32([1, 1, 1]), scale: 2 });
  assert.deepEqual([...out], [1.5, 5.5, 5]);
  const b = new WeightedSum(3, { backend: plainSumBackend });
  b.add(f32([4, 4, 4]), 4);
  a.merge(b);
  a.meanInto(out);
  assert.deepEqual([...out], [(1 + 16) / 8, (9 + 16) / 8, (2 + 6 + 16) / 8]);
  assert.throws(() => new WeightedSum(3).meanInto(out), /no vectors/);
  assert.throws(() => a.add(f32([1]), 1), /expected 3/);
  assert.throws(() => a.add(f32([1, 2, 3]), 0), /positive/);
});

test('sums with different back-ends in one process are bit-identical and independent of each other', () => {
  const rng = new Rng(9);
  const n = 150_001; // above 2^17: the SIMD back-end works block by block
  const simd = new WeightedSum(n, { backend: simdSumBackend });
  const plain = new WeightedSum(n, { backend: plainSumBackend });
  const ref = new Float64Array(n);
  for (let c = 0; c < 4; c++) {
    const x = randomVector(rng, n);
    const w = 1 + rng.int(1000) / 7; // not an integer: products are rounded, the same way on both
    assert.equal(simd.add(x, w), -1);
    // A sum made in between, with the default back-end, is not influenced by either.
    const between = new WeightedSum(n);
    assert.equal(between.simd, typeof WebAssembly === 'object');
    assert.equal(plain.add(x, w), -1);
    for (let i = 0; i < n; i++) ref[i] += w * x[i];
  }
  assert.equal(simd.simd, typeof WebAssembly === 'object');
  assert.equal(plain.simd, false);
  assert.deepEqual(simd.sumView(), ref);
  assert.deepEqual(plain.sumView(), ref);
  // A refusal by one leaves the other free to add.
  const bad = randomVector(rng, n);
  bad[n - 1] = NaN;
  assert.equal(plain.add(bad, 1), n - 1);
  assert.equal(simd.add(randomVector(rng, n), 1), -1);
  assert.equal(plain.count, 4);
  assert.equal(simd.count, 5);
});

test('a back-end factory that declines a length leaves the sum to the default', () => {
  const asked: number[] = [];
  const s = new WeightedSum(7, {
    backend: (length) => {
      asked.push(length);
      return undefined;
    },
  });
  assert.deepEqual(asked, [7]);
  assert.equal(s.simd, typeof WebAssembly === 'object');
  assert.equal(s.add(f32([1, 2, 3, 4, 5, 6, 7]), 2), -1);
  assert.deepEqual([...s.sumView()], [2, 4, 6, 8, 10, 12, 14]);
});

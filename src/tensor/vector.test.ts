import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  axpy,
  copy,
  dot,
  fill,
  firstNonFinite,
  forEachSortedColumnTile,
  l2Distance,
  l2Norm,
  meanClosestToMedianInPlace,
  medianInPlace,
  pairwiseSquaredDistances,
  scale,
  selectInPlace,
  setSimdEnabled,
  simdAvailable,
  sortingNetwork,
  squaredDistance,
  squaredNorm,
  trimmedMeanInPlace,
  WeightedSum,
} from './vector.js';
import { Rng } from '../util/rng.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

function randomVector(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}

test('axpy, scale, copy and fill on small vectors (odd lengths hit the unrolled tail)', () => {
  const y = f32([1, 2, 3, 4, 5]);
  axpy(y, 2, f32([1, 1, 1, 1, -1]));
  assert.deepEqual([...y], [3, 4, 5, 6, 3]);
  scale(y, 0.5);
  assert.deepEqual([...y], [1.5, 2, 2.5, 3, 1.5]);
  const z = new Float64Array(5);
  copy(z, y);
  assert.deepEqual([...z], [1.5, 2, 2.5, 3, 1.5]);
  fill(z, 7);
  assert.deepEqual([...z], [7, 7, 7, 7, 7]);
  assert.throws(() => axpy(y, 1, f32([1])), /lengths differ/);
  assert.throws(() => copy(z, f32([1])), /lengths differ/);
});

test('dot, norms and distances match the hand-computed values', () => {
  const a = f32([1, 2, 3, 4, 5]);
  const b = f32([2, 0, -1, 1, 1]);
  assert.equal(dot(a, b), 2 + 0 - 3 + 4 + 5);
  assert.equal(squaredNorm(a), 55);
  assert.equal(l2Norm(f32([3, 4])), 5);
  assert.equal(squaredDistance(a, b), 1 + 4 + 16 + 9 + 16);
  assert.equal(l2Distance(f32([0, 0, 0]), f32([2, 3, 6])), 7);
});

test('reductions accumulate in float64: a million float32 ones sum exactly', () => {
  const ones = new Float32Array(1_000_001).fill(1);
  assert.equal(dot(ones, ones), 1_000_001);
  // 0.1 has no exact binary form; float32 accumulation would drift by ~1e-2 here.
  const tenths = new Float32Array(1_000_000).fill(0.1);
  assert.ok(Math.abs(dot(tenths, ones.subarray(0, 1_000_000)) - 1_000_000 * Math.fround(0.1)) < 1e-6);
});

test('firstNonFinite finds NaN and ±Infinity and nothing in finite data', () => {
  assert.equal(firstNonFinite(f32([1, 2, 3])), -1);
  assert.equal(firstNonFinite(f32([1, NaN, Infinity])), 1);
  assert.equal(firstNonFinite(f32([0, 0, 0, -Infinity])), 3);
  assert.equal(firstNonFinite(f32([3.4e38, -3.4e38])), -1);
});

test('selectInPlace puts the k-th smallest in place and partitions around it', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(40);
    const a = new Float64Array(n);
    // Few distinct values, so ties are common.
    for (let i = 0; i < n; i++) a[i] = rng.int(6) - 2;
    const sorted = [...a].sort((x, y) => x - y);
    const k = rng.int(n);
    assert.equal(selectInPlace(a, k), sorted[k]);
    for (let i = 0; i < k; i++) assert.ok(a[i] <= a[k]);
    for (let i = k + 1; i < n; i++) assert.ok(a[i] >= a[k]);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      sorted,
    );
  }
});

test('median of odd and even counts', () => {
  assert.equal(medianInPlace(Float64Array.from([5, 1, 3]), 3), 3);
  assert.equal(medianInPlace(Float64Array.from([4, 1, 3, 2]), 4), 2.5);
  assert.equal(medianInPlace(Float64Array.from([7]), 1), 7);
  assert.equal(medianInPlace(Float64Array.from([2, 2, 9, 2]), 4), 2);
  // Only the first n entries count.
  assert.equal(medianInPlace(Float64Array.from([1, 2, 3, 1000, 1000]), 3), 2);
  assert.throws(() => medianInPlace(new Float64Array(0), 0), /no values/);
});

test('trimmed mean drops the extremes at both ends', () => {
  assert.equal(trimmedMeanInPlace(Float64Array.from([100, 2, 3, -50, 4]), 5, 1), 3);
  assert.equal(trimmedMeanInPlace(Float64Array.from([1, 2, 3, 6]), 4, 0), 3);
  assert.equal(trimmedMeanInPlace(Float64Array.from([9, 1, 5, 7, 3, 1000, -1000]), 7, 2), 5);
  assert.throws(() => trimmedMeanInPlace(Float64Array.from([1, 2]), 2, 1), /cannot trim/);
});

test('mean of the values closest to the median (Bulyan coordinate rule)', () => {
  const keys = new Float64Array(8);
  // median 3; distances 0 (3), 1 (4), 1.5 (1.5), 2 (1), 97 (100) -> three closest: 3, 4, 1.5
  assert.equal(
    meanClosestToMedianInPlace(Float64Array.from([100, 1, 3, 4, 1.5]), 5, 3, keys),
    (3 + 4 + 1.5) / 3,
  );
  assert.equal(meanClosestToMedianInPlace(Float64Array.from([100, 1, 3, 4, 1.5]), 5, 1, keys), 3);
  assert.equal(meanClosestToMedianInPlace(Float64Array.from([1, 2, 3]), 3, 3, keys), 2);
});

for (const simd of [true, false]) {
  test(`WeightedSum (${simd ? 'SIMD' : 'plain'}) sums exactly what float64 arithmetic gives, any length`, () => {
    const rng = new Rng(3);
    // Up to 2^17 the SIMD path stages the whole vector; above, it works block by block (4096).
    for (const n of [0, 1, 3, 4, 5, 15, 16, 17, 4095, 4096, 4097, 10_001, 131_072, 131_073, 200_003]) {
      const s = new WeightedSum(n, { simd });
      if (simd && n > 0) assert.equal(s.simd, typeof WebAssembly === 'object');
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

  test(`WeightedSum (${simd ? 'SIMD' : 'plain'}) refuses NaN/Infinity anywhere without changing`, () => {
    const rng = new Rng(4);
    // Staged whole, and (above 2^17) block by block: 34 blocks, the last one partial.
    for (const n of [9_000, 135_000]) {
      const s = new WeightedSum(n, { simd });
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
  const b = new WeightedSum(3, { simd: false });
  b.add(f32([4, 4, 4]), 4);
  a.merge(b);
  a.meanInto(out);
  assert.deepEqual([...out], [(1 + 16) / 8, (9 + 16) / 8, (2 + 6 + 16) / 8]);
  assert.throws(() => new WeightedSum(3).meanInto(out), /no vectors/);
  assert.throws(() => a.add(f32([1]), 1), /expected 3/);
  assert.throws(() => a.add(f32([1, 2, 3]), 0), /positive/);
});

test('pairwise squared distances: SIMD and plain agree with the direct formula', () => {
  const rng = new Rng(5);
  for (const d of [1, 7, 8, 1025, 3000]) {
    const rows = Array.from({ length: 6 }, () => randomVector(rng, d));
    rows[2][0] = 1e30; // finite but huge: differences must not overflow
    const a = pairwiseSquaredDistances(rows);
    const b = pairwiseSquaredDistances(rows, { simd: false });
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) {
        const direct = squaredDistance(rows[i], rows[j]);
        assert.ok(Math.abs(a[i * 6 + j] - direct) <= 1e-12 * Math.max(1, direct), `simd ${i},${j}`);
        assert.ok(Math.abs(b[i * 6 + j] - direct) <= 1e-12 * Math.max(1, direct), `plain ${i},${j}`);
      }
    assert.ok(Number.isFinite(a[2 * 6 + 3]));
  }
});

test('sortingNetwork sorts every 0/1 input up to n = 14 (so, by the 0-1 principle, any input)', () => {
  for (let n = 0; n <= 14; n++) {
    const net = sortingNetwork(n);
    for (let q = 0; q < net.length; q += 2) assert.ok(net[q] < net[q + 1] && net[q + 1] < n);
    for (let bits = 0; bits < 1 << n; bits++) {
      const a = Array.from({ length: n }, (_, i) => (bits >> i) & 1);
      for (let q = 0; q < net.length; q += 2) {
        const i = net[q];
        const j = net[q + 1];
        if (a[j] < a[i]) [a[i], a[j]] = [a[j], a[i]];
      }
      for (let i = 1; i < n; i++) assert.ok(a[i - 1] <= a[i], `n = ${n}, input ${bits}`);
    }
  }
});

test('forEachSortedColumnTile sorts every column (SIMD), and declines without SIMD', () => {
  const rng = new Rng(12);
  for (const [n, d] of [
    [1, 5],
    [2, 9],
    [37, 1001],
    [100, 700],
    [130, 20],
  ]) {
    const rows = Array.from({ length: n }, () => randomVector(rng, d));
    rows[0][0] = rows[n - 1][0]; // a tie
    const seen = new Uint8Array(d);
    const ok = forEachSortedColumnTile(rows, (tile, width, first) => {
      for (let c = 0; c < Math.min(width, d - first); c++) {
        const column = rows.map((r) => r[first + c]).sort((a, b) => a - b);
        for (let r = 0; r < n; r++)
          assert.equal(tile[r * width + c], column[r], `n ${n} column ${first + c} row ${r}`);
        seen[first + c]++;
      }
    });
    assert.equal(ok, simdAvailable());
    if (ok) assert.ok(seen.every((x) => x === 1));
  }
  setSimdEnabled(false);
  try {
    assert.equal(
      forEachSortedColumnTile([new Float32Array(4)], () => assert.fail('visited')),
      false,
    );
  } finally {
    setSimdEnabled(true);
  }
});

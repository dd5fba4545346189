import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanClosestToMedianInPlace, medianInPlace, selectInPlace, trimmedMeanInPlace } from './select.js';
import { Rng } from '../util/rng.js';

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

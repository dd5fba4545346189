import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  axpy,
  copy,
  dot,
  fill,
  firstNonFinite,
  l2Distance,
  l2Norm,
  scale,
  squaredDistance,
  squaredNorm,
} from './math.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

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

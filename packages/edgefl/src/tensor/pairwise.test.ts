import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairwiseSquaredDistances } from './pairwise.js';
import { squaredDistance } from './math.js';
import { Rng } from '../util/rng.js';

function randomVector(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}

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

test('pairwise squared distances refuse rows of different lengths, and take no rows', () => {
  assert.throws(
    () => pairwiseSquaredDistances([new Float32Array(3), new Float32Array(4)]),
    /pairwiseSquaredDistances: rows of 4 and 3 values/,
  );
  assert.deepEqual(pairwiseSquaredDistances([]), new Float64Array(0));
  assert.deepEqual(pairwiseSquaredDistances([new Float32Array([1, 2])]), new Float64Array(1));
});

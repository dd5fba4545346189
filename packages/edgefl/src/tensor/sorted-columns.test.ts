import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachSortedColumnTile, sortingNetwork } from './sorted-columns.js';
import { simdAvailable } from './wasm/simd-kernels.js';
import { Rng } from '../util/rng.js';

function randomVector(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}

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

test('forEachSortedColumnTile sorts every column (SIMD), and declines with simd: false', () => {
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
  assert.equal(
    forEachSortedColumnTile([new Float32Array(4)], () => assert.fail('visited'), { simd: false }),
    false,
  );
});

test('forEachSortedColumnTile refuses rows of different lengths', () => {
  assert.throws(
    () => forEachSortedColumnTile([new Float32Array(8), new Float32Array(7)], () => {}),
    /forEachSortedColumnTile: rows of 7 and 8 values/,
  );
});

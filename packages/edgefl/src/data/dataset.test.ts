import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayDataset, SubsetDataset } from './dataset.js';

// Ten samples of two features each: sample k holds [k, 100 + k] and label k % 3.
const parent = new ArrayDataset({
  features: Float32Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? i / 2 : 100 + (i - 1) / 2)),
  labels: Int32Array.from({ length: 10 }, (_, k) => k % 3),
  featureShape: [2],
});

test('SubsetDataset gathers through its index list, batch after batch of any size', () => {
  const subset = new SubsetDataset(parent, Uint32Array.from([9, 2, 5, 7]));
  assert.equal(subset.length, 4);
  const gather = (idx: number[]) => {
    const f = new Float32Array(idx.length * 2);
    const l = new Int32Array(idx.length);
    subset.gather(idx, f, l);
    return { f: [...f], l: [...l] };
  };
  assert.deepEqual(gather([0, 3, 1]), { f: [9, 109, 7, 107, 2, 102], l: [0, 1, 2] });
  // A smaller batch after a larger one (the reused buffer must not leak the old indices), then larger.
  assert.deepEqual(gather([2]), { f: [5, 105], l: [2] });
  assert.deepEqual(gather([3, 2, 1, 0]), { f: [7, 107, 5, 105, 2, 102, 9, 109], l: [1, 2, 2, 0] });
});

test('SubsetDataset refuses indices outside it, negative or fractional, naming them', () => {
  const subset = new SubsetDataset(parent, Uint32Array.from([1, 2]));
  const f = new Float32Array(2);
  const l = new Int32Array(1);
  for (const bad of [2, -1, 0.5, NaN])
    assert.throws(
      () => subset.gather([bad], f, l),
      new RegExp(`subset index ${bad} is out of range \\[0, 2\\)`),
    );
});

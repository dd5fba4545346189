import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayDataset, SubsetDataset } from '../dataset.js';
import { classLabels } from './labels.js';

test('classLabels reads every label through gather, across chunk boundaries', () => {
  const n = 2500;
  const ds = new ArrayDataset({
    features: new Float32Array(n * 3),
    labels: Int32Array.from({ length: n }, (_, i) => (i * 13) % 7),
    featureShape: [3],
  });
  assert.deepEqual(classLabels(ds, { chunkSize: 1000 }), ds.labels);
  // Through a subset: labels of the listed samples, in subset order.
  const subset = new SubsetDataset(ds, new Uint32Array([10, 3, 2499]));
  assert.deepEqual(classLabels(subset), new Int32Array([4, 4, 0]));
});

test('classLabels accepts integer-valued float labels and refuses anything else', () => {
  const floatLabels = new ArrayDataset({
    features: new Float32Array(3),
    labels: new Float32Array([2, 0, 1]),
    featureShape: [1],
  });
  assert.deepEqual(classLabels(floatLabels), new Int32Array([2, 0, 1]));
  const fractional = new ArrayDataset({
    features: new Float32Array(2),
    labels: new Float32Array([1, 0.5]),
    featureShape: [1],
  });
  assert.throws(() => classLabels(fractional), /sample 1 has label 0.5, not a class index/);
  const sequences = new ArrayDataset({
    features: new Int32Array(8),
    labels: new Int32Array(8),
    featureShape: [4],
    labelShape: [4],
  });
  assert.throws(() => classLabels(sequences), /labels of shape \[4\] are not one class per sample/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayDataset, SubsetDataset } from './dataset.js';
import { validateDataset } from './validate.js';

const clean = () =>
  new ArrayDataset({
    features: Float32Array.from({ length: 3000 * 64 }, (_, i) => Math.sin(i)),
    labels: Int32Array.from({ length: 3000 }, (_, i) => i % 3),
    featureShape: [8, 8],
    classes: ['a', 'b', 'c'],
  });

test('validateDataset accepts a clean dataset', () => {
  validateDataset(clean());
  validateDataset(clean(), { numClasses: 3 });
});

test('validateDataset names the first sample with a NaN or infinite feature', () => {
  const ds = clean();
  // The scan reads 1024 samples of 64 values at a time; these sit in its third chunk.
  ds.features[2500 * 64 + 3] = Number.POSITIVE_INFINITY;
  ds.features[2700 * 64] = Number.NaN;
  assert.throws(() => validateDataset(ds), /sample 2500, feature element 3: Infinity is not finite/);
  ds.features[2500 * 64 + 3] = 0;
  assert.throws(() => validateDataset(ds), /sample 2700, feature element 0: NaN is not finite/);
});

test('validateDataset checks labels against the class count, from the dataset or the options', () => {
  const ds = clean();
  ds.labels[17] = 3;
  assert.throws(() => validateDataset(ds), /sample 17, label: 3 is not a class index in \[0, 3\)/);
  ds.labels[17] = -1;
  assert.throws(() => validateDataset(ds), /sample 17, label: -1 is not a class index/);
  assert.throws(
    () => validateDataset(clean(), { numClasses: 4 }),
    /numClasses is 4 but the dataset names 3 classes/,
  );

  const floatLabels = new ArrayDataset({
    features: new Float32Array(3),
    labels: new Float32Array([0, 1.5, 2]),
    featureShape: [1],
  });
  validateDataset(floatLabels); // regression targets: only finiteness is checked
  assert.throws(
    () => validateDataset(floatLabels, { numClasses: 3 }),
    /sample 1, label: 1.5 is not a class index in \[0, 3\)/,
  );
  floatLabels.labels[2] = Number.NaN;
  assert.throws(() => validateDataset(floatLabels), /sample 2, label: NaN is not finite/);
});

test('validateDataset checks sequence labels and token-id features element by element', () => {
  const ds = new ArrayDataset({
    features: new Int32Array([1, 2, 3, 4, 5, 6]),
    labels: new Int32Array([2, 3, 4, 5, 6, 7]),
    featureShape: [3],
    labelShape: [3],
  });
  validateDataset(ds, { numClasses: 8, numTokens: 7 });
  assert.throws(
    () => validateDataset(ds, { numClasses: 7 }),
    /sample 1, label element 2: 7 is not a class index in \[0, 7\)/,
  );
  assert.throws(
    () => validateDataset(ds, { numTokens: 6 }),
    /sample 1, feature element 2: 6 is not a token id in \[0, 6\)/,
  );
});

test('validateDataset reads through gather, so subsets report their own sample index', () => {
  const ds = clean();
  ds.features[10 * 64] = Number.NaN;
  const subset = new SubsetDataset(ds, new Uint32Array([5, 7, 10, 11]));
  assert.throws(() => validateDataset(subset), /sample 2, feature element 0: NaN/);
  validateDataset(new SubsetDataset(ds, new Uint32Array([5, 7, 11])));
});

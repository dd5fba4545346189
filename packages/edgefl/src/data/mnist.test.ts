import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeIdx } from './idx.js';
import { mnistFromIdx } from './mnist.js';

// Three 2x2 "images" and their labels, in the layout of the MNIST files.
const images = encodeIdx({
  dims: [3, 2, 2],
  type: 'uint8',
  data: new Uint8Array([0, 255, 51, 102, 1, 2, 3, 4, 9, 8, 7, 6]),
});
const labels = encodeIdx({ dims: [3], type: 'uint8', data: new Uint8Array([7, 0, 9]) });

test('mnistFromIdx scales pixels by 1/255 into float32 and keeps labels as int32', () => {
  const ds = mnistFromIdx(images, labels);
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.featureShape, [1, 2, 2]);
  assert.deepEqual(ds.labelShape, []);
  assert.equal(ds.featureType, 'float32');
  assert.equal(ds.labelType, 'int32');
  assert.deepEqual([...ds.labels], [7, 0, 9]);
  assert.deepEqual(ds.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(ds.normalization, { scale: 1 / 255, mean: 0, std: 1 });
  const expected = [0, 255, 51, 102, 1, 2, 3, 4, 9, 8, 7, 6].map((v) => Math.fround(v / 255));
  assert.deepEqual([...ds.features], expected);
  assert.equal(ds.features[1], 1);
  assert.equal(ds.features[2], Math.fround(0.2));
});

test('mnistFromIdx flattens to [rows * cols] and takes other class names (Fashion-MNIST)', () => {
  const classes = [
    't-shirt',
    'trouser',
    'pullover',
    'dress',
    'coat',
    'sandal',
    'shirt',
    'sneaker',
    'bag',
    'boot',
  ];
  const ds = mnistFromIdx(images, labels, { flatten: true, classes });
  assert.deepEqual(ds.featureShape, [4]);
  assert.deepEqual(ds.classes, classes);
});

test('mnistFromIdx refuses mismatched or malformed files', () => {
  const twoLabels = encodeIdx({ dims: [2], type: 'uint8', data: new Uint8Array([1, 2]) });
  assert.throws(
    () => mnistFromIdx(images, twoLabels),
    /image file holds 3 images but the label file 2 labels/,
  );
  assert.throws(
    () => mnistFromIdx(labels, labels),
    /MNIST images: expected uint8 dims \[n, rows, cols\], got uint8 \[3\]/,
  );
  const badLabel = encodeIdx({ dims: [3], type: 'uint8', data: new Uint8Array([1, 10, 2]) });
  assert.throws(
    () => mnistFromIdx(images, badLabel),
    /sample 1 has label 10, expected a class index in \[0, 10\)/,
  );
  const floatLabels = encodeIdx({ dims: [3], type: 'float32', data: new Float32Array(3) });
  assert.throws(
    () => mnistFromIdx(images, floatLabels),
    /MNIST labels: expected uint8 dims \[n\], got float32/,
  );
});

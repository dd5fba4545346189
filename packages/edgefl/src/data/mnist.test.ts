import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeIdx } from './idx.js';
import { ArrayDataset } from './dataset.js';
import { decodeMnist, encodeMnist, mnistFromIdx } from './mnist.js';

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

test('encodeMnist writes the IDX bytes back: decoding them gives bit-identical features and labels', () => {
  // Every byte value once, as 16 images of 4x4, so each pixel's float is checked.
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 7) % 256);
  const all = encodeIdx({ dims: [16, 4, 4], type: 'uint8', data: bytes });
  const allLabels = encodeIdx({
    dims: [16],
    type: 'uint8',
    data: Uint8Array.from({ length: 16 }, (_, i) => i % 10),
  });
  const ds = mnistFromIdx(all, allLabels);
  const order = [5, 0, 15, 7];
  const files = encodeMnist(ds, order);
  const back = decodeMnist(files.images, files.labels);
  assert.deepEqual([back.rows, back.cols], [4, 4]);
  assert.deepEqual([...back.labels], [5, 0, 5, 7]);
  for (const [k, j] of order.entries()) {
    const want = ds.features.subarray(j * 16, (j + 1) * 16);
    const got = back.features.subarray(k * 16, (k + 1) * 16);
    assert.deepEqual(
      new Uint8Array(got.buffer, got.byteOffset, 64),
      new Uint8Array(want.buffer, want.byteOffset, 64),
    );
  }
  // The whole set written in order is the input files byte for byte.
  const whole = encodeMnist(
    ds,
    Uint32Array.from({ length: 16 }, (_, i) => i),
  );
  assert.deepEqual(whole.images, all);
  assert.deepEqual(whole.labels, allLabels);
  // Flattened images have no rows and columns to write.
  assert.throws(
    () => encodeMnist(mnistFromIdx(all, allLabels, { flatten: true }), [0]),
    /got float32 \[16\]/,
  );
});

test('encodeMnist refuses pixels that are not a byte / 255 and labels that are not bytes, naming the sample', () => {
  const image = (values: number[]) => new Float32Array(values);
  const ds = (features: Float32Array, labels: Int32Array) =>
    new ArrayDataset({ features, labels, featureShape: [1, 2, 2] });
  const ok = image([0, 1, Math.fround(51 / 255), 0]);
  assert.equal(encodeMnist(ds(ok, new Int32Array([3])), [0]).images.length, 16 + 4);
  // Close to 0.2 but not float32(51 / 255): it would come back different.
  const near = image([0, 0, 0, 0, 0, 0, 0.2000001, 0]);
  assert.throws(
    () => encodeMnist(ds(near, new Int32Array([1, 2])), [1, 0]),
    /sample 1 has pixel value 0\.200000\d* at 2, which is not a byte \/ 255/,
  );
  assert.throws(
    () => encodeMnist(ds(image([0, 0, 0, 1.5]), new Int32Array([0])), [0]),
    /pixel value 1\.5 at 3/,
  );
  assert.throws(() => encodeMnist(ds(image([0, -0, 0, 0]), new Int32Array([0])), [0]), /pixel value 0 at 1/);
  assert.throws(
    () => encodeMnist(ds(image([0, 0, 0, 0, 0, 0, 0, 0]), new Int32Array([0, 300])), [0, 1]),
    /sample 1 has label 300; an MNIST label file holds bytes 0\.\.255/,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMnist, mnistDataDir } from './mnist.js';

test('loadMnist test split: 10,000 samples, all ten digits, labels and pixels as in the files', async () => {
  const ds = await loadMnist({ split: 'test' });
  assert.equal(ds.length, 10000);
  assert.deepEqual(ds.featureShape, [1, 28, 28]);
  assert.deepEqual(ds.labelShape, []);
  assert.deepEqual(ds.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(ds.normalization, { scale: 1 / 255, mean: 0, std: 1 });

  const histogram = new Array(10).fill(0);
  for (const label of ds.labels) histogram[label]++;
  assert.equal(
    histogram.reduce((a, b) => a + b, 0),
    10000,
  );
  assert.ok(
    histogram.every((count) => count > 0),
    `every class present: ${histogram}`,
  );

  // Independent reference: the raw files, read here without the parser (labels start at byte 8,
  // images at byte 16, per the IDX headers of 1 and 3 dimensions).
  const dir = mnistDataDir();
  const labelBytes = await readFile(join(dir, 't10k-labels-idx1-ubyte'));
  const imageBytes = await readFile(join(dir, 't10k-images-idx3-ubyte'));
  assert.equal(ds.labels[0], labelBytes[8]);
  assert.equal(ds.labels[9999], labelBytes[8 + 9999]);
  for (const image of [0, 9999]) {
    const offset = image * 784;
    const expected = [...imageBytes.subarray(16 + offset, 16 + offset + 784)].map((b) =>
      Math.fround(b / 255),
    );
    assert.deepEqual([...ds.features.subarray(offset, offset + 784)], expected, `image ${image}`);
    assert.ok(
      expected.some((v) => v > 0),
      'the compared image is not blank',
    );
  }

  let min = Infinity;
  let max = -Infinity;
  for (const v of ds.features) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
});

test('loadMnist caches per process and shares the arrays between image and flat shapes', async () => {
  const a = await loadMnist({ split: 'test' });
  const flat = await loadMnist({ split: 'test', flatten: true });
  assert.deepEqual(flat.featureShape, [784]);
  assert.equal(flat.features, a.features, 'the same decoded array, not a copy');
  await assert.rejects(
    loadMnist({ split: 'validation' as 'test' }),
    /split must be 'train' or 'test', got "validation"/,
  );
  await assert.rejects(
    loadMnist({ split: 'test', dir: mnistDataDir() + '-missing' }),
    /neither t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte\.gz is in/,
  );
});

// About 0.7 s alone on a 2-core machine; the bound is loose so a loaded CI machine does not fail it, yet it
// catches a regression to per-pixel work in JavaScript objects, which takes tens of seconds.
test('loadMnist train split: 60,000 samples, decoded fast', async () => {
  const start = performance.now();
  const ds = await loadMnist({ split: 'train', flatten: true });
  const ms = performance.now() - start;
  assert.equal(ds.length, 60000);
  assert.equal(ds.features.length, 60000 * 784);
  const dir = mnistDataDir();
  const labelBytes = await readFile(join(dir, 'train-labels-idx1-ubyte'));
  assert.deepEqual([...ds.labels.subarray(0, 20)], [...labelBytes.subarray(8, 28)]);
  assert.ok(ms < 4000, `took ${ms.toFixed(0)} ms`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { ArrayDataset } from './dataset.js';
import { BatchBuffer, batchCount, batchIndices, batches } from './loader.js';

const sorted = (batches: Uint32Array[]) => batches.flatMap((b) => [...b]).sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('batchIndices without shuffling visits 0..length-1 in order', () => {
  const got = [...batchIndices(10, { batchSize: 4 })].map((b) => [...b]);
  assert.deepEqual(got, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
  assert.deepEqual(
    [...batchIndices(10, { batchSize: 4, dropLast: true })].map((b) => [...b]),
    [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ],
  );
  assert.deepEqual([...batchIndices(0, { batchSize: 4 })], []);
  assert.equal(batchCount(10, 4), 3);
  assert.equal(batchCount(10, 4, true), 2);
});

test('batchIndices with shuffling covers every index once, is seeded, and differs between epochs', () => {
  const epoch1 = [...batchIndices(103, { batchSize: 10, shuffle: true, rng: new Rng(7) })];
  assert.equal(epoch1.length, 11);
  assert.deepEqual(
    epoch1.map((b) => b.length),
    [...new Array(10).fill(10), 3],
  );
  assert.deepEqual(sorted(epoch1), range(103));
  assert.notDeepEqual(
    epoch1.flatMap((b) => [...b]),
    range(103),
  );
  // Views of one permutation array, not copies.
  assert.equal(epoch1[0].buffer, epoch1[10].buffer);

  const again = [...batchIndices(103, { batchSize: 10, shuffle: true, rng: new Rng(7) })];
  assert.deepEqual(
    again.map((b) => [...b]),
    epoch1.map((b) => [...b]),
  );

  const rng = new Rng(7);
  const a = [...batchIndices(103, { batchSize: 10, shuffle: true, rng })].flatMap((b) => [...b]);
  const b = [...batchIndices(103, { batchSize: 10, shuffle: true, rng })].flatMap((b) => [...b]);
  assert.notDeepEqual(a, b, 'the second epoch continues the stream');

  const dropped = [...batchIndices(103, { batchSize: 10, shuffle: true, rng: new Rng(7), dropLast: true })];
  assert.equal(dropped.length, 10);
  assert.equal(new Set(dropped.flatMap((x) => [...x])).size, 100);
});

test('batchIndices refuses bad options with a clear error', () => {
  assert.throws(() => [...batchIndices(10, { batchSize: 0 })], /batchSize must be a positive integer, got 0/);
  assert.throws(
    () => [...batchIndices(-1, { batchSize: 2 })],
    /length must be a non-negative integer, got -1/,
  );
  assert.throws(() => [...batchIndices(10, { batchSize: 2, shuffle: true })], /shuffle needs an rng/);
});

// Sample i has features [i, 100 + i] and label i % 5, so a gathered batch is checkable by formula.
const ds = new ArrayDataset({
  features: Float32Array.from({ length: 14 }, (_, k) => (k % 2 === 0 ? k / 2 : 100 + (k - 1) / 2)),
  labels: Int32Array.from({ length: 7 }, (_, i) => i % 5),
  featureShape: [2],
});

test('BatchBuffer gathers into the same arrays every step; a partial batch is a shorter view', () => {
  const buffer = new BatchBuffer(ds, 3);
  const first = buffer.gather([6, 0, 2]);
  assert.equal(first.size, 3);
  assert.equal(first.features, buffer.features);
  assert.deepEqual([...first.features], [6, 106, 0, 100, 2, 102]);
  assert.deepEqual([...first.labels], [1, 0, 2]);

  const second = buffer.gather(new Uint32Array([3, 4, 5]));
  assert.equal(second.features, first.features, 'no new array per step');
  assert.deepEqual([...second.labels], [3, 4, 0]);

  const partial = buffer.gather([1]);
  assert.equal(partial.size, 1);
  assert.equal(partial.features.buffer, buffer.features.buffer);
  assert.deepEqual([...partial.features], [1, 101]);
  assert.deepEqual([...partial.labels], [1]);

  assert.throws(
    () => buffer.gather([0, 1, 2, 3]),
    /batch of 4 samples does not fit the buffer's capacity of 3/,
  );
  assert.throws(() => new BatchBuffer(ds, 0), /capacity must be a positive integer, got 0/);
});

test('batches yields one epoch of gathered batches', () => {
  const seen: number[] = [];
  let count = 0;
  for (const batch of batches(ds, { batchSize: 3, shuffle: true, rng: new Rng(1) })) {
    count++;
    for (let i = 0; i < batch.size; i++) {
      const sample = batch.features[2 * i];
      assert.equal(batch.features[2 * i + 1], 100 + sample);
      assert.equal(batch.labels[i], sample % 5);
      seen.push(sample);
    }
  }
  assert.equal(count, 3);
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    range(7),
  );
  assert.throws(() => [...batches(ds, { batchSize: 1.5 })], /batchSize must be a positive integer, got 1.5/);
});

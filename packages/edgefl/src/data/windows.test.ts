import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slidingWindows } from './windows.js';

// Two series of 5 readings, values that say where they come from: series a is 10+t, series b is 20+t.
const a = Float32Array.from([10, 11, 12, 13, 14]);
const b = Float32Array.from([20, 21, 22, 23, 24]);
const labels = [0, 0, 1, 0, 1];

test('slidingWindows: one window per reading with a full history, time-major, labelled by its last reading', () => {
  const ds = slidingWindows([a, b], { window: 3, labels });
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.featureShape, [6]);
  assert.deepEqual(
    [...ds.features],
    [10, 20, 11, 21, 12, 22, /**/ 11, 21, 12, 22, 13, 23, /**/ 12, 22, 13, 23, 14, 24],
  );
  assert.deepEqual([...ds.labels], [1, 0, 1]);
  assert.deepEqual([...ds.ends], [2, 3, 4]);
  assert.equal(ds.labelType, 'int32');
});

test('slidingWindows: step, and a from/to range whose windows still reach back before it', () => {
  const stepped = slidingWindows([a, b], { window: 2, step: 2, labels });
  assert.deepEqual([...stepped.ends], [1, 3]);
  assert.deepEqual([...stepped.features], [10, 20, 11, 21, 12, 22, 13, 23]);
  assert.deepEqual([...stepped.labels], [0, 0]);

  // The later part of a stream cut at reading 3: its first window holds readings 1..3.
  const later = slidingWindows([a], { window: 3, from: 3, labels });
  assert.deepEqual([...later.features], [11, 12, 13, 12, 13, 14]);
  assert.deepEqual([...later.labels], [0, 1]);
  const earlier = slidingWindows([a], { window: 1, to: 3 });
  assert.deepEqual([...earlier.features], [10, 11, 12]);
  assert.deepEqual([...earlier.labels], [0, 0, 0], 'unlabelled: every window 0');
  assert.equal(slidingWindows([a], { window: 2, from: 3, to: 3 }).length, 0);
});

test('slidingWindows relative: the window minus its first reading, the first dropped — the same for any level', () => {
  const ds = slidingWindows([a, b], { window: 3, relative: true, labels });
  assert.deepEqual(ds.featureShape, [4]);
  // Reading after reading: (a, b) at the 2nd and 3rd reading of the window, less the 1st's.
  assert.deepEqual([...ds.features], [1, 1, 2, 2, /**/ 1, 1, 2, 2, /**/ 1, 1, 2, 2]);
  assert.deepEqual([...ds.labels], [1, 0, 1]);
  // A jump shows where it happens, whatever the level around it.
  const jump = Float32Array.from([5, 5, 9, 9]);
  const shifted = jump.map((v) => v + 100);
  const [x, y] = [jump, shifted].map((s) => [...slidingWindows([s], { window: 3, relative: true }).features]);
  assert.deepEqual(x, [0, 4, 4, 4]);
  assert.deepEqual(y, x);
  assert.throws(
    () => slidingWindows([a], { window: 1, relative: true }),
    /relative window needs at least 2 readings/,
  );
});

test('slidingWindows refuses what it cannot window, naming the problem', () => {
  assert.throws(() => slidingWindows([], { window: 2 }), /no series/);
  assert.throws(
    () => slidingWindows([a, b.subarray(1)], { window: 2 }),
    /series 1 has 4 readings, series 0 has 5/,
  );
  assert.throws(() => slidingWindows([a], { window: 0 }), /window must be an integer >= 1, got 0/);
  assert.throws(() => slidingWindows([a], { window: 2, step: 1.5 }), /step must be/);
  assert.throws(
    () => slidingWindows([a], { window: 3, from: 1 }),
    /from must be an integer >= window - 1 = 2/,
  );
  assert.throws(
    () => slidingWindows([a], { window: 2, to: 6 }),
    /to must be an integer in \[from = 1, 5\], got 6/,
  );
  assert.throws(() => slidingWindows([a], { window: 2, labels: [0, 1] }), /2 labels for 5 readings/);
  assert.throws(
    () => slidingWindows([a], { window: 2, labels: [0, 0, 0.5, 0, 0] }),
    /label of reading 2 is 0.5/,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertUpdate, checkUpdate, checkUpdateShape, UpdateRejected } from './update-check.js';
import type { ClientUpdate } from './strategy.js';

const update = (delta: number[] | Float32Array, numExamples = 10): ClientUpdate => ({
  clientId: 'c1',
  delta: delta instanceof Float32Array ? delta : Float32Array.from(delta),
  numExamples,
});

test('a well-formed update passes', () => {
  assert.equal(checkUpdate(update([1, 2, 3]), 3), undefined);
  assert.equal(checkUpdate(update([1, 2, 3], 0.5), 3), undefined);
});

test('each defect is named', () => {
  assert.equal(checkUpdate(update([1, 2]), 3), 'delta has 2 values, the model has 3');
  assert.equal(checkUpdate(update([1, NaN, 3]), 3), 'NaN at index 1');
  assert.equal(checkUpdate(update([1, 2, Infinity]), 3), 'Infinity at index 2');
  assert.equal(checkUpdate(update([-Infinity, 2, 3]), 3), '-Infinity at index 0');
  for (const n of [0, -1, NaN, Infinity])
    assert.equal(
      checkUpdate(update([1, 2, 3], n), 3),
      `numExamples must be a positive finite number, got ${n}`,
    );
  const wrongType = { clientId: 'c', delta: [1, 2, 3], numExamples: 1 } as unknown as ClientUpdate;
  assert.equal(checkUpdate(wrongType, 3), 'delta must be a Float32Array, got Array');
  const f64 = { clientId: 'c', delta: new Float64Array(3), numExamples: 1 } as unknown as ClientUpdate;
  assert.equal(checkUpdate(f64, 3), 'delta must be a Float32Array, got Float64Array');
});

test('the shape check looks at length and weight only', () => {
  assert.equal(checkUpdateShape(update([NaN, 1]), 2), undefined);
  assert.match(checkUpdateShape(update([1]), 2) ?? '', /1 values/);
});

test('assertUpdate throws UpdateRejected carrying the client and the reason', () => {
  assert.throws(
    () => assertUpdate(update([1, NaN]), 2),
    (e: unknown) =>
      e instanceof UpdateRejected &&
      e.clientId === 'c1' &&
      e.reason === 'NaN at index 1' &&
      e.message === "update from client 'c1' rejected: NaN at index 1",
  );
  assert.doesNotThrow(() => assertUpdate(update([1, 2]), 2));
});

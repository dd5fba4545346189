import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { iid } from './iid.js';

/** How many clients hold each sample. */
function timesHeld(parts: Uint32Array[], n: number): Uint32Array {
  const held = new Uint32Array(n);
  for (const part of parts) for (const j of part) held[j]++;
  return held;
}

test('iid covers every sample exactly once with sizes differing by at most one', () => {
  const parts = iid(1003, 10, new Rng(1));
  assert.equal(parts.length, 10);
  assert.ok(timesHeld(parts, 1003).every((c) => c === 1));
  assert.deepEqual(
    parts.map((p) => p.length),
    [101, 101, 101, 100, 100, 100, 100, 100, 100, 100],
  );
  for (const part of parts) for (let i = 1; i < part.length; i++) assert.ok(part[i - 1] < part[i], 'sorted');
});

test('iid is a random split: each client draws its samples from the whole range', () => {
  // A client's 1000 samples out of 10,000 are a simple random sample, so their mean index is
  // ~ 4999.5 with standard deviation sqrt((N^2 - 1) / 12 / m · (N - m) / (N - 1)) ≈ 2739 / 31.6 · 0.95 ≈ 82.
  const parts = iid(10000, 10, new Rng(2));
  for (const part of parts) {
    const mean = part.reduce((a, j) => a + j, 0) / part.length;
    assert.ok(Math.abs(mean - 4999.5) < 4 * 82, `mean index ${mean}`);
  }
});

test('iid is reproducible under a seed and differs between seeds', () => {
  assert.deepEqual(iid(500, 7, new Rng(42)), iid(500, 7, new Rng(42)));
  assert.notDeepEqual(iid(500, 7, new Rng(42)), iid(500, 7, new Rng(43)));
});

test('iid refuses bad arguments', () => {
  const rng = new Rng(1);
  assert.throws(() => iid(5, 0, rng), /iid: numClients must be an integer >= 1, got 0/);
  assert.throws(() => iid(5, 2.5, rng), /numClients/);
  assert.throws(() => iid(-1, 2, rng), /iid: n must be an integer >= 0/);
  assert.throws(() => iid(3, 4, rng), /3 samples cannot give each of 4 clients/);
});

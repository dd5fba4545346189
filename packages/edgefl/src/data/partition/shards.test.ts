import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { shards } from './shards.js';

/** MNIST-like labels: 60,000 samples, 6,000 of each of 10 classes, in a scrambled order. */
function mnistLikeLabels(): Int32Array {
  const labels = new Int32Array(60000);
  for (let i = 0; i < labels.length; i++) labels[i] = (i * 7) % 10;
  return labels;
}

function distinctLabels(part: Uint32Array, labels: Int32Array): number {
  return new Set(Array.from(part, (j) => labels[j])).size;
}

test('shards:2 on MNIST-like labels: 100 clients of 600, at most 2 labels each, every sample once', () => {
  const labels = mnistLikeLabels();
  const parts = shards(labels, 100, 2, new Rng(1));
  assert.equal(parts.length, 100);
  assert.ok(parts.every((p) => p.length === 600));
  const held = new Uint8Array(labels.length);
  for (const part of parts) for (const j of part) held[j]++;
  assert.ok(held.every((c) => c === 1));
  // 6,000 per class is 20 whole shards of 300, so every shard has one label; a client has 2 labels,
  // or 1 when both its shards come from the same class (expected 100 · 19/199 ≈ 9.5 clients).
  const counts = parts.map((p) => distinctLabels(p, labels));
  assert.ok(counts.every((c) => c === 1 || c === 2));
  const single = counts.filter((c) => c === 1).length;
  assert.ok(single >= 1 && single <= 25, `${single} single-label clients`);
  // Samples are shuffled within their class before cutting, so a shard is a random 300 of its class's
  // 6,000, spread over the whole file (span ~ 60,000), not the next 300 in file order (span ~ 3,000).
  for (const part of parts)
    for (const label of new Set(Array.from(part, (j) => labels[j]))) {
      const mine = Array.from(part).filter((j) => labels[j] === label);
      assert.ok(mine[mine.length - 1] - mine[0] > 30000, `span ${mine[mine.length - 1] - mine[0]}`);
    }
});

test('shards drops the leftover n mod (clients × shards) samples, as documented', () => {
  const labels = new Int32Array(1005).map((_, i) => i % 5);
  const parts = shards(labels, 10, 2, new Rng(3)); // 20 shards of floor(1005 / 20) = 50
  assert.ok(parts.every((p) => p.length === 100));
  const held = new Uint8Array(labels.length);
  for (const part of parts) for (const j of part) held[j]++;
  assert.equal(held.filter((c) => c === 1).length, 1000);
  assert.equal(held.filter((c) => c > 1).length, 0);
});

test('shards is reproducible under a seed and differs between seeds', () => {
  const labels = mnistLikeLabels().subarray(0, 6000);
  assert.deepEqual(shards(labels, 20, 2, new Rng(5)), shards(labels, 20, 2, new Rng(5)));
  assert.notDeepEqual(shards(labels, 20, 2, new Rng(5)), shards(labels, 20, 2, new Rng(6)));
});

test('shards refuses bad arguments', () => {
  const rng = new Rng(1);
  const labels = new Int32Array([0, 1, 0, 1]);
  assert.throws(() => shards(labels, 3, 2, rng), /4 samples cannot fill 3 clients × 2 shards/);
  assert.throws(() => shards(labels, 2, 0, rng), /shardsPerClient must be an integer >= 1/);
  assert.throws(() => shards(new Int32Array([0, -1]), 1, 1, rng), /label -1 of sample 1 is negative/);
  assert.throws(() => shards([0, 1] as unknown as Int32Array, 1, 1, rng), /labels must be an Int32Array/);
});

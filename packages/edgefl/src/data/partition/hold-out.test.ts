import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdOutPerClient } from './hold-out.js';
import { Rng } from '../../util/rng.js';

test('holdOutPerClient: each client sets aside floor(f·n) of its own samples (at least one, never all), disjoint and complete', () => {
  const parts = [
    Uint32Array.from({ length: 100 }, (_, i) => 1000 + i),
    Uint32Array.from([7, 3, 9]),
    Uint32Array.from([42]),
    Uint32Array.from([5, 6]),
  ];
  const { train, test: held } = holdOutPerClient(parts, 0.2, new Rng(1));
  assert.deepEqual(
    held.map((t) => t.length),
    [20, 1, 0, 1],
  );
  assert.deepEqual(
    train.map((t) => t.length),
    [80, 2, 1, 1],
  );
  parts.forEach((p, k) => {
    const union = [...train[k], ...held[k]].sort((a, b) => a - b);
    assert.deepEqual(
      union,
      [...p].sort((a, b) => a - b),
      `client ${k}: every sample once`,
    );
    // Original order kept within each half.
    const pos = (v: number) => p.indexOf(v);
    for (const half of [train[k], held[k]])
      for (let i = 1; i < half.length; i++) assert.ok(pos(half[i - 1]) < pos(half[i]));
  });
  // Seeded: the same seed repeats, another draws another test set.
  assert.deepEqual(holdOutPerClient(parts, 0.2, new Rng(1)).test[0], held[0]);
  assert.notDeepEqual(holdOutPerClient(parts, 0.2, new Rng(2)).test[0], held[0]);
  // Random, not the first or last samples: over 100 draws each position is held out about 20% of the time.
  const counts = new Array(100).fill(0);
  const rng = new Rng(3);
  for (let r = 0; r < 400; r++)
    for (const v of holdOutPerClient([parts[0]], 0.2, rng).test[0]) counts[v - 1000]++;
  // Binomial(400, 0.2): mean 80, sd 8.
  assert.ok(
    counts.every((c) => c > 40 && c < 120),
    `held-out counts ${Math.min(...counts)}..${Math.max(...counts)}`,
  );
  assert.throws(() => holdOutPerClient(parts, 0, new Rng(1)), /hold-out fraction must be in \(0, 1\)/);
  assert.throws(() => holdOutPerClient(parts, 1, new Rng(1)), /hold-out fraction/);
});

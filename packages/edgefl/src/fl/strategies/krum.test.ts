import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Krum, krumScores } from './krum.js';
import { pairwiseSquaredDistances } from '../../tensor/pairwise.js';
import { Rng } from '../../util/rng.js';

// Honest updates on a line at 0, 0.1, 0.3, 0.6, 1.0 (second coordinate 0), outliers far away.
// With n = 7 and f = 2 each score sums the 3 smallest squared distances:
//   0 -> 0.01 + 0.09 + 0.36 = 0.46   0.1 -> 0.01 + 0.04 + 0.25 = 0.30   0.3 -> 0.04 + 0.09 + 0.09 = 0.22
//   0.6 -> 0.09 + 0.16 + 0.25 = 0.50  1.0 -> 0.16 + 0.49 + 0.81 = 1.46  outliers -> ~1e4
const lineSet = [
  [100, 100],
  [0, 0],
  [0.6, 0],
  [0.1, 0],
  [-80, 3],
  [1, 0],
  [0.3, 0],
];

function run(strategy: Krum, deltas: number[][]): number[] {
  const agg = strategy.beginRound({ round: 1, global: Float32Array.from([1, 1]), rng: new Rng(1) });
  deltas.forEach((d, i) => agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: 1 }));
  return [...agg.finish().global];
}

test('Krum scores by hand', () => {
  const rows = lineSet.map((d) => Float32Array.from(d));
  const scores = krumScores(pairwiseSquaredDistances(rows), 7, [0, 1, 2, 3, 4, 5, 6], 2);
  const expected = [NaN, 0.46, 0.5, 0.3, NaN, 1.46, 0.22];
  for (const i of [1, 2, 3, 5, 6])
    assert.ok(Math.abs(scores[i] - expected[i]) < 1e-6, `score ${i}: ${scores[i]}`);
  assert.ok(scores[0] > 1e4 && scores[4] > 1e4);
});

test('Krum chooses the best-scored honest update, never an outlier', () => {
  const s = new Krum({ f: 2 });
  assert.deepEqual(run(s, lineSet), [Math.fround(1 + Math.fround(0.3)), 1]);
  assert.deepEqual(s.lastSelected, ['c6']);
});

test('Krum never picks outliers over random trials', () => {
  const rng = new Rng(9);
  for (let trial = 0; trial < 20; trial++) {
    const s = new Krum({ f: 3 });
    const agg = s.beginRound({ round: 1, global: new Float32Array(50), rng });
    for (let i = 0; i < 12; i++) {
      const byzantine = i % 4 === 0; // 3 of 12
      const delta = Float32Array.from({ length: 50 }, () =>
        byzantine ? 10 + 5 * rng.normal() : rng.normal() * 0.1,
      );
      agg.add({ clientId: byzantine ? `bad${i}` : `ok${i}`, delta, numExamples: 1 });
    }
    agg.finish();
    assert.match(s.lastSelected[0], /^ok/);
  }
});

test('Krum needs n >= 2f + 3 updates', () => {
  const s = new Krum({ f: 2 });
  const agg = s.beginRound({ round: 1, global: new Float32Array(1), rng: new Rng(1) });
  for (let i = 0; i < 6; i++) agg.add({ clientId: `c${i}`, delta: Float32Array.from([i]), numExamples: 1 });
  assert.throws(() => agg.finish().global, /needs at least 2f \+ 3 = 7 updates, got 6/);
  assert.throws(() => new Krum({ f: -1 }), /f must be an integer/);
});

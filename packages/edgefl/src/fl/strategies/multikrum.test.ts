import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiKrum } from './multikrum.js';
import { Rng } from '../../util/rng.js';

// The set of krum.test.ts: honest updates at 0, 0.1, 0.3, 0.6, 1.0 and two outliers; with f = 2 the
// Krum scores are 0.46, 0.30, 0.22, 0.50, 1.46 and ~1e4 for the outliers.
const lineSet = [
  [100, 100],
  [0, 0],
  [0.6, 0],
  [0.1, 0],
  [-80, 3],
  [1, 0],
  [0.3, 0],
];

function run(strategy: MultiKrum, deltas: number[][]): number[] {
  const agg = strategy.beginRound({ round: 1, global: Float32Array.from([1, 1]), rng: new Rng(1) });
  deltas.forEach((d, i) =>
    agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: 100 * i + 1 }),
  );
  return [...agg.finish().global];
}

test('Multi-Krum averages the m best-scored updates (uniformly): scores 0.22, 0.30, 0.46 -> 0.3, 0.1, 0', () => {
  const s = new MultiKrum({ f: 2, m: 3 });
  const next = run(s, lineSet);
  assert.deepEqual(s.lastSelected, ['c6', 'c3', 'c1']);
  assert.ok(Math.abs(next[0] - (1 + (0.3 + 0.1 + 0) / 3)) < 1e-6);
  assert.equal(next[1], 1);
});

test('Multi-Krum: default m = n − f keeps every honest update and drops the outliers', () => {
  const s = new MultiKrum({ f: 2 });
  const next = run(s, lineSet);
  assert.deepEqual([...s.lastSelected].sort(), ['c1', 'c2', 'c3', 'c5', 'c6']);
  assert.ok(Math.abs(next[0] - (1 + (0 + 0.1 + 0.3 + 0.6 + 1) / 5)) < 1e-6);
});

test('Multi-Krum with m = 1 is Krum', () => {
  const s = new MultiKrum({ f: 2, m: 1 });
  assert.deepEqual(run(s, lineSet), [Math.fround(1 + Math.fround(0.3)), 1]);
});

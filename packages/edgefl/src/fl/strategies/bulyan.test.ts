import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bulyan } from './bulyan.js';
import { Rng } from '../../util/rng.js';

function run(strategy: Bulyan, deltas: number[][]): number[] {
  const agg = strategy.beginRound({ round: 1, global: new Float32Array(deltas[0].length), rng: new Rng(1) });
  deltas.forEach((d, i) => agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: 1 }));
  return [...agg.finish().global];
}

test('Bulyan on a constructed set, by hand', () => {
  // n = 7, f = 1: θ = 5 selected by repeated Krum, then the β = 3 values nearest the median.
  // Points A=0, B=0.1, C=0.3, D=0.6, E=1.0, F=0.45 and an outlier X=100. Selection:
  //  pool of 7, k = 4: C scores 0.04 + 0.0225 + 0.09 + 0.09 = 0.2425 (lowest)      -> C
  //  pool of 6, k = 3: F scores 0.0225 + 0.1225 + 0.2025 = 0.3475 (B 0.3825)       -> F
  //  pool of 5, k = 2: B scores 0.01 + 0.25 = 0.26 (A 0.37, D 0.41)                -> B
  //  pool of 4, k = 1: D and E tie at 0.16; the earlier arrival wins               -> D
  //  pool of 3, k = 1: A and E tie at 1.0                                          -> A
  // Selected values [0.3, 0.45, 0.1, 0.6, 0]: median 0.3; nearest three 0.3, 0.45, 0.1.
  const s = new Bulyan({ f: 1 });
  const next = run(s, [[0], [0.1], [0.3], [100], [0.6], [1.0], [0.45]]);
  assert.deepEqual(s.lastSelected, ['c2', 'c6', 'c1', 'c4', 'c0']);
  assert.ok(Math.abs(next[0] - (0.3 + 0.45 + 0.1) / 3) < 1e-6, `${next[0]}`);
});

test('Bulyan keeps every coordinate within the honest range under attack', () => {
  const rng = new Rng(21);
  const d = 40;
  const honest = Array.from({ length: 9 }, () => Array.from({ length: d }, () => 1 + 0.1 * rng.normal()));
  // Two attackers: one far away, one just outside the honest cloud in every coordinate.
  const attack = [Array(d).fill(1e6), Array(d).fill(1.5)];
  const next = run(new Bulyan({ f: 2 }), [...honest, ...attack]);
  for (let j = 0; j < d; j++) {
    const col = honest.map((h) => h[j]);
    assert.ok(next[j] >= Math.min(...col) && next[j] <= Math.max(...col), `coordinate ${j}: ${next[j]}`);
  }
});

test('Bulyan needs n >= 4f + 3 updates', () => {
  const agg = new Bulyan({ f: 1 }).beginRound({ round: 1, global: new Float32Array(1), rng: new Rng(1) });
  for (let i = 0; i < 6; i++) agg.add({ clientId: `c${i}`, delta: Float32Array.from([i]), numExamples: 1 });
  assert.throws(() => agg.finish().global, /needs at least 4f \+ 3 = 7 updates, got 6/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FedAvg } from './fedavg.js';
import { Rng } from '../../util/rng.js';
import type { Strategy } from '../strategy.js';

function runRound(
  strategy: Strategy,
  global: number[],
  deltas: number[][],
  examples: number[],
): Float32Array {
  const agg = strategy.beginRound({ round: 1, global: Float32Array.from(global), rng: new Rng(1) });
  deltas.forEach((d, i) =>
    agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: examples[i] }),
  );
  return agg.finish().global;
}

test('FedAvg: global plus the example-weighted mean delta', () => {
  // mean = (1·[1, 0] + 3·[0, 3]) / 4 = [0.25, 2.25]
  const next = runRound(
    new FedAvg(),
    [1, 2],
    [
      [1, 0],
      [0, 3],
    ],
    [1, 3],
  );
  assert.deepEqual([...next], [1.25, 4.25]);
  assert.equal(new FedAvg().aggregation, 'sum');
});

test('FedAvg: the server learning rate scales the mean delta', () => {
  const next = runRound(
    new FedAvg({ serverLearningRate: 0.5 }),
    [1, 2],
    [
      [1, 0],
      [0, 3],
    ],
    [1, 3],
  );
  assert.deepEqual([...next], [1.125, 3.125]);
  assert.throws(() => new FedAvg({ serverLearningRate: 0 }), /serverLearningRate must be a positive number/);
});

test('FedAvg: the result does not depend on arrival order and equals the float64 mean', () => {
  const rng = new Rng(11);
  const d = 5_003;
  const global = new Float32Array(d);
  for (let j = 0; j < d; j++) global[j] = rng.normal();
  const updates = Array.from({ length: 60 }, (_, i) => {
    const delta = new Float32Array(d);
    for (let j = 0; j < d; j++) delta[j] = rng.normal() * (1 + (i % 7)) * 1e-3;
    return { clientId: `c${i}`, delta, numExamples: 1 + rng.int(1000) };
  });
  // Reference: the same formula in float64 throughout, rounded once at the end.
  let total = 0;
  const sum = new Float64Array(d);
  for (const u of updates) {
    total += u.numExamples;
    for (let j = 0; j < d; j++) sum[j] += u.numExamples * u.delta[j];
  }
  const expected = Float32Array.from(global, (g, j) => g + sum[j] / total);

  const strategy = new FedAvg();
  const results = [0, 1, 2].map((seed) => {
    const order = seed === 0 ? updates : new Rng(seed).shuffle([...updates]);
    const agg = strategy.beginRound({ round: 1, global, rng: new Rng(1) });
    for (const u of order) agg.add(u);
    assert.equal(agg.count, 60);
    return agg.finish().global;
  });
  for (const r of results) {
    let maxUlps = 0;
    for (let j = 0; j < d; j++) {
      const ulp = Math.abs(expected[j]) * 2 ** -23 || 2 ** -149;
      maxUlps = Math.max(maxUlps, Math.abs(r[j] - expected[j]) / ulp);
    }
    assert.ok(maxUlps <= 1, `off by ${maxUlps} ulp`);
  }
});

test('FedAvg: finish returns a new array, leaves global alone, and is repeatable', () => {
  const global = Float32Array.from([1, 2]);
  const agg = new FedAvg().beginRound({ round: 1, global, rng: new Rng(1) });
  assert.throws(() => agg.finish().global, /no update was accepted/);
  agg.add({ clientId: 'a', delta: Float32Array.from([1, 1]), numExamples: 1 });
  const a = agg.finish().global;
  const b = agg.finish().global;
  assert.deepEqual([...global], [1, 2]);
  assert.deepEqual([...a], [2, 3]);
  assert.notEqual(a, b);
  assert.deepEqual(a, b);
  assert.throws(
    () => agg.add({ clientId: 'b', delta: Float32Array.from([1, 1]), numExamples: 1 }),
    /already finished/,
  );
});

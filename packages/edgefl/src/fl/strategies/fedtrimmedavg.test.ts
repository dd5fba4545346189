import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FedTrimmedAvg } from './fedtrimmedavg.js';
import { Rng } from '../../util/rng.js';

function round(beta: number | undefined, deltas: number[][]): number[] {
  const s = new FedTrimmedAvg(beta === undefined ? {} : { beta });
  const agg = s.beginRound({ round: 1, global: new Float32Array(deltas[0].length), rng: new Rng(1) });
  deltas.forEach((d, i) => agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: 1 }));
  return [...agg.finish().global];
}

test('FedTrimmedAvg: drops floor(beta·n) from each end of every coordinate', () => {
  // n = 5, beta = 0.2: trim 1. Column 0: [1, 2, 3, 4, 100] -> mean(2, 3, 4) = 3.
  // Column 1: [-50, 0, 1, 2, 10] -> mean(0, 1, 2) = 1.
  assert.deepEqual(
    round(0.2, [
      [1, -50],
      [2, 0],
      [3, 1],
      [4, 2],
      [100, 10],
    ]),
    [3, 1],
  );
  // Default beta is 0.2.
  assert.deepEqual(
    round(undefined, [
      [1, -50],
      [2, 0],
      [3, 1],
      [4, 2],
      [100, 10],
    ]),
    [3, 1],
  );
});

test('FedTrimmedAvg: beta 0 is the plain mean; floor(0.39·5) = 1; 0.4·5 trims 2', () => {
  assert.deepEqual(round(0, [[1], [2], [6]]), [3]);
  assert.deepEqual(round(0.39, [[1], [2], [3], [4], [100]]), [3]);
  assert.deepEqual(round(0.4, [[1], [2], [3], [4], [100]]), [3]);
  assert.deepEqual(round(0.4, [[1], [2], [7], [4], [100]]), [4]);
});

test('FedTrimmedAvg: beta must be in [0, 0.5)', () => {
  assert.throws(() => new FedTrimmedAvg({ beta: 0.5 }), /beta must be in \[0, 0.5\)/);
  assert.throws(() => new FedTrimmedAvg({ beta: -0.1 }), /beta/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FedAvgM } from './fedavgm.js';
import { Rng } from '../../util/rng.js';
import type { Strategy } from '../strategy.js';

function step(s: Strategy, global: Float32Array, ...deltas: number[][]): Float32Array {
  const agg = s.beginRound({ round: 1, global, rng: new Rng(1) });
  deltas.forEach((d, i) => agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: 1 }));
  return agg.finish().global;
}

const close = (a: ArrayLike<number>, b: number[]): void =>
  b.forEach((x, i) => assert.ok(Math.abs(a[i] - x) < 1e-6, `[${i}] ${a[i]} vs ${x}`));

test('FedAvgM: momentum after two rounds, by hand', () => {
  const s = new FedAvgM({ serverMomentum: 0.9 });
  // Round 1: mean delta [1, -2] (two clients); v = [1, -2]; w = [1, -2].
  const w1 = step(s, new Float32Array(2), [0, -1], [2, -3]);
  close(w1, [1, -2]);
  // Round 2: delta [2, 0.5]; v = 0.9·[1, -2] + [2, 0.5] = [2.9, -1.3]; w = [3.9, -3.3].
  close(step(s, w1, [2, 0.5]), [3.9, -3.3]);
});

test('FedAvgM: server learning rate 0.5', () => {
  const s = new FedAvgM({ serverMomentum: 0.9, serverLearningRate: 0.5 });
  const w1 = step(s, new Float32Array(2), [1, -2]);
  close(w1, [0.5, -1]);
  close(step(s, w1, [2, 0.5]), [0.5 + 1.45, -1 - 0.65]);
});

test('FedAvgM: momentum 0 is FedAvg; bad hyper-parameters are refused', () => {
  const s = new FedAvgM({ serverMomentum: 0 });
  const w1 = step(s, new Float32Array(1), [1]);
  close(step(s, w1, [2]), [3]);
  assert.throws(() => new FedAvgM({ serverMomentum: 1 }), /serverMomentum must be in \[0, 1\)/);
});

test('FedAvgM: state restored into a fresh strategy continues identically', () => {
  const a = new FedAvgM();
  const w1 = step(a, Float32Array.from([0, 1, 2]), [0.1, 0.2, -0.3], [0.5, -0.1, 0.2]);
  const b = new FedAvgM();
  b.setState(a.getState());
  const stateCopy = a.getState();
  assert.deepEqual(step(a, w1, [0.3, 0.3, 0.3]), step(b, w1, [0.3, 0.3, 0.3]));
  // getState hands out copies: the live momentum moved on, the earlier snapshot did not.
  assert.notDeepEqual(a.getState().arrays.momentum, stateCopy.arrays.momentum);
  assert.throws(
    () => b.setState({ json: { strategy: 'fedadam' }, arrays: {} }),
    /state is for strategy 'fedadam'/,
  );
  // Momentum from a model of another size is refused at the next round, naming the mismatch.
  assert.throws(
    () => b.beginRound({ round: 3, global: new Float32Array(5), rng: new Rng(1) }),
    /3 values but the model has 5/,
  );
});

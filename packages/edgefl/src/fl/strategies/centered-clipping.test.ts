import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CenteredClipping, centeredClip } from './centered-clipping.js';
import { Rng } from '../../util/rng.js';
import type { Strategy } from '../strategy.js';

function run(s: Strategy, global: Float32Array, deltas: Float32Array[]): Float32Array {
  const agg = s.beginRound({ round: 1, global, rng: new Rng(1) });
  deltas.forEach((delta, i) => agg.add({ clientId: `c${i}`, delta, numExamples: 1 }));
  return agg.finish().global;
}

// Eight honest updates around μ = [1, −1] (offsets that cancel), their mean exactly μ.
const mu = [1, -1];
const offsets = [
  [0.01, 0],
  [-0.01, 0],
  [0, 0.01],
  [0, -0.01],
  [0.005, 0.005],
  [-0.005, -0.005],
  [0.005, -0.005],
  [-0.005, 0.005],
];
const honest = offsets.map(([a, b]) => Float32Array.from([mu[0] + a, mu[1] + b]));

test('Centered clipping converges to the honest mean when huge outliers pull in opposite directions', () => {
  const outliers = [Float32Array.from([1e6, 1e6]), Float32Array.from([-1e6, -1e6])];
  const next = run(new CenteredClipping({ tau: 0.5, iterations: 50 }), new Float32Array(2), [
    ...honest,
    ...outliers,
  ]);
  assert.ok(Math.abs(next[0] - 1) < 1e-5 && Math.abs(next[1] + 1) < 1e-5, `${next}`);
});

test('Centered clipping: same-direction outliers shift the fixed point by exactly (f/h)·τ', () => {
  // Fixed point: 8·(μ − v) + 2·τ·u = 0, u the unit vector towards the outliers ≈ (1, 1)/√2.
  const outliers = [Float32Array.from([1e6, 1e6]), Float32Array.from([1e6, 1e6])];
  const tau = 0.5;
  const next = run(new CenteredClipping({ tau, iterations: 50 }), new Float32Array(2), [
    ...honest,
    ...outliers,
  ]);
  const shift = ((2 / 8) * tau) / Math.SQRT2;
  assert.ok(Math.abs(next[0] - (1 + shift)) < 1e-5 && Math.abs(next[1] - (-1 + shift)) < 1e-5, `${next}`);
  // The plain mean would have moved ~2e5.
});

test('Centered clipping: one iteration from zero, by hand', () => {
  // Updates [3, 4] (norm 5, clipped to τ = 1: [0.6, 0.8]) and [0.3, 0] (kept): v = ([0.6, 0.8] + [0.3, 0]) / 2.
  const next = run(new CenteredClipping({ tau: 1 }), Float32Array.from([10, 10]), [
    Float32Array.from([3, 4]),
    Float32Array.from([0.3, 0]),
  ]);
  assert.ok(Math.abs(next[0] - 10.45) < 1e-6 && Math.abs(next[1] - 10.4) < 1e-6, `${next}`);
});

test('Centered clipping: the next round starts from the previous aggregate, with optional momentum', () => {
  // τ huge: no clipping, L = 1: v = v_prev + mean(Δ − v_prev) = mean(Δ). u = 0.5·u + v.
  const s = new CenteredClipping({ tau: 1e9, serverMomentum: 0.5 });
  const w1 = run(s, Float32Array.from([0]), [Float32Array.from([2])]);
  assert.equal(w1[0], 2);
  const w2 = run(s, w1, [Float32Array.from([4])]);
  assert.equal(w2[0], 2 + (0.5 * 2 + 4));
  // τ small: the second round's center starts at v₁ = 0.1 (clipped), so the step is 0.1 + 0.1.
  const c = new CenteredClipping({ tau: 0.1 });
  const v1 = run(c, Float32Array.from([0]), [Float32Array.from([5])]);
  assert.ok(Math.abs(v1[0] - 0.1) < 1e-7);
  assert.ok(Math.abs(run(c, v1, [Float32Array.from([5])])[0] - 0.3) < 1e-6);
});

test('Centered clipping: state restored into a fresh strategy continues identically', () => {
  const make = () => new CenteredClipping({ tau: 0.3, iterations: 3, serverMomentum: 0.9 });
  const a = make();
  const w1 = run(a, Float32Array.from([0, 0, 0]), [
    Float32Array.from([1, 2, 3]),
    Float32Array.from([0, 1, -1]),
  ]);
  const b = make();
  b.setState(a.getState());
  const u = [Float32Array.from([0.5, 0.5, 0.5]), Float32Array.from([-2, 0, 9])];
  assert.deepEqual(run(a, w1, u), run(b, w1, u));
});

test('Centered clipping with L = 1 streams (O(model)) and matches the stored-update computation exactly', () => {
  const rng = new Rng(5);
  const deltas = Array.from({ length: 7 }, () => Float32Array.from({ length: 300 }, () => rng.normal()));
  const v = new Float64Array(300);
  centeredClip(deltas, v, 2, 1);
  const next = run(new CenteredClipping({ tau: 2 }), new Float32Array(300), deltas);
  assert.deepEqual(next, Float32Array.from(v));
});

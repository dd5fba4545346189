import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FedAdam } from './fedadam.js';
import { FedYogi } from './fedyogi.js';
import { FedAdagrad } from './fedadagrad.js';
import { Rng } from '../../util/rng.js';
import type { Strategy } from '../strategy.js';

function step(s: Strategy, global: number[] | Float32Array, ...deltas: number[][]): Float32Array {
  const agg = s.beginRound({ round: 1, global: Float32Array.from(global), rng: new Rng(1) });
  deltas.forEach((d, i) => agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: 1 }));
  return agg.finish().global;
}

const near = (actual: number, expected: number, tol = 1e-6): void =>
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);

test('FedAdam: one and two steps by hand (paper, no bias correction)', () => {
  const s = new FedAdam({ eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.01 });
  // Step 1, Δ = 0.5: m = 0.05, v = 0.01·0.25 = 0.0025, √v = 0.05; w = 0.1·0.05/0.06.
  const w1 = step(s, [0], [0.4], [0.6]);
  near(w1[0], (0.1 * 0.05) / (0.05 + 0.01));
  // Step 2, Δ = 0.25: m = 0.045 + 0.025 = 0.07, v = 0.002475 + 0.000625 = 0.0031.
  const w2 = step(s, w1, [0.25]);
  near(w2[0], w1[0] + (0.1 * 0.07) / (Math.sqrt(0.0031) + 0.01));
  assert.deepEqual(s.getState().json, { strategy: 'fedadam', steps: 2 });
});

test("FedAdam: Kingma & Ba's bias correction when asked", () => {
  const s = new FedAdam({ eta: 0.1, tau: 0.01, biasCorrection: true });
  // t = 1: η·√(1 − 0.99)/(1 − 0.9) = 0.1·0.1/0.1 = 0.1.
  const w1 = step(s, [0], [0.5]);
  near(w1[0], (0.1 * 0.05) / 0.06);
  // t = 2: η·√(1 − 0.99²)/(1 − 0.9²).
  const w2 = step(s, w1, [0.25]);
  near(w2[0], w1[0] + ((0.1 * Math.sqrt(1 - 0.99 ** 2)) / (1 - 0.81)) * (0.07 / (Math.sqrt(0.0031) + 0.01)));
});

test("FedAdam's defaults: a first step moves a coordinate by about η only where Δ is large against τ", () => {
  const s = new FedAdam();
  assert.deepEqual([s.eta, s.beta1, s.beta2, s.tau, s.etaL], [10 ** -2.5, 0.9, 0.99, 1e-4, undefined]);
  // Step 1: m = 0.1·Δ, √v = 0.1·|Δ|, so w = η·0.1·Δ / (0.1·|Δ| + τ).
  const w = step(s, [0, 0, 0], [1e-6, -50, 1e-3]);
  const small = (10 ** -2.5 * 1e-7) / (1e-7 + 1e-4); // about η/1000: in proportion to Δ
  assert.ok(Math.abs(w[0] - small) <= 1e-6 * small, `${w[0]} vs ${small}`);
  near(w[1], -(10 ** -2.5) * (5 / (5 + 1e-4)), 1e-5); // about −η
  near(w[2], (10 ** -2.5 * 1e-4) / (1e-4 + 1e-4), 1e-5); // η/2
  // Flower's η = 0.1, τ = 1e-9 moved every coordinate by about η, the smallest as much as the largest.
  const flower = step(new FedAdam({ eta: 0.1, tau: 1e-9 }), [0, 0], [1e-6, -50]);
  near(flower[0], 0.1, 1e-2);
  near(flower[1], -0.1, 1e-5);
});

test('FedYogi: one, two and three steps by hand (both signs of v − Δ²)', () => {
  const s = new FedYogi({ eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  // Step 1, Δ = 0.5: v = 0 − 0.01·0.25·sign(0 − 0.25) = 0.0025; m = 0.05.
  const w1 = step(s, [1], [0.5]);
  near(w1[0], 1 + (0.01 * 0.05) / (0.05 + 1e-3));
  // Step 2, Δ = 0.1: v − Δ² < 0, v = 0.0025 + 0.01·0.01 = 0.0026; m = 0.045 + 0.01 = 0.055.
  const w2 = step(s, w1, [0.1]);
  near(w2[0], w1[0] + (0.01 * 0.055) / (Math.sqrt(0.0026) + 1e-3));
  // Step 3, Δ = 0.01: v − Δ² > 0, v = 0.0026 − 0.01·1e-4 = 0.002599; m = 0.0495 + 0.001 = 0.0505.
  const w3 = step(s, w2, [0.01]);
  near(w3[0], w2[0] + (0.01 * 0.0505) / (Math.sqrt(0.002599) + 1e-3));
  const d = new FedYogi();
  assert.deepEqual([d.eta, d.beta1, d.beta2, d.tau, d.etaL], [10 ** -2.5, 0.9, 0.99, 1e-4, undefined]);
});

test('FedAdagrad: one and two steps by hand', () => {
  const s = new FedAdagrad({ eta: 0.1, tau: 1e-9 });
  // β₁ = 0: m = Δ. Step 1, Δ = 0.5: v = 0.25, w = 0.1·0.5/0.5 = 0.1.
  const w1 = step(s, [0], [0.5]);
  near(w1[0], 0.1);
  // Step 2, Δ = mean(−0.2, −0.4) = −0.3: v = 0.34.
  const w2 = step(s, w1, [-0.2], [-0.4]);
  near(w2[0], 0.1 - 0.03 / Math.sqrt(0.34));
  const d = new FedAdagrad();
  assert.deepEqual([d.eta, d.beta1, d.tau, d.etaL], [10 ** -1.5, 0, 1e-2, undefined]);
  // With β₁ > 0 the first moment decays as in Adam.
  const m = new FedAdagrad({ eta: 1, beta1: 0.5, tau: 1e-9 });
  near(step(m, [0], [2])[0], 0.5); // m = 1, v = 4
});

test('adaptive optimizers: state restored into a fresh strategy continues identically', () => {
  for (const make of [
    () => new FedAdam({ biasCorrection: true }),
    () => new FedYogi(),
    () => new FedAdagrad(),
  ]) {
    const a = make();
    const w1 = step(a, [0, 1, 2], [0.1, 0.2, -0.3], [0.5, -0.1, 0.2]);
    const b = make();
    b.setState(a.getState());
    const w2a = step(a, w1, [0.3, -0.3, 0.3]);
    const w2b = step(b, w1, [0.3, -0.3, 0.3]);
    assert.deepEqual(w2a, w2b, a.name);
    assert.deepEqual(step(a, w2a, [1, 2, 3]), step(b, w2b, [1, 2, 3]), a.name);
    assert.throws(() => b.setState({ json: { strategy: 'other' }, arrays: {} }), /not '/);
    assert.throws(
      () =>
        b.setState({
          json: { strategy: b.name, steps: 1 },
          arrays: { m: new Float32Array(3), v: new Float32Array(2) },
        }),
      /has 2 values, the others 3/,
    );
  }
});

test('etaL: sent as the client learning rate only when given', () => {
  const clients = [{ id: 'a' }, { id: 'b' }];
  const ctx = { round: 1, global: new Float32Array(1), rng: new Rng(1) };
  assert.equal(new FedAdam().configureFit, undefined);
  const s = new FedYogi({ etaL: 0.0316 });
  assert.deepEqual(s.configureFit?.(ctx, clients, { batchSize: 8, lr: 1 }), {
    clients,
    config: { batchSize: 8, lr: 0.0316 },
  });
});

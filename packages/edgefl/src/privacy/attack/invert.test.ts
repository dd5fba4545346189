/**
 * The optimization attack on a tiny setting (a 144-32-10 MLP on 12x12 stroke images): its doubly
 * differentiated objective against finite differences, a single client's image recovered, and a
 * secure sum over many clients not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from 'onnxruntime-common';
import { dense, flatten, relu, sequential, tanh } from '../../model/layers.js';
import { initialParameters } from '../../model/build.js';
import { nodeRuntime } from '@edgefl/node';
import { Rng } from '../../util/rng.js';
import { ClientGradient } from './client-gradient.js';
import { secureSum } from './defenses.js';
import { GradientInverter } from './invert.js';
import { inferLabels, lastBiasGradient } from './labels.js';
import { matchOneToOne } from './match.js';
import { psnr, ssim } from './metrics.js';
import { buildInversionGraph } from './objective.js';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';

const runtime = nodeRuntime();
const S = 12;
const spec = sequential([flatten(), dense(32), relu(), dense(10)], { inputShape: [1, S, S], seed: 5 });
const scores = (a: Float32Array, b: Float32Array) => ({
  psnr: psnr(a, b, 1),
  ssim: ssim(a, b, { width: S, height: S, dataRange: 1, window: 7 }),
});

/** A seeded stand-in for a handwritten digit: two soft strokes between random points. */
function strokes(seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(S * S);
  for (let k = 0; k < 2; k++) {
    const [y0, x0, y1, x1] = [0, 0, 0, 0].map(() => 1 + rng.uniform() * (S - 3));
    const [vy, vx] = [y1 - y0, x1 - x0];
    for (let p = 0; p < S * S; p++) {
      const [py, px] = [Math.floor(p / S), p % S];
      const t = Math.max(0, Math.min(1, ((py - y0) * vy + (px - x0) * vx) / (vy * vy + vx * vx + 1e-9)));
      const d = Math.hypot(py - (y0 + t * vy), px - (x0 + t * vx));
      out[p] = Math.max(out[p], Math.min(1, Math.max(0, 1.5 - d)));
    }
  }
  return out;
}

test('the inversion graph: d objective / d input agrees with finite differences (cosine + TV)', async () => {
  // Smooth activations keep the objective differentiable everywhere the differences look.
  const smooth = sequential([flatten(), dense(6), tanh(), dense(3)], { inputShape: [1, 5, 5], seed: 2 });
  const graph = buildInversionGraph(smooth);
  assert.ok(graph.hasImagePrior);
  const session = await runtime.InferenceSession.create(graph.bytes, { graphOptimizationLevel: 'basic' });
  const rng = new Rng(7);
  const params = initialParameters(smooth);
  const batch = 2;
  // A ramp plus a little noise: every neighbour difference is 0.08..0.12, so the TV prior's |.| has
  // no kink within the finite-difference steps (0.01 times a normal direction).
  const x = Float32Array.from({ length: batch * 25 }, (_, i) => {
    const [r, c] = [Math.floor((i % 25) / 5), i % 5];
    return 0.1 * (r + c) + 0.02 * rng.uniform();
  });
  const T = runtime.Tensor;
  const n = graph.names;
  const feedsAt = (input: Float32Array) => {
    const feeds: Record<string, Tensor> = {
      [n.input]: new T('float32', input, [batch, 1, 5, 5]),
      [n.labels]: new T('int32', Int32Array.of(0, 2), [batch]),
      [n.tvWeight]: new T('float32', Float32Array.of(0.05), []),
    };
    graph.layout.forEach((e, i) => {
      feeds[n.params[i]] = new T('float32', params.view(e.name), [...e.shape]);
      feeds[n.targets[i]] = new T(
        'float32',
        Float32Array.from({ length: e.size }, () => rng.normal()),
        [...e.shape],
      );
    });
    return feeds;
  };
  const feeds = feedsAt(x);
  const objectiveAt = async (input: Float32Array) => {
    const out = await session.run({ ...feeds, [n.input]: new T('float32', input, [batch, 1, 5, 5]) });
    return (out[n.objective].data as Float32Array)[0];
  };
  const dx = (await session.run(feeds))[n.inputGradient].data as Float32Array;
  const h = 1e-2;
  for (let k = 0; k < 3; k++) {
    const v = Float32Array.from(x, () => rng.normal());
    const fd =
      ((await objectiveAt(x.map((xi, i) => xi + h * v[i]))) -
        (await objectiveAt(x.map((xi, i) => xi - h * v[i])))) /
      (2 * h);
    const an = dx.reduce((s, d, i) => s + d * v[i], 0);
    assert.ok(Math.abs(an) > 1e-4, 'the gradient is not trivially zero');
    assert.ok(
      Math.abs(fd - an) <= 1e-4 + 3e-2 * Math.abs(fd),
      `direction ${k}: analytic ${an}, finite difference ${fd}`,
    );
  }
  await session.release();
});

test('one client, one image: the attack recovers it (PSNR far above a random guess)', async () => {
  const params = initialParameters(spec).values;
  const client = await ClientGradient.create(spec, { runtime });
  const inverter = await GradientInverter.create(spec, { runtime });
  const x = strokes(1);
  const g = await client.compute(params, x, Int32Array.of(3));
  const labels = inferLabels(lastBiasGradient(g, client.layout), 1);
  assert.deepEqual([...labels], [3], 'iDLG finds the label');
  const result = await inverter.invert(params, g, labels, { iterations: 300, seed: 1 });
  const got = scores(x, result.images);
  const rng = new Rng(9);
  const guess = scores(
    x,
    Float32Array.from(x, () => rng.uniform()),
  );
  assert.ok(
    got.psnr > 30 && got.psnr > guess.psnr + 20,
    `PSNR ${got.psnr} dB, a random guess ${guess.psnr} dB`,
  );
  assert.ok(got.ssim > 0.95, `SSIM ${got.ssim}`);
  assert.ok(result.distance < 1e-2, `the gradients match: cosine distance ${result.distance}`);
  await Promise.all([client.release(), inverter.release()]);
});

test('the secure sum of 40 clients, one image each: the attack fails, even with 40 dummy images', async () => {
  const params = initialParameters(spec).values;
  const client = await ClientGradient.create(spec, { runtime });
  const inverter = await GradientInverter.create(spec, { runtime });
  const K = 40;
  const images = Array.from({ length: K }, (_, i) => strokes(100 + i));
  const updates: Float32Array[] = [];
  for (let i = 0; i < K; i++) updates.push(await client.compute(params, images[i], Int32Array.of(i % 10)));
  const s = await secureSum(updates, { seed: 1, crypto: nodeSecAggCrypto() });
  assert.equal(s.survivors, K);
  const mean = s.sum.map((v) => v / K);
  const labels = inferLabels(lastBiasGradient(mean, client.layout), K);
  const result = await inverter.invert(params, mean, labels, { iterations: 300, seed: 2 });
  const recs = images.map((_, i) => result.images.subarray(i * S * S, (i + 1) * S * S));
  const pairing = matchOneToOne(images, recs, 1);
  const all = images.map((x, i) => scores(x, recs[pairing[i]]));
  const meanPsnr = all.reduce((a, b) => a + b.psnr, 0) / K;
  const meanSsim = all.reduce((a, b) => a + b.ssim, 0) / K;
  assert.ok(meanPsnr < 14, `mean PSNR ${meanPsnr} dB over the ${K} clients`);
  assert.ok(meanSsim < 0.6, `mean SSIM ${meanSsim}`);
  await Promise.all([client.release(), inverter.release()]);
});

test('bad inputs are refused with a message naming the problem', async () => {
  const inverter = await GradientInverter.create(spec, { runtime });
  const size = initialParameters(spec).size;
  const ok = new Float32Array(size);
  await assert.rejects(
    inverter.invert(ok, new Float32Array(3), Int32Array.of(0)),
    /observed gradient has 3 values, the model has/,
  );
  await assert.rejects(inverter.invert(ok, ok, new Int32Array(0)), /no labels/);
  await assert.rejects(
    inverter.invert(ok, ok, Int32Array.of(0), { iterations: 0 }),
    /iterations must be a positive integer/,
  );
  await inverter.release();
});

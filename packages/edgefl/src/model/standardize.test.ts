/**
 * The standardize layer: a model that starts with it, fed raw features, answers what the same
 * layers without it answer on features standardized by hand (float64 in JavaScript); it trains
 * like any model (its constants are not parameters); bad constants are refused naming the layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { ArrayDataset } from '../data/dataset.js';
import { sgd } from '../autodiff/optimizers.js';
import { Trainer } from '../runtime/trainer.js';
import { exportInferenceModel, EXPORT_INPUT, EXPORT_LOGITS } from './export.js';
import { buildModel, initialParameters } from './build.js';
import { dense, relu, sequential, standardize } from './layers.js';

const runtime = nodeRuntime();
const mean = [1000, -3, 0.05];
const std = [250, 2, 0.01];
const raw = Float32Array.from([1200, -1, 0.07, 800, -6, 0.04, 1000, -3, 0.05, 1500, 2, 0.02]);

async function logits(model: Uint8Array, input: Float32Array): Promise<Float32Array> {
  const session = await runtime.InferenceSession.create(model, {});
  const out = await session.run({
    [EXPORT_INPUT]: new runtime.Tensor('float32', input, [input.length / 3, 3]),
  });
  await session.release();
  return out[EXPORT_LOGITS].data as Float32Array;
}

test('standardize: raw features through the layer = hand-standardized features without it', async () => {
  const body = [dense(4), relu(), dense(2)];
  const withLayer = sequential([standardize(mean, std), ...body], { inputShape: [3], seed: 5 });
  const without = sequential(body, { inputShape: [3], seed: 5 });
  const params = initialParameters(withLayer);
  // No parameters of its own: the two models hold the same number of values (named by position).
  const same = initialParameters(without);
  assert.equal(same.values.length, params.values.length);
  same.values.set(params.values);
  const scaled = raw.map((v, i) => (v - mean[i % 3]) / std[i % 3]);
  const a = await logits(exportInferenceModel(withLayer, params), raw);
  const b = await logits(exportInferenceModel(without, same), scaled);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `logit ${i}: ${a[i]} vs ${b[i]}`);
});

test('standardize: a model with it learns from raw features of very different scales', async () => {
  // The label is the sign of the small third feature; the first is ~1000 and swamps it unscaled.
  const n = 200;
  const features = new Float32Array(n * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = (i * 7919) % n;
    features.set(
      [1000 + ((t * 37) % 500) - 250, -3 + ((t * 13) % 40) / 10 - 2, 0.05 + ((t % 20) - 9.5) / 1000],
      i * 3,
    );
    labels[i] = features[i * 3 + 2] > 0.05 ? 1 : 0;
  }
  const data = new ArrayDataset({ features, labels, featureShape: [3] });
  const spec = sequential([standardize(mean, std), dense(8), relu(), dense(2)], { inputShape: [3], seed: 2 });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  try {
    await trainer.fit(data, { epochs: 30, batchSize: 20, seed: 1 });
    const { accuracy } = await trainer.evaluate(data);
    assert.ok(accuracy! >= 0.95, `accuracy ${accuracy}`);
  } finally {
    await trainer.dispose();
  }
});

test('standardize: wrong lengths, a zero std or a NaN mean are refused naming the layer', () => {
  const build = (m: number[], s: number[]) =>
    buildModel(sequential([standardize(m, s), dense(2)], { inputShape: [3] }), { mode: 'infer' });
  assert.throws(() => build([0, 0], [1, 1, 1]), /standardize.*2 means and 3 stds for 3 features/);
  assert.throws(
    () => build([0, 0, 0], [1, 0, 1]),
    /standardize.*std\[1\] must be a positive finite number, got 0/,
  );
  assert.throws(() => build([0, NaN, 0], [1, 1, 1]), /standardize.*mean\[1\] must be finite/);
});

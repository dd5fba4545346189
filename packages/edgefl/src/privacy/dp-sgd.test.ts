import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { compileDpSgdGraph } from '../autodiff/dp-sgd-graph.js';
import { compileTrainingGraph } from '../autodiff/training-graph.js';
import { sgd } from '../autodiff/optimizers.js';
import { dense, relu, sequential, conv2d, flatten } from '../model/layers.js';
import { initialParameters } from '../model/build.js';
import { nodeRuntime } from '@edgefl/node';
import { Rng } from '../util/rng.js';
import { DpSgdTrainer, type DpSgdOptions } from './dp-sgd.js';
import { epsilon } from './dp/accountant.js';
import { blobs, blobsTrainTest } from '../../../../test/helpers/synthetic.js';
import { Trainer, TrainingDivergedError } from '../runtime/trainer.js';
import { checkOnnxModel } from '../../../../test/helpers/onnx-checker.js';

const runtime = nodeRuntime();
const spec = sequential([dense(6), relu(), dense(3)], { inputShape: [4], seed: 3 });
/** z = 1, C = 1, SGD lr 0.5, seeded noise and sampling. */
const seededDpSgd = (batchSize: number) =>
  DpSgdTrainer.create(spec, {
    noiseMultiplier: 1.0,
    clipNorm: 1,
    batchSize,
    optimizer: sgd({ lr: 0.5 }),
    noiseSeed: 4,
    runtime,
  });

test('the DP-SGD graph: per-example norms and the clipped sum match per-example gradients run one by one', async () => {
  const params = initialParameters(spec);
  const rng = new Rng(1);
  const b = 6;
  const x = Float32Array.from({ length: b * 4 }, () => 2 * rng.normal());
  const y = Int32Array.from({ length: b }, (_, i) => i % 3);

  // Reference: the ordinary gradient graph, one example at a time; clip in plain code.
  const plain = compileTrainingGraph(spec, { loss: 'softmaxCrossEntropy' });
  const ps = await ort.InferenceSession.create(plain.bytes);
  const feedsOf = (names: string[]) =>
    Object.fromEntries(
      params.entries.map((e, i) => [
        names[i],
        new ort.Tensor('float32', params.values.slice(e.offset, e.offset + e.size), [...e.shape]),
      ]),
    );
  const perExample: Float32Array[] = [];
  for (let i = 0; i < b; i++) {
    const out = await ps.run({
      ...feedsOf(plain.names.params),
      [plain.names.input]: new ort.Tensor('float32', x.slice(4 * i, 4 * i + 4), [1, 4]),
      [plain.names.labels]: new ort.Tensor('int32', y.slice(i, i + 1), [1]),
    });
    const g = new Float32Array(params.values.length);
    params.entries.forEach((e, k) => g.set(out[plain.names.paramsOut[k]].data as Float32Array, e.offset));
    perExample.push(g);
  }
  const norms = perExample.map((g) => Math.sqrt(g.reduce((a, v) => a + v * v, 0)));
  const C = [...norms].sort((a, c) => a - c)[b >> 1]; // about half the examples get clipped
  const clippedSum = new Float64Array(params.values.length);
  perExample.forEach((g, i) => {
    const f = Math.min(1, C / norms[i]);
    for (let j = 0; j < g.length; j++) clippedSum[j] += f * g[j];
  });

  // The DP-SGD graph with zero noise, SGD lr 1 and denominator 1: new = old - Σ clipped.
  const dp = compileDpSgdGraph(spec, { optimizer: sgd({ lr: 1 }) });
  await checkOnnxModel(dp.bytes); // the official checker, full shape inference
  const ds = await ort.InferenceSession.create(dp.bytes);
  const out = await ds.run({
    ...feedsOf(dp.names.params),
    ...Object.fromEntries(
      params.entries.map((e, i) => [
        dp.names.noise[i],
        new ort.Tensor('float32', new Float32Array(e.size), [...e.shape]),
      ]),
    ),
    [dp.names.input]: new ort.Tensor('float32', x, [b, 4]),
    [dp.names.labels]: new ort.Tensor('int32', y, [b]),
    [dp.names.clipNorm]: new ort.Tensor('float32', Float32Array.of(C), []),
    [dp.names.denominator]: new ort.Tensor('float32', Float32Array.of(1), []),
    [dp.names.hyper[0]]: new ort.Tensor('float32', Float32Array.of(1), []),
  });
  const graphNorms = out[dp.names.norms].data as Float32Array;
  norms.forEach((n, i) =>
    assert.ok(Math.abs(graphNorms[i] - n) <= 1e-5 * (1 + n), `norm ${i}: ${graphNorms[i]} vs ${n}`),
  );
  assert.equal((out[dp.names.clipped].data as Float32Array)[0], norms.filter((n) => n > C).length);
  params.entries.forEach((e, k) => {
    const next = out[dp.names.paramsOut[k]].data as Float32Array;
    for (let j = 0; j < e.size; j++) {
      const step = params.values[e.offset + j] - next[j];
      assert.ok(
        Math.abs(step - clippedSum[e.offset + j]) < 1e-5,
        `${e.name}[${j}]: ${step} vs ${clippedSum[e.offset + j]}`,
      );
    }
  });
  await ps.release();
  await ds.release();
});

test('DP-SGD training: learns a separable task, reports the accountant epsilon, survives empty batches', async () => {
  const { train, test } = blobsTrainTest(600, 300, 4, 3, 2, 0.3);
  const t = await seededDpSgd(30);
  const r = await t.fit(train, { epochs: 5, seed: 1 });
  assert.equal(r.steps, 100);
  const ref = epsilon({ samplingRate: 30 / 600, noiseMultiplier: 1.0, steps: 100, delta: 1e-5 }).epsilon;
  assert.equal(r.epsilon, ref);
  const evaluator = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  evaluator.setParameters(t.getParameters());
  const { accuracy } = await evaluator.evaluate(test);
  assert.ok(accuracy! > 0.85, `held-out accuracy ${accuracy}`);
  // A tiny dataset with q = 1/3: many steps have no example at all, and still release noise.
  const tiny = blobs(3, 4, 3, 5, 0.3);
  const before = t.getParameters();
  const r2 = await t.fit(tiny, { steps: 12, seed: 2 });
  assert.equal(r2.steps, 12);
  assert.notDeepEqual(t.getParameters(), before);
  await t.dispose();
  await evaluator.dispose();
});

test('a diverging DP-SGD fit is reported and leaves the parameters as they were', async () => {
  const { train } = blobsTrainTest(200, 10, 4, 3, 2, 0.3);
  const t = await seededDpSgd(20);
  await t.fit(train, { steps: 3, seed: 1 });
  const before = t.getParameters();
  await assert.rejects(
    t.fit(train, { steps: 5, seed: 2, lr: 1e39 }),
    (e: Error) => e instanceof TrainingDivergedError && /lower the learning rate/.test(e.message),
  );
  assert.deepEqual(t.getParameters(), before);
  // And it trains on from there as if the failed fit had not happened.
  const again = await t.fit(train, { steps: 2, seed: 3 });
  assert.ok(Number.isFinite(again.loss));
  await t.dispose();
});

test('DP-SGD without a runtime is refused, naming what to pass', async () => {
  const withoutRuntime = { noiseMultiplier: 1, clipNorm: 1, batchSize: 10, optimizer: sgd({ lr: 0.1 }) };
  await assert.rejects(
    DpSgdTrainer.create(spec, withoutRuntime as unknown as DpSgdOptions),
    /DpSgdTrainer\.create: no ONNX Runtime given: pass \{ runtime: nodeRuntime\(\) \}/,
  );
});

test('DP-SGD refuses layers it cannot clip per example, naming the parameter', () => {
  const cnn = sequential([conv2d({ filters: 2, kernel: 3 }), relu(), flatten(), dense(3)], {
    inputShape: [1, 6, 6],
    seed: 1,
  });
  assert.throws(() => compileDpSgdGraph(cnn, { optimizer: sgd({ lr: 0.1 }) }), /'conv2d.*' is used by Conv/);
});

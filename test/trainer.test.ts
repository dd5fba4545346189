/** Trainer behaviour: learning, determinism, parameter exchange, and refusal of bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  sgd,
  ArrayDataset,
  dense,
  relu,
  sequential,
  Trainer,
  TrainingDivergedError,
  type TrainerOptions,
  ParameterSet,
} from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { blobs } from './helpers/synthetic.js';
import { inSharedMemory } from './helpers/shared-memory.js';

const runtime = nodeRuntime();
const spec = sequential([dense(16), relu(), dense(4)], { inputShape: [5], seed: 7 });
const train = blobs(400, 5, 4, 1);
const test_ = blobs(200, 5, 4, 1); // same centers (same seed), fresh noise order
const create = () =>
  Trainer.create(spec, { loss: 'softmaxCrossEntropy', optimizer: sgd({ lr: 0.1, momentum: 0.9 }), runtime });

test('learns a separable problem: loss falls and held-out accuracy exceeds 95%', async () => {
  const t = await create();
  const before = await t.evaluate(test_);
  const progress: number[] = [];
  const r = await t.fit(train, {
    batchSize: 16,
    epochs: 5,
    seed: 1,
    onProgress: (p) => progress.push(p.step),
  });
  const after = await t.evaluate(test_);
  assert.ok(after.loss < before.loss / 4, `loss ${before.loss} -> ${after.loss}`);
  assert.ok(after.accuracy! > 0.95, `accuracy ${after.accuracy}`);
  assert.equal(r.steps, 5 * 25);
  assert.equal(r.samples, 2000);
  assert.ok(
    progress.length > 10 && progress[progress.length - 1] === 125,
    'progress reported through the last step',
  );
  await t.dispose();
});

test('same seed, same result; a fixed number of steps; partial last batches', async () => {
  const a = await create();
  const b = await create();
  await a.fit(train, { batchSize: 30, epochs: 1, seed: 42 }); // 400 = 13 * 30 + 10
  await b.fit(train, { batchSize: 30, epochs: 1, seed: 42 });
  assert.deepEqual(a.getParameters().values, b.getParameters().values);
  const r = await a.fit(train, { batchSize: 30, steps: 3, seed: 1 });
  assert.equal(r.steps, 3);
  assert.equal(r.samples, 90);
  const c = await create();
  await c.fit(train, { batchSize: 30, epochs: 1, seed: 43 });
  assert.notDeepEqual(a.getParameters().values, c.getParameters().values);
});

test('a Trainer without a runtime is refused, naming what to pass', async () => {
  const withoutRuntime = {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
  } as unknown as TrainerOptions;
  await assert.rejects(
    Trainer.create(spec, withoutRuntime),
    /^Error: Trainer\.create: no ONNX Runtime given: pass \{ runtime: nodeRuntime\(\) \} from '@edgefl\/node', or webRuntime\(ort\) from 'edgefl\/web'$/,
  );
});

test('getParameters / setParameters: one flat Float32Array with a name/shape table', async () => {
  const t = await create();
  const p = t.getParameters();
  assert.deepEqual(
    p.entries.map((e) => [e.name, e.shape]),
    [
      ['dense_0.weight', [16, 5]],
      ['dense_0.bias', [16]],
      ['dense_2.weight', [4, 16]],
      ['dense_2.bias', [4]],
    ],
  );
  assert.equal(p.values.length, 16 * 5 + 16 + 4 * 16 + 4);
  const zeros = p.withValues();
  t.setParameters(zeros);
  const e = await t.evaluate(test_);
  assert.ok(Math.abs(e.loss - Math.log(4)) < 1e-6, 'all-zero weights give uniform predictions: loss = ln 4');
  assert.throws(() => t.setParameters(new Float32Array(3)), /3 values, the model has 164/);
  const bad = p.clone();
  bad.values[84] = NaN;
  assert.throws(() => t.setParameters(bad), /value 84 \(dense_0\.bias\[4\]\) is NaN/);
  const wrongLayout = new ParameterSet(ParameterSet.layout([{ name: 'other', shape: [164] }]));
  assert.throws(() => t.setParameters(wrongLayout), /entry 0 is 'other'/);
});

test('refuses bad data with a message naming the problem', async () => {
  const t = await create();
  const wrongShape = blobs(10, 3, 4);
  await assert.rejects(
    t.fit(wrongShape, { batchSize: 4 }),
    /samples have shape \[3\], the model expects \[5\]/,
  );
  const labels = Int32Array.from({ length: 10 }, (_, i) => (i === 7 ? 9 : i % 4));
  const outOfRange = new ArrayDataset({ features: new Float32Array(50), labels, featureShape: [5] });
  await assert.rejects(t.fit(outOfRange, { batchSize: 4 }), /sample 7.*9/);
  const features = new Float32Array(50);
  features[13] = NaN;
  const nan = new ArrayDataset({ features, labels: new Int32Array(10), featureShape: [5] });
  await assert.rejects(t.fit(nan, { batchSize: 4 }), /sample 2.*NaN/);
  await assert.rejects(t.fit(train, { batchSize: 0 }), /batchSize must be a positive integer/);
});

test('a diverging fit is reported and leaves the parameters as they were', async () => {
  const t = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 1e30 }),
    runtime,
  });
  const before = t.getParameters().values;
  await assert.rejects(
    t.fit(train, { batchSize: 16, epochs: 1 }),
    (e: Error) => e instanceof TrainingDivergedError && /lower the learning rate/.test(e.message),
  );
  assert.deepEqual(t.getParameters().values, before);
});

test('an update that overflows is reported even when the loss before it was finite', async () => {
  const t = await create();
  const before = t.getParameters().values;
  const state = t.getOptimizerState();
  // 1e39 is beyond float32: the one step's loss (of the parameters before it) is finite, the
  // parameters after it are not.
  await assert.rejects(
    t.fit(train, { batchSize: 16, steps: 1, lr: 1e39 }),
    (e: Error) =>
      e instanceof TrainingDivergedError &&
      /after step 1 parameter dense_\d\.\w+\[\d+\] is (-?Infinity|NaN)/.test(e.message),
  );
  assert.deepEqual(t.getParameters().values, before);
  assert.deepEqual(t.getOptimizerState(), state);
});

test('trains from any source of typed-array batches, identically to the same batches from a Dataset', async () => {
  const a = await create();
  const b = await create();
  await a.fit(train, { batchSize: 40, epochs: 1, shuffle: false });
  async function* stream() {
    for (let start = 0; start < train.length; start += 40) {
      yield {
        size: 40,
        features: (train.features as Float32Array).slice(start * 5, (start + 40) * 5),
        labels: (train.labels as Int32Array).slice(start, start + 40),
      };
    }
  }
  const r = await b.fit(stream(), {});
  assert.equal(r.steps, 10);
  assert.deepEqual(b.getParameters().values, a.getParameters().values);
  const bad = [
    { size: 2, features: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, NaN), labels: Int32Array.of(0, 1) },
  ];
  await assert.rejects(b.fit(bad, {}), /batch 0: sample 1 has feature NaN at 4/);
  const badLabel = [{ size: 1, features: new Float32Array(5), labels: Int32Array.of(4) }];
  await assert.rejects(b.fit(badLabel, {}), /label 4 of sample 0 is not a class index in \[0, 4\)/);
  assert.deepEqual(b.getParameters().values, a.getParameters().values, 'refused batches change nothing');
});

test('FedProx with its reference in shared memory trains exactly as with an ordinary one', async () => {
  const [a, b, plain] = [await create(), await create(), await create()];
  const reference = a.getParameters().values.map((v) => v * 0.5);
  const fit = { batchSize: 16, epochs: 1, seed: 3 };
  await a.fit(train, { ...fit, proximal: { mu: 0.5, reference } });
  await b.fit(train, { ...fit, proximal: { mu: 0.5, reference: inSharedMemory(reference) } });
  await plain.fit(train, fit);
  assert.deepEqual(b.getParameters().values, a.getParameters().values);
  assert.notDeepEqual(a.getParameters().values, plain.getParameters().values, 'the proximal term acted');
});

test('trains on streamed batches that lie in shared memory', async () => {
  const [a, b] = [await create(), await create()];
  const batches = (share: boolean) =>
    [0, 100, 200, 300].map((start) => {
      const features = (train.features as Float32Array).slice(start * 5, (start + 100) * 5);
      const labels = (train.labels as Int32Array).slice(start, start + 100);
      return share
        ? { size: 100, features: inSharedMemory(features), labels: inSharedMemory(labels) }
        : { size: 100, features, labels };
    });
  await a.fit(batches(false), {});
  const r = await b.fit(batches(true), {});
  assert.equal(r.steps, 4);
  assert.deepEqual(b.getParameters().values, a.getParameters().values);
});

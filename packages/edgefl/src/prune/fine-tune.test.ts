import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { pruneWhileFineTuning, fineTuneSchedule } from './fine-tune.js';
import { polynomialDecay } from './schedule.js';
import { readEdgeflModel, writeEdgeflModel } from '../model/edgefl-onnx.js';
import { Trainer } from '../runtime/trainer.js';
import { sgd } from '../autodiff/optimizers.js';
import { dense, relu, sequential } from '../model/layers.js';
import { exportInferenceModel } from '../model/export.js';
import { importModel } from '../onnx/edit/io.js';
import { blobsTrainTest } from '../../../../test/helpers/synthetic.js';
import { checkOnnxModel } from '../../../../test/helpers/onnx-checker.js';

const runtime = nodeRuntime();
const spec = sequential([dense(32), relu(), dense(32), relu(), dense(3)], { inputShape: [6], seed: 4 });

test('gradual pruning while fine-tuning: chunks end at the schedule steps, the final sparsity is exact, the model still learns', async () => {
  const { train, test: heldOut } = blobsTrainTest(600, 300, 6, 3, 11, 0.4);
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  const schedule = polynomialDecay({ finalSparsity: 0.8, endStep: 70, frequency: 10 });
  const result = await pruneWhileFineTuning(trainer, train, { schedule, steps: 100, batchSize: 20, seed: 1 });
  assert.deepEqual(
    result.chunks.map((c) => c.step),
    [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
  );
  // Each chunk's mask: round(s(t) · n) of each weight tensor, s the closed form.
  const sizes = [6 * 32, 32 * 32, 32 * 3];
  for (const c of result.chunks.slice(0, 7)) {
    const s = 0.8 * (1 - (1 - c.step / 70) ** 3);
    const pruned = sizes.reduce((n, size) => n + Math.round(s * size), 0);
    assert.ok(Math.abs(c.sparsity - pruned / (6 * 32 + 32 * 32 + 32 * 3)) < 1e-12, `step ${c.step}`);
  }
  const params = trainer.getParameters();
  assert.deepEqual(
    result.layers.map((l) => [l.name, l.pruned]),
    [
      ['dense_0.weight', Math.round(0.8 * 192)],
      ['dense_2.weight', Math.round(0.8 * 1024)],
      ['dense_4.weight', Math.round(0.8 * 96)],
    ],
  );
  for (const l of result.layers) {
    const zeros = params.view(l.name).filter((v) => v === 0).length;
    assert.ok(zeros >= l.pruned, `${l.name}: ${zeros} zeros for ${l.pruned} pruned`);
  }
  for (const b of ['dense_0.bias', 'dense_2.bias', 'dense_4.bias'])
    assert.ok(
      params.view(b).some((v) => v !== 0),
      `${b} was left whole`,
    );
  const { accuracy } = await trainer.evaluate(heldOut);
  assert.ok(accuracy! > 0.9, `held-out accuracy ${accuracy} at 80% sparsity`);

  // Within a chunk the training step does not know the mask: pruned weights regrow until masked.
  const zerosBefore = params.view('dense_2.weight').filter((v) => v === 0).length;
  await trainer.fit(train, { batchSize: 20, steps: 1 });
  const zerosAfter = trainer
    .getParameters()
    .view('dense_2.weight')
    .filter((v) => v === 0).length;
  assert.ok(zerosAfter < zerosBefore, `${zerosBefore} -> ${zerosAfter} zeros after an unmasked step`);
  await trainer.dispose();
});

test('an edgefl export reads back into its spec and parameters, and a pruned one exports, passes the checker and loads', async () => {
  const { train } = blobsTrainTest(200, 10, 6, 3, 2, 0.4);
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  await trainer.fit(train, { batchSize: 20, steps: 10 });
  const bytes = exportInferenceModel(spec, trainer.getParameters(), { labels: ['a', 'b', 'c'] });
  const read = readEdgeflModel(importModel(bytes, 'blobs.onnx'));
  assert.deepEqual(read.spec, JSON.parse(JSON.stringify(spec)));
  assert.deepEqual(read.parameters.values, trainer.getParameters().values);
  assert.equal(read.metadata['edgefl.labels'], '["a","b","c"]');

  const fine = await Trainer.create(read.spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
    parameters: read.parameters,
  });
  await pruneWhileFineTuning(fine, train, { schedule: fineTuneSchedule(0.5, 20), steps: 20, batchSize: 20 });
  const pruned = writeEdgeflModel(read, fine.getParameters());
  await checkOnnxModel(pruned);
  const again = importModel(pruned);
  assert.equal(again.metadata('edgefl.labels'), '["a","b","c"]');
  assert.ok(again.outputs.some((o) => o.name === 'probabilities'));
  const session = await runtime.InferenceSession.create(pruned, runtime.defaultSessionOptions);
  const out = await session.run({ input: new runtime.Tensor('float32', new Float32Array(12), [2, 6]) });
  assert.deepEqual(out.logits.dims, [2, 3]);
  await session.release();

  // A model without the spec cannot be rebuilt for training: refused, saying why.
  const foreign = importModel(bytes, 'foreign.onnx');
  foreign.deleteMetadata('edgefl.model');
  assert.throws(
    () => readEdgeflModel(foreign),
    /foreign\.onnx has no 'edgefl\.model' metadata: it was not exported by edgefl/,
  );
  await trainer.dispose();
  await fine.dispose();
});

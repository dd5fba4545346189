/**
 * Trainer.predict: the outputs for every sample, checked against a second path to the same
 * numbers — the exported inference model run in its own ONNX Runtime session — whatever the batch
 * size, in the dataset's order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { ArrayDataset } from '../data/dataset.js';
import { sgd } from '../autodiff/optimizers.js';
import { exportInferenceModel, EXPORT_INPUT, EXPORT_LOGITS } from '../model/export.js';
import { dense, relu, sequential } from '../model/layers.js';
import { Trainer } from './trainer.js';

const runtime = nodeRuntime();

test('predict gives the exported model’s logits for every sample, in order, at any batch size', async () => {
  const n = 53;
  const features = Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 0.7) * 2);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const data = new ArrayDataset({ features, labels, featureShape: [4] });
  const spec = sequential([dense(6), relu(), dense(3)], { inputShape: [4], seed: 3 });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  try {
    await trainer.fit(data, { epochs: 2, batchSize: 8, seed: 1 });
    const session = await runtime.InferenceSession.create(
      exportInferenceModel(spec, trainer.getParameters()),
      {},
    );
    const out = await session.run({ [EXPORT_INPUT]: new runtime.Tensor('float32', features, [n, 4]) });
    await session.release();
    const reference = out[EXPORT_LOGITS].data as Float32Array;
    for (const batchSize of [undefined, 7, 1]) {
      const logits = await trainer.predict(data, { batchSize });
      assert.equal(logits.length, n * 3);
      for (let i = 0; i < logits.length; i++)
        assert.ok(
          Math.abs(logits[i] - reference[i]) < 1e-5,
          `batch ${batchSize}, value ${i}: ${logits[i]} vs ${reference[i]}`,
        );
    }
  } finally {
    await trainer.dispose();
  }
});

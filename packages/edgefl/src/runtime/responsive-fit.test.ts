/**
 * A long fit lets the event loop run: an abort requested from a timer (as a Ctrl-C handler would)
 * stops it long before its last step. ONNX Runtime's native run() resolves without returning to the
 * event loop, so without the loop's periodic yield the timer would only fire after the fit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { ArrayDataset } from '../data/dataset.js';
import { sgd } from '../autodiff/optimizers.js';
import { dense, relu, sequential } from '../model/layers.js';
import { Trainer } from './trainer.js';

test('an abort from a timer stops a long fit: the training loop yields to the event loop', async () => {
  const n = 512;
  const data = new ArrayDataset({
    features: Float32Array.from({ length: n * 64 }, (_, i) => Math.sin(i)),
    labels: Int32Array.from({ length: n }, (_, i) => i % 4),
    featureShape: [64],
  });
  const spec = sequential([dense(256), relu(), dense(4)], { inputShape: [64], seed: 1 });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.01 }),
    runtime: nodeRuntime(),
  });
  const stop = new AbortController();
  let steps = 0;
  const timer = setTimeout(() => stop.abort(), 50);
  try {
    await assert.rejects(
      trainer.fit(data, {
        steps: 200_000,
        batchSize: 8,
        signal: stop.signal,
        onProgress: (p) => (steps = p.step),
        progressEvery: 1,
      }),
      /fit: aborted/,
    );
    assert.ok(steps < 200_000, `stopped after ${steps} steps`);
  } finally {
    clearTimeout(timer);
    await trainer.dispose();
  }
});

/** The exported inference .onnx: valid ONNX, loads in onnxruntime-node, predicts as the trainer does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import {
  sgd,
  conv2d,
  dense,
  flatten,
  maxPool2d,
  relu,
  sequential,
  exportInferenceModel,
  decodeModel,
  OnnxFormatError,
  ArrayDataset,
  Trainer,
  Rng,
} from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { checkOnnxModel } from './helpers/onnx-checker.js';

const runtime = nodeRuntime();

test('a trained CNN exports to an .onnx whose predictions equal the trainer accuracy, with metadata', async () => {
  const rng = new Rng(3);
  const n = 64;
  const features = Float32Array.from({ length: n * 64 }, () => rng.uniform());
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  for (let i = 0; i < n; i++) features[i * 64 + labels[i] * 5] += 3; // a learnable pixel per class
  const data = new ArrayDataset({
    features,
    labels,
    featureShape: [1, 8, 8],
    classes: ['a', 'b', 'c'],
    normalization: { scale: 1 / 255, mean: 0, std: 1 },
  });
  const spec = sequential(
    [conv2d({ filters: 4, kernel: 3, padding: 'same' }), relu(), maxPool2d(2), flatten(), dense(3)],
    { inputShape: [1, 8, 8], seed: 1, name: 'tiny' },
  );
  const t = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
    runtime,
  });
  await t.fit(data, { batchSize: 8, epochs: 10, seed: 1 });
  const { accuracy } = await t.evaluate(data);

  const bytes = exportInferenceModel(spec, t.getParameters(), {
    labels: data.classes,
    normalization: data.normalization,
  });
  await checkOnnxModel(bytes);
  const model = decodeModel(bytes);
  const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  assert.deepEqual(JSON.parse(meta['edgefl.labels']), ['a', 'b', 'c']);
  assert.deepEqual(JSON.parse(meta['edgefl.normalization']), { scale: 1 / 255, mean: 0, std: 1 });
  assert.equal(model.graph!.initializer!.length > 0, true);
  assert.deepEqual(
    model.graph!.input!.map((i) => i.name),
    ['input'],
    'parameters are initializers, not inputs',
  );

  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ input: new ort.Tensor('float32', features, [n, 1, 8, 8]) });
  const logits = out.logits.data as Float32Array;
  const probs = out.probabilities.data as Float32Array;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.subarray(i * 3, i * 3 + 3));
    if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    const p = probs.subarray(i * 3, i * 3 + 3);
    assert.ok(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-5);
  }
  assert.equal(correct / n, accuracy);
  assert.ok(accuracy! > 0.9, `the toy problem is learned (${accuracy})`);
});

test('bytes that are not an ONNX model are refused with a clear error', () => {
  assert.throws(
    () => decodeModel(new TextEncoder().encode('hello, I am not a model'), 'notes.txt'),
    (e: Error) => e instanceof OnnxFormatError && /notes\.txt is not an ONNX model/.test(e.message),
  );
  assert.throws(() => decodeModel(new Uint8Array(0), 'empty.onnx'), /empty\.onnx is not an ONNX model/);
});

test('the exported .onnx gives the same predictions in onnxruntime-web (WebAssembly) as in onnxruntime-node', async () => {
  const ortWeb = await import('onnxruntime-web');
  ortWeb.env.wasm.numThreads = 1;
  const spec = sequential([conv2d({ filters: 3, kernel: 3 }), relu(), maxPool2d(2), flatten(), dense(4)], {
    inputShape: [2, 6, 6],
    seed: 4,
  });
  const t = await Trainer.create(spec, { loss: 'softmaxCrossEntropy', optimizer: sgd({ lr: 0.1 }), runtime });
  const bytes = exportInferenceModel(spec, t.getParameters(), { labels: ['w', 'x', 'y', 'z'] });
  const rng = new Rng(8);
  const x = Float32Array.from({ length: 5 * 72 }, () => rng.normal());
  const node = await (
    await ort.InferenceSession.create(bytes)
  ).run({ input: new ort.Tensor('float32', x, [5, 2, 6, 6]) });
  const web = await (
    await ortWeb.InferenceSession.create(bytes)
  ).run({ input: new ortWeb.Tensor('float32', x, [5, 2, 6, 6]) });
  const [a, b] = [node.probabilities.data as Float32Array, web.probabilities.data as Float32Array];
  assert.equal(a.length, 20);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `probability ${i}: node ${a[i]} vs web ${b[i]}`);
});

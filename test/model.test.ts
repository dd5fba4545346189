/** The layers API: valid ONNX for every layer, clear errors for wrong models, whole-model gradients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import {
  compileTrainingGraph,
  adam,
  ArrayDataset,
  buildModel,
  initialParameters,
  avgPool2d,
  conv2d,
  dense,
  dropout,
  embedding,
  flatten,
  gelu,
  globalAvgPool,
  layerNorm,
  leakyRelu,
  maxPool2d,
  positionalEmbedding,
  relu,
  reshape,
  residual,
  sequential,
  sigmoid,
  softmax,
  tanh,
  transformerBlock,
  type ModelSpec,
  builtInModel,
  exportInferenceModel,
  Trainer,
  Rng,
} from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { checkOnnxModel } from './helpers/onnx-checker.js';

const runtime = nodeRuntime();

const tinyTransformer = (seqLen: number, vocab: number): ModelSpec =>
  sequential(
    [
      embedding(vocab, 16, { normal: 0.1 }),
      positionalEmbedding(seqLen),
      ...transformerBlock({ dim: 16, heads: 2, mlpRatio: 2 }),
      layerNorm(),
      dense(vocab),
    ],
    {
      inputShape: [seqLen],
      inputType: 'int32',
      seed: 5,
    },
  );

test('every layer compiles to an inference graph and a training graph that pass the ONNX checker', async () => {
  const image = sequential(
    [
      conv2d({ filters: 4, kernel: 3, strides: 2, padding: 'same', dilation: 1 }),
      leakyRelu(0.1),
      maxPool2d(2, { strides: 1 }),
      conv2d({ filters: 4, kernel: 3, dilation: 2, padding: 2 }),
      tanh(),
      avgPool2d(2),
      globalAvgPool(),
      dense(8),
      gelu(),
      dropout(0.2),
      dense(3),
      sigmoid(),
      softmax(),
    ],
    { inputShape: [2, 12, 12] },
  );
  const vector = sequential(
    [reshape([2, 3]), flatten(), dense(4), relu(), residual([dense(4), relu()]), layerNorm(), dense(2)],
    { inputShape: [6] },
  );
  for (const spec of [
    image,
    vector,
    tinyTransformer(6, 11),
    builtInModel('cnn', { inputShape: [1, 28, 28], classes: 10 }),
    builtInModel('mlp', { inputShape: [1, 28, 28], classes: 10 }),
  ]) {
    await checkOnnxModel(exportInferenceModel(spec, initialParameters(spec)));
    await checkOnnxModel(
      compileTrainingGraph(spec, { loss: 'softmaxCrossEntropy', optimizer: adam({ lr: 1e-3 }) }).bytes,
    );
  }
});

test("the FedAvg paper's models have the published sizes", () => {
  assert.equal(
    initialParameters(builtInModel('mlp', { inputShape: [1, 28, 28], classes: 10 })).size,
    199_210,
  );
  assert.equal(
    initialParameters(builtInModel('cnn', { inputShape: [1, 28, 28], classes: 10 })).size,
    1_663_370,
  );
});

test('a wrong model is refused at the layer that is wrong', () => {
  const build = (layers: Parameters<typeof sequential>[0], inputShape: number[]) => () =>
    buildModel(sequential(layers, { inputShape }), { mode: 'infer' });
  assert.throws(
    build([conv2d({ filters: 4, kernel: 3 }), dense(10)], [1, 8, 8]),
    /layer 1 \(dense\): expects rank 2 or 3 input, got \[batch, 4, 6, 6\]; add flatten\(\) before it/,
  );
  assert.throws(
    build([conv2d({ filters: 4, kernel: 3 })], [8]),
    /layer 0 \(conv2d\): expects \[batch, channels, height, width\]/,
  );
  assert.throws(
    build([conv2d({ filters: 4, kernel: 9 })], [1, 8, 8]),
    /Conv: output size along spatial axis 0 would be 0/,
  );
  assert.throws(
    build([residual([dense(3)])], [4]),
    /layer 0 \(residual\): its layers change the shape from \[batch, 4\] to \[batch, 3\]/,
  );
  assert.throws(build([dense(0)], [4]), /layer 0 \(dense\): units must be a positive integer, got 0/);
  assert.throws(build([reshape([5])], [4]), /cannot reshape a sample of shape \[4\] \(4 values\) to \[5\]/);
  assert.throws(
    () => buildModel(sequential([dense(2)], { inputShape: [0] }), { mode: 'infer' }),
    /inputShape must be a non-empty list of positive integers/,
  );
});

test('transformer pieces: whole-model gradient against finite differences (embedding, positions, attention, layer norm, GELU)', async () => {
  const spec = tinyTransformer(5, 7);
  const c = compileTrainingGraph(spec, { loss: 'softmaxCrossEntropy', training: false });
  const s = await ort.InferenceSession.create(c.bytes, { graphOptimizationLevel: 'basic' });
  const p = initialParameters(spec);
  const rng = new Rng(9);
  const tokens = Int32Array.from({ length: 3 * 5 }, () => rng.int(7));
  const targets = Int32Array.from({ length: 3 * 5 }, () => rng.int(7));
  const run = async (values: Float32Array) => {
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('int32', tokens, [3, 5]),
      labels: new ort.Tensor('int32', targets, [3, 5]),
    };
    c.layout.forEach(
      (e) =>
        (feeds[e.name] = new ort.Tensor('float32', values.slice(e.offset, e.offset + e.size), [...e.shape])),
    );
    return s.run(feeds);
  };
  const base = await run(p.values);
  const grad = new Float32Array(p.size);
  c.names.paramsOut.forEach((name, i) => grad.set(base[name].data as Float32Array, c.layout[i].offset));
  const eps = 1e-2;
  for (const entry of c.layout) {
    // a random direction within each parameter tensor
    const v = new Float32Array(p.size);
    for (let i = entry.offset; i < entry.offset + entry.size; i++) v[i] = rng.normal();
    const plus = Float32Array.from(p.values, (x, i) => x + eps * v[i]);
    const minus = Float32Array.from(p.values, (x, i) => x - eps * v[i]);
    const fd =
      (((await run(plus)).loss.data[0] as number) - ((await run(minus)).loss.data[0] as number)) / (2 * eps);
    let an = 0;
    for (let i = 0; i < p.size; i++) an += grad[i] * v[i];
    assert.ok(
      Math.abs(fd - an) <= 2e-3 + 3e-2 * Math.abs(fd),
      `${entry.name}: analytic ${an} vs finite difference ${fd}`,
    );
  }
});

test('a tiny causal transformer learns a next-token pattern', async () => {
  // Sequences count upwards modulo 7 from a random start: the next token is always (t + 1) % 7.
  const rng = new Rng(2);
  const n = 64;
  const seq = 6;
  const features = new Int32Array(n * seq);
  const labels = new Int32Array(n * seq);
  for (let i = 0; i < n; i++) {
    const start = rng.int(7);
    for (let t = 0; t < seq; t++) {
      features[i * seq + t] = (start + t) % 7;
      labels[i * seq + t] = (start + t + 1) % 7;
    }
  }
  const data = new ArrayDataset({ features, labels, featureShape: [seq], labelShape: [seq] });
  const t = await Trainer.create(tinyTransformer(seq, 7), {
    loss: 'softmaxCrossEntropy',
    optimizer: adam({ lr: 1e-2 }),
    runtime,
  });
  const before = await t.evaluate(data);
  await t.fit(data, { batchSize: 16, epochs: 30, seed: 1 });
  const after = await t.evaluate(data);
  assert.ok(after.loss < 0.2 * before.loss, `loss ${before.loss} -> ${after.loss}`);
  assert.ok(after.accuracy! > 0.95, `next-token accuracy ${after.accuracy}`);
});

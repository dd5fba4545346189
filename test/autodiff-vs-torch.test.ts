/**
 * Whole-model gradients against an independent implementation: PyTorch's autograd, computed in
 * float64 by test/fixtures/torch/make_reference.py and stored in reference.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import {
  compileTrainingGraph,
  avgPool2d,
  conv2d,
  dense,
  flatten,
  maxPool2d,
  relu,
  sequential,
  sigmoid,
  tanh,
  type LayerSpec,
} from 'edgefl';
import { loadTorchReference, type TorchCase, type TorchLayer } from './fixtures/torch/reference.js';
import { checkOnnxModel } from './helpers/onnx-checker.js';

function toLayer(l: TorchLayer): LayerSpec {
  switch (l.type) {
    case 'Linear':
      return dense(l.out_features);
    case 'Conv2d':
      return conv2d({
        filters: l.out_channels,
        kernel: l.kernel_size,
        strides: l.stride,
        padding: l.padding,
      });
    case 'MaxPool2d':
      return maxPool2d(l.kernel_size, { strides: l.stride });
    case 'AvgPool2d':
      return avgPool2d(l.kernel_size, { strides: l.stride });
    case 'ReLU':
      return relu();
    case 'Tanh':
      return tanh();
    case 'Sigmoid':
      return sigmoid();
    case 'Flatten':
      return flatten();
  }
}

/** Max |a - b| relative to the largest |b| of the tensor (float32 against float64). */
function relError(a: ArrayLike<number>, b: readonly number[]): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / scale;
}

async function compare(name: string, c: TorchCase) {
  const spec = sequential(c.layers.map(toLayer), { inputShape: c.input_shape.slice(1) });
  const compiled = compileTrainingGraph(spec, { loss: 'softmaxCrossEntropy', inputGradient: true });
  await checkOnnxModel(compiled.bytes);
  assert.deepEqual(
    compiled.layout.map((e) => e.shape),
    c.parameters.map((p) => p.shape),
    `${name}: parameter shapes differ from PyTorch's`,
  );
  const session = await ort.InferenceSession.create(compiled.bytes);
  const feeds: Record<string, ort.Tensor> = {
    [compiled.names.input]: new ort.Tensor('float32', Float32Array.from(c.input), c.input_shape),
    [compiled.names.labels]: new ort.Tensor('int32', Int32Array.from(c.labels), [c.labels.length]),
  };
  compiled.names.params.forEach(
    (p, i) =>
      (feeds[p] = new ort.Tensor(
        'float32',
        Float32Array.from(c.parameters[i].values),
        c.parameters[i].shape,
      )),
  );
  const out = await session.run(feeds);
  const loss = out.loss.data[0] as number;
  assert.ok(Math.abs(loss - c.loss) < 1e-5 * Math.abs(c.loss), `${name}: loss ${loss} vs PyTorch ${c.loss}`);
  compiled.names.paramsOut.forEach((g, i) => {
    const e = relError(out[g].data as Float32Array, c.parameters[i].grad);
    assert.ok(
      e < 1e-4,
      `${name}: gradient of ${c.parameters[i].name} differs from PyTorch's by ${e} (relative)`,
    );
  });
  const e = relError(out[compiled.names.inputGradient!].data as Float32Array, c.input_grad);
  assert.ok(e < 1e-4, `${name}: input gradient differs from PyTorch's by ${e}`);
}

test('MLP (Linear-ReLU-Linear-Tanh-Linear): loss, every parameter gradient and the input gradient match PyTorch', async () => {
  await compare('mlp', loadTorchReference().mlp);
});

test('CNN (Conv-ReLU-MaxPool-Conv stride 2-Sigmoid-AvgPool-Flatten-Linear): gradients match PyTorch', async () => {
  await compare('cnn', loadTorchReference().cnn);
});

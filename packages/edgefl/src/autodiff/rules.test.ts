/** Every gradient rule against central finite differences, through ONNX Runtime. */
import { test } from 'node:test';
import * as op from '../onnx/ops.js';
import { gradcheck } from '../../../../test/helpers/gradcheck.js';

const f32 = (...shape: number[]) => ({ shape });
const away = (n: number, seed: number) =>
  // values bounded away from 0, so kinks (ReLU, Abs) and poles (Log, Div) stay out of the eps-ball
  Float32Array.from(
    { length: n },
    (_, i) => (0.3 + 0.7 * Math.abs(Math.sin(seed + 1.7 * i))) * (i % 3 === 0 ? -1 : 1),
  );
const positive = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => 0.5 + Math.abs(Math.sin(seed + 0.9 * i)));
// distinct values 0.1 apart in scrambled order, so no maximum changes within the eps-ball
const distinct = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.1 * ((i * 37) % n) - 0.05 * n);

test('Add / Sub / Mul / Div with broadcasting', async () => {
  const inputs = { a: f32(3, 4), b: { shape: [4], data: positive(4, 1) } };
  await gradcheck({ inputs, build: ({ a, b }) => op.add(a, b) });
  await gradcheck({ inputs, build: ({ a, b }) => op.sub(a, b) });
  await gradcheck({ inputs, build: ({ a, b }) => op.mul(a, b) });
  await gradcheck({ inputs, build: ({ a, b }) => op.div(a, b) });
  await gradcheck({ inputs: { a: f32(2, 1, 3), b: f32(4, 1) }, build: ({ a, b }) => op.mul(a, b) });
});

test('Pow with a constant exponent, Sum, Neg, Identity', async () => {
  await gradcheck({
    inputs: { x: { shape: [5], data: positive(5, 2) } },
    build: ({ x }) => op.pow(x, op.scalar(x.graph, 2.5)),
  });
  await gradcheck({
    inputs: { a: f32(2, 3), b: f32(3), c: f32(2, 3) },
    build: ({ a, b, c }) => op.sum([a, b, c]),
  });
  await gradcheck({ inputs: { x: f32(4) }, build: ({ x }) => op.identity(op.neg(x)) });
});

test('activations: Relu, LeakyRelu, Sigmoid, Tanh, Exp, Log, Sqrt, Reciprocal, Erf, Abs', async () => {
  const x = { shape: [2, 5], data: away(10, 3) };
  for (const f of [
    op.relu,
    (v: typeof op.Value.prototype) => op.leakyRelu(v, 0.1),
    op.sigmoid,
    op.tanh,
    op.exp,
    op.erf,
    op.abs,
  ])
    await gradcheck({ inputs: { x }, build: ({ x }) => f(x) });
  const p = { shape: [2, 5], data: positive(10, 4) };
  for (const f of [op.log, op.sqrt, op.reciprocal])
    await gradcheck({ inputs: { x: p }, build: ({ x }) => f(x) });
});

test('Softmax and LogSoftmax along an axis', async () => {
  await gradcheck({ inputs: { x: f32(3, 5) }, build: ({ x }) => op.softmax(x, -1) });
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.softmax(x, 1) });
  await gradcheck({ inputs: { x: f32(3, 5) }, build: ({ x }) => op.logSoftmax(x, -1) });
});

test('MatMul (batched, broadcast) and Gemm (all transposes, alpha, beta, C)', async () => {
  await gradcheck({ inputs: { a: f32(3, 4), b: f32(4, 2) }, build: ({ a, b }) => op.matmul(a, b) });
  await gradcheck({ inputs: { a: f32(2, 3, 4), b: f32(4, 5) }, build: ({ a, b }) => op.matmul(a, b) });
  for (const transA of [false, true])
    for (const transB of [false, true])
      await gradcheck({
        inputs: { a: f32(...(transA ? [4, 3] : [3, 4])), b: f32(...(transB ? [2, 4] : [4, 2])), c: f32(2) },
        build: ({ a, b, c }) => op.gemm(a, b, c, { transA, transB, alpha: 0.7, beta: 1.3 }),
      });
});

test('shape ops: Transpose, Reshape, Flatten, Squeeze, Unsqueeze, Expand, Concat, Slice', async () => {
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.transpose(x, [2, 0, 1]) });
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.reshape(x, [4, -1]) });
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.flatten(x, 1) });
  await gradcheck({ inputs: { x: f32(2, 1, 4) }, build: ({ x }) => op.unsqueeze(op.squeeze(x, [1]), [0]) });
  await gradcheck({
    inputs: { x: f32(3, 1) },
    build: ({ x }) => op.expand(x, op.int64s(x.graph, [2, 3, 4]), [2, 3, 4]),
  });
  await gradcheck({ inputs: { a: f32(2, 3), b: f32(2, 2) }, build: ({ a, b }) => op.concat([a, b], 1) });
  await gradcheck({ inputs: { x: f32(3, 5) }, build: ({ x }) => op.slice(x, [1], [4], [1]) });
  await gradcheck({ inputs: { x: f32(2, 3) }, build: ({ x }) => op.pad(x, [0, 1, 2, 0]) });
});

test('reductions: ReduceSum, ReduceMean, ReduceSumSquare, keepdims or not', async () => {
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.reduceSum(x, [1], false) });
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.reduceSum(x, [0, 2], true) });
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.reduceMean(x, [2], false) });
  await gradcheck({ inputs: { x: f32(2, 3, 4) }, build: ({ x }) => op.reduceSumSquare(x, [1], true) });
});

test('Conv: padding, stride, dilation, bias; and the ConvTranspose rule it relies on', async () => {
  await gradcheck({
    inputs: { x: f32(2, 3, 7, 7), w: f32(4, 3, 3, 3), b: f32(4) },
    build: ({ x, w, b }) => op.conv(x, w, b, { pads: [1, 1, 1, 1] }),
  });
  await gradcheck({
    inputs: { x: f32(2, 2, 8, 9), w: f32(3, 2, 3, 2) },
    build: ({ x, w }) => op.conv(x, w, null, { strides: [2, 3], pads: [1, 0, 0, 1] }),
  });
  await gradcheck({
    inputs: { x: f32(1, 2, 9, 9), w: f32(2, 2, 3, 3) },
    build: ({ x, w }) => op.conv(x, w, null, { dilations: [2, 2], pads: [2, 2, 2, 2], strides: [2, 1] }),
  });
  await gradcheck({
    inputs: { x: f32(2, 3, 4, 4), w: { shape: [3, 2, 3, 3], differentiable: false } },
    build: ({ x, w }) => op.convTranspose(x, w, { strides: [2, 2], pads: [1, 1, 1, 1] }),
  });
});

test('pooling: MaxPool (with indices: disjoint windows via MaxUnpool, overlapping via scatter-add), MaxUnpool, AveragePool, GlobalAveragePool', async () => {
  await gradcheck({
    inputs: { x: { shape: [2, 2, 4, 6], data: distinct(96) } },
    build: ({ x }) => op.maxPoolWithIndices(x, { kernel: [2, 2] })[0],
  });
  await gradcheck({
    inputs: { x: { shape: [1, 2, 5, 5], data: distinct(50) } },
    build: ({ x }) => op.maxPoolWithIndices(x, { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] })[0],
  });
  // Odd sizes: the last row and column are in no window (MaxUnpool leaves them at zero); with
  // ceil_mode an overhanging window covers them instead (scatter-add).
  await gradcheck({
    inputs: { x: { shape: [1, 2, 5, 5], data: distinct(50) } },
    build: ({ x }) => op.maxPoolWithIndices(x, { kernel: [2, 2] })[0],
  });
  await gradcheck({
    inputs: { x: { shape: [1, 2, 5, 5], data: distinct(50) } },
    build: ({ x }) => op.maxPoolWithIndices(x, { kernel: [2, 2], ceilMode: true })[0],
  });
  // MaxUnpool on its own (the disjoint-window MaxPool gradient above runs through it): the
  // gradient reads dy back at the indices; index 5 of the [1, 1, 4, 4] output is never written.
  await gradcheck({
    inputs: {
      v: f32(1, 1, 2, 2),
      i: { shape: [1, 1, 2, 2], dtype: 'int64', data: BigInt64Array.from([0n, 3n, 9n, 14n]) },
    },
    build: ({ v, i }) =>
      op.maxUnpool(v, i, op.int64s(v.graph, [1, 1, 4, 4]), { kernel: [2, 2], strides: [2, 2] }, [1, 1, 4, 4]),
  });
  await gradcheck({
    inputs: { x: f32(2, 3, 4, 6) },
    build: ({ x }) => op.averagePool(x, { kernel: [2, 3] }),
  });
  await gradcheck({
    inputs: { x: f32(1, 2, 5, 5) },
    build: ({ x }) => op.averagePool(x, { kernel: [3, 3], strides: [1, 1] }),
  });
  await gradcheck({ inputs: { x: f32(2, 3, 4, 5) }, build: ({ x }) => op.globalAveragePool(x) });
});

test('indexing: Gather (embedding rows, repeated), GatherElements, Where', async () => {
  await gradcheck({
    inputs: {
      e: f32(6, 4),
      i: { shape: [2, 3], dtype: 'int64', data: BigInt64Array.from([1n, 4n, 1n, 0n, 5n, 1n]) },
    },
    build: ({ e, i }) => op.gather(e, i, 0),
  });
  await gradcheck({
    inputs: {
      x: f32(3, 4),
      i: { shape: [3, 2], dtype: 'int64', data: BigInt64Array.from([0n, 3n, 2n, 2n, 1n, 0n]) },
    },
    build: ({ x, i }) => op.gatherElements(x, i, 1),
  });
  await gradcheck({
    inputs: { a: f32(3, 4), b: f32(4) },
    build: ({ a, b }) => op.where(op.greater(a, op.scalar(a.graph, 0)), a, b),
  });
});

test('losses: SoftmaxCrossEntropyLoss (mean, sum, class weights) and its log-prob output', async () => {
  const labels = { shape: [5], dtype: 'int64' as const, data: BigInt64Array.from([0n, 2n, 1n, 3n, 2n]) };
  for (const reduction of ['mean', 'sum'] as const)
    await gradcheck({
      inputs: { s: f32(5, 4), y: labels },
      build: ({ s, y }) => op.softmaxCrossEntropyLoss(s, y, null, reduction)[0],
    });
  await gradcheck({
    inputs: {
      s: f32(5, 4),
      y: labels,
      w: { shape: [4], data: Float32Array.from([0.5, 2, 1, 3]), differentiable: false },
    },
    build: ({ s, y, w }) => op.softmaxCrossEntropyLoss(s, y, w, 'mean')[0],
  });
  await gradcheck({
    inputs: { s: f32(5, 4), y: labels },
    build: ({ s, y }) => op.softmaxCrossEntropyLoss(s, y, null)[1],
  });
});

test('LayerNormalization (x, scale, bias)', async () => {
  await gradcheck({
    inputs: { x: f32(2, 3, 5), s: f32(5), b: f32(5) },
    build: ({ x, s, b }) => op.layerNormalization(x, s, b, -1, 1e-5)[0],
  });
});

test('MaxPool without indices (tiling windows, mask form) and upsampling through Expand', async () => {
  await gradcheck({
    inputs: { x: { shape: [2, 3, 4, 6], data: distinct(144) } },
    build: ({ x }) => op.maxPool(x, { kernel: [2, 2] }),
  });
  await gradcheck({
    inputs: { x: f32(2, 3, 1, 4, 1) },
    build: ({ x }) => op.expand(x, op.int64s(x.graph, [1, 1, 2, 1, 3]), [2, 3, 2, 4, 3]),
  });
});

test('losses built from primitives: binary cross-entropy on logits (with class weights) and mean squared error', async () => {
  const { buildLoss } = await import('./losses.js');
  const targets = {
    shape: [4, 3],
    data: Float32Array.from([1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0]),
    differentiable: false,
  };
  await gradcheck({
    inputs: { z: f32(4, 3), y: targets },
    build: ({ z, y }) => buildLoss('binaryCrossEntropy', z, y).loss,
  });
  await gradcheck({
    inputs: { z: f32(4, 3), y: targets },
    build: ({ z, y }) => buildLoss('binaryCrossEntropy', z, y, { classWeights: [0.3, 2] }).loss,
  });
  await gradcheck({
    inputs: { z: f32(4, 3), y: { shape: [4, 3], differentiable: false } },
    build: ({ z, y }) => buildLoss('meanSquaredError', z, y).loss,
  });
});

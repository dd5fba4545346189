/**
 * Fake quantization: its forward values against second implementations (QuantizeLinear's
 * definition written out in JavaScript; static int8's own weight and bias arithmetic in
 * quantize/affine.ts), its straight-through gradient against finite differences of the real
 * function taken in whole quantization steps away from rounding boundaries, and the layer's checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { Graph, type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { encodeModel } from '../onnx/proto.js';
import { gradients } from '../autodiff/gradients.js';
import { compileTrainingGraph } from '../autodiff/training-graph.js';
import { sgd } from '../autodiff/optimizers.js';
import {
  activationParams,
  quantizeBias,
  quantizeWeight,
  roundHalfEven,
  weightScales,
} from '../quantize/affine.js';
import { Rng } from '../util/rng.js';
import { buildModel, initialParameters } from './build.js';
import { fakeQuantizeActivation, fakeQuantizeBias, fakeQuantizeWeight } from './fake-quantize.js';
import {
  conv2d,
  dense,
  fakeQuantize,
  flatten,
  maxPool2d,
  relu,
  residual,
  sequential,
  type LayerSpec,
} from './layers.js';
import { checkOnnxModel } from '../../../../test/helpers/onnx-checker.js';

const runtime = nodeRuntime();
const f32 = Math.fround;

/** A graph of one input x -> build(x), its loss sum(y * r) and d loss / dx, run by ONNX Runtime. */
async function compile(shape: number[], build: (x: Value) => Value, r?: Float32Array) {
  const g = new Graph('fake_quantize_test');
  const x = g.input('x', 'float32', shape);
  const y = build(x);
  const size = shape.reduce((a, b) => a * b, 1);
  const weights = r ?? Float32Array.from({ length: size }, (_, i) => 1 + (i % 7) * 0.25 - (i % 2) * 2);
  const loss = op.reduceSum(
    op.mul(y, op.constant(g, { dtype: 'float32', dims: shape, data: weights })),
    [],
    false,
  );
  const [dx] = gradients(loss, [x]);
  g.output(y, 'y');
  g.output(loss, 'loss');
  g.output(dx, 'dx');
  const session = await runtime.InferenceSession.create(encodeModel(g), {
    graphOptimizationLevel: 'disabled',
  });
  const run = async (values: Float32Array) => {
    const out = await session.run({ x: new runtime.Tensor('float32', values, shape) });
    return {
      y: out.y.data as Float32Array,
      loss: (out.loss.data as Float32Array)[0],
      dx: out.dx.data as Float32Array,
    };
  };
  return { run, weights, release: () => session.release() };
}

/**
 * Central differences of the loss along coordinate i with a step of whole quantization steps: away
 * from rounding boundaries the real (piecewise constant) function then moves by exactly as many
 * levels as the straight-through estimator's line, or not at all where it saturates.
 */
async function centralDifference(
  run: (v: Float32Array) => Promise<{ loss: number }>,
  x: Float32Array,
  i: number,
  eps: number,
): Promise<number> {
  const moved = (sign: number) => Float32Array.from(x, (v, k) => (k === i ? v + sign * eps : v));
  return ((await run(moved(1))).loss - (await run(moved(-1))).loss) / (2 * eps);
}

test('activation fake quantization computes what QuantizeLinear then DequantizeLinear define', async () => {
  const range = { low: -1.5, high: 6 };
  const { scale, zeroPoint } = activationParams(range.low, range.high);
  const rng = new Rng(3);
  // Inside the range, beyond both ends, on 0, and on exact half steps (ties round to even).
  const x = Float32Array.from({ length: 256 }, (_, i) =>
    i < 200 ? 12 * rng.uniform() - 4 : i < 228 ? f32((i - 214 + 0.5) * scale) : i === 228 ? 0 : -10 + i / 10,
  );
  const { run, release } = await compile([x.length], (v) => fakeQuantizeActivation(v, range).value);
  const { y } = await run(x);
  await release();
  // The ONNX definition: q = saturate(round_half_even(x / scale) + zero_point), y = (q - zero_point) * scale.
  const reference = (v: number) => {
    const q = Math.min(255, Math.max(0, roundHalfEven(f32(v / scale)) + zeroPoint));
    return f32((q - zeroPoint) * scale);
  };
  x.forEach((v, i) => assert.equal(y[i], reference(v), `x = ${v}`));
  assert.equal(y[228], 0, 'zero is exact');
  assert.ok(
    y.some((v) => v === f32((255 - zeroPoint) * scale)) && y.some((v) => v === f32(-zeroPoint * scale)),
  );
});

test('weight fake quantization computes in the graph the int8 weights static int8 stores (per channel and per tensor)', async () => {
  const rng = new Rng(5);
  const dims = [5, 3, 2, 2];
  const w = Float32Array.from({ length: 60 }, (_, i) => (i < 12 ? 0 : (rng.uniform() - 0.5) * (1 + (i % 5))));
  w[30] = 40; // an outlier: per tensor, the other channels round to a few levels
  for (const perChannel of [true, false]) {
    const { run, release } = await compile(dims, (v) => fakeQuantizeWeight(v, perChannel).value);
    const { y } = await run(w);
    await release();
    const axis = perChannel ? 0 : undefined;
    const scales = weightScales(w, dims, axis);
    const q = quantizeWeight(w, dims, axis, scales);
    const per = w.length / (perChannel ? dims[0] : 1);
    q.forEach((qi, i) =>
      assert.equal(
        y[i],
        f32(qi * scales[Math.floor(i / per) % scales.length]),
        `perChannel ${perChannel}, w[${i}] = ${w[i]}`,
      ),
    );
    // The all-zero channel (first 12 values) stays zero with its scale of 1.
    assert.ok(y.slice(0, 12).every((v) => v === 0));
  }
});

test('bias fake quantization rounds to the int32 grid static int8 stores the bias on', async () => {
  const rng = new Rng(8);
  const w = Float32Array.from({ length: 12 }, () => rng.uniform() - 0.5);
  const b = Float32Array.from({ length: 4 }, () => (rng.uniform() - 0.5) * 0.01);
  const inputScale = f32(6 / 255);
  for (const perChannel of [true, false]) {
    const g = new Graph('bias');
    const wv = g.input('w', 'float32', [4, 3]);
    const bv = g.input('b', 'float32', [4]);
    g.output(fakeQuantizeBias(bv, inputScale, fakeQuantizeWeight(wv, perChannel)), 'y');
    const session = await runtime.InferenceSession.create(encodeModel(g), {
      graphOptimizationLevel: 'disabled',
    });
    const out = await session.run({
      w: new runtime.Tensor('float32', w, [4, 3]),
      b: new runtime.Tensor('float32', b, [4]),
    });
    await session.release();
    const { values, scales } = quantizeBias(
      b,
      inputScale,
      weightScales(w, [4, 3], perChannel ? 0 : undefined),
    );
    const y = out.y.data as Float32Array;
    values.forEach((v, c) => assert.equal(y[c], f32(v * scales[c]), `perChannel ${perChannel}, bias ${c}`));
  }
});

test('the activation gradient is straight-through: 1 inside the range, 0 where it saturates', async () => {
  const range = { low: -2, high: 5 };
  const { scale, zeroPoint } = activationParams(range.low, range.high);
  // Levels inside (at least 3 from either end) and 10 levels beyond both ends, each a fixed
  // fraction away from its rounding boundaries.
  const levels = [4, 17, 60, 128, 200, 251, -10, 265, 3, 250];
  const fractions = [0.2, -0.3, 0.35, -0.15, 0.1];
  const x = Float32Array.from({ length: 20 }, (_, i) =>
    f32((levels[i % levels.length] - zeroPoint + fractions[i % fractions.length]) * scale),
  );
  const inside = (i: number) => levels[i % levels.length] >= 0 && levels[i % levels.length] <= 255;
  const { run, weights, release } = await compile([x.length], (v) => fakeQuantizeActivation(v, range).value);
  const { dx } = await run(x);
  for (let i = 0; i < x.length; i++) {
    const fd = await centralDifference(run, x, i, 3 * scale);
    const expected = inside(i) ? weights[i] : 0;
    assert.ok(Math.abs(fd - expected) <= 1e-3 * Math.abs(weights[i]) + 1e-4, `x[${i}]: difference ${fd}`);
    assert.ok(
      Math.abs(dx[i] - expected) <= 1e-6 * Math.abs(expected),
      `x[${i}]: gradient ${dx[i]}, expected ${expected}`,
    );
  }
  await release();
});

test('the weight gradient is straight-through with the scale held (finite differences off each channel maximum)', async () => {
  const dims = [3, 8];
  const steps = [0.01, 0.004, 0.03];
  const fractions = [0.2, -0.3, 0.35, -0.15];
  // Channel c: its maximum |w| is 127 steps, the others whole levels (|level| <= 120) plus a fraction.
  const w = Float32Array.from({ length: 24 }, (_, i) => {
    const [c, k] = [Math.floor(i / 8), i % 8];
    return f32(
      k === 5 ? (c === 1 ? -127 : 127) * steps[c] : (((k * 29) % 241) - 120 + fractions[k % 4]) * steps[c],
    );
  });
  for (const perChannel of [true, false]) {
    const scales = weightScales(w, dims, perChannel ? 0 : undefined);
    const { run, weights, release } = await compile(dims, (v) => fakeQuantizeWeight(v, perChannel).value);
    const { dx } = await run(w);
    for (let i = 0; i < w.length; i++) {
      // The scale is observed, not learned: the gradient is 1 everywhere, the maximum included.
      assert.ok(Math.abs(dx[i] - weights[i]) <= 1e-6 * Math.abs(weights[i]), `w[${i}]: gradient ${dx[i]}`);
      const s = scales[perChannel ? Math.floor(i / 8) : 0];
      const level = w[i] / s;
      // Finite differences only where the scale stays put (not a maximum) and the value sits at
      // least 0.1 step from a rounding boundary (per tensor, other channels' values fall anywhere).
      if (i % 8 === 5 || Math.abs(level) > 125 || Math.abs(level - Math.round(level)) > 0.4) continue;
      const fd = await centralDifference(run, w, i, 2 * s);
      assert.ok(
        Math.abs(fd - weights[i]) <= 1e-3 * Math.abs(weights[i]) + 1e-4,
        `w[${i}]: difference ${fd}, expected ${weights[i]}`,
      );
    }
    await release();
  }
});

test('through a fake-quantized dense layer, the bias gradient is straight-through too', async () => {
  const spec = sequential(
    [fakeQuantize({ layer: dense(3), input: { low: 0, high: 2 }, weights: 'perChannel' })],
    {
      inputShape: [4],
    },
  );
  const g = new Graph('layer');
  const built = buildModel(spec, { mode: 'train', graph: g });
  const r = Float32Array.of(0.5, 1.5, -2);
  const loss = op.reduceSum(
    op.mul(built.output, op.constant(g, { dtype: 'float32', dims: [3], data: r })),
    [],
    false,
  );
  const [, biasGradient] = gradients(loss, built.parameters);
  g.output(loss, 'loss');
  g.output(biasGradient, 'db');
  const session = await runtime.InferenceSession.create(encodeModel(g), {
    graphOptimizationLevel: 'disabled',
  });
  const params = initialParameters(spec);
  const x = Float32Array.of(0.1, 1.2, 0.7, 1.9, 0.4, 0.05, 1.5, 0.3);
  const run = async (bias: Float32Array) => {
    const out = await session.run({
      input: new runtime.Tensor('float32', x, [2, 4]),
      'dense_0.weight': new runtime.Tensor('float32', params.view('dense_0.weight'), [3, 4]),
      'dense_0.bias': new runtime.Tensor('float32', bias, [3]),
    });
    return { loss: (out.loss.data as Float32Array)[0], db: out.db.data as Float32Array };
  };
  // Put the bias a third of a step off its grid, so that a move of 2 steps crosses no boundary.
  const step = Float32Array.from(weightScales(params.view('dense_0.weight'), [3, 4], 0), (s) =>
    f32(s * activationParams(0, 2).scale),
  );
  const bias = Float32Array.from(step, (s, c) => (c - 7 + 1 / 3) * s);
  const { db } = await run(bias);
  for (let c = 0; c < 3; c++) {
    const expected = 2 * r[c]; // two samples
    assert.ok(
      Math.abs(db[c] - expected) <= 1e-5 * Math.abs(expected),
      `bias ${c}: gradient ${db[c]}, expected ${expected}`,
    );
    const fd = await centralDifference(run, bias, c, 2 * step[c]);
    assert.ok(
      Math.abs(fd - expected) <= 1e-2 * Math.abs(expected),
      `bias ${c}: difference ${fd}, expected ${expected}`,
    );
  }
  await session.release();
});

test('a fake-quantized model keeps the float parameters, and its training graph passes the ONNX checker', async () => {
  const float: LayerSpec[] = [
    conv2d({ filters: 4, kernel: 3, padding: 'same' }),
    relu(),
    maxPool2d(2),
    residual([conv2d({ filters: 4, kernel: 3, padding: 'same' })]),
    flatten(),
    dense(5),
  ];
  const quantized: LayerSpec[] = [
    fakeQuantize({ layer: float[0], input: { low: 0, high: 1 } }),
    relu(),
    maxPool2d(2),
    residual([
      fakeQuantize({
        layer: conv2d({ filters: 4, kernel: 3, padding: 'same' }),
        input: { low: 0, high: 3 },
        output: { low: -2, high: 2 },
      }),
    ]),
    flatten(),
    fakeQuantize({ layer: float[5], input: { low: -2, high: 5 }, weights: 'perTensor' }),
  ];
  const a = initialParameters(sequential(float, { inputShape: [1, 8, 8], seed: 4 }));
  const b = initialParameters(sequential(quantized, { inputShape: [1, 8, 8], seed: 4 }));
  assert.deepEqual(b.entries, a.entries);
  assert.deepEqual(b.values, a.values);
  const compiled = compileTrainingGraph(sequential(quantized, { inputShape: [1, 8, 8] }), {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
  });
  await checkOnnxModel(compiled.bytes);
});

test('a fakeQuantize layer that cannot be built is refused, naming the layer and the problem', () => {
  const build = (layer: LayerSpec) => () =>
    buildModel(sequential([flatten(), layer], { inputShape: [4] }), { mode: 'infer' });
  assert.throws(
    build(fakeQuantize({ layer: relu(), weights: 'perTensor' })),
    /layer 1 \(fakeQuantize\): weights: only dense and conv2d weights are quantized .* got 'relu'/,
  );
  assert.throws(
    build(fakeQuantize({ layer: fakeQuantize({ input: { low: 0, high: 1 } }) })),
    /wraps another fakeQuantize/,
  );
  assert.throws(build(fakeQuantize({})), /layer 1 \(fakeQuantize\): quantizes nothing/);
  assert.throws(
    build(fakeQuantize({ input: { low: 2, high: 1 } })),
    /layer 1 \(fakeQuantize\): input must be \{ low, high \} with finite low <= high/,
  );
  assert.throws(build(fakeQuantize({ layer: dense(2), output: { low: 0, high: NaN } })), /output must be/);
  assert.throws(
    build(fakeQuantize({ input: { low: 0, high: 1 }, weights: 'perTensor' })),
    /weights needs a layer to wrap/,
  );
  assert.throws(
    build(fakeQuantize({ layer: dense(2), weights: 'perRow' as 'perTensor' })),
    /weights must be 'perChannel' or 'perTensor', got "perRow"/,
  );
  // The layer table finds only its own entries.
  assert.throws(
    build({ type: 'constructor' } as unknown as LayerSpec),
    /unknown layer type 'constructor' at layer 1/,
  );
});

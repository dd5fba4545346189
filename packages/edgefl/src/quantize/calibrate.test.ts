/**
 * Calibration and its refusals: MinMax finds exactly the extremes of a known activation; Percentile
 * and Entropy clip an outlier MinMax keeps; batches of the wrong shape, models with nothing to
 * quantize and bytes that are not ONNX are refused by name, and a refusal changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportModel, importModel } from '../onnx/edit/io.js';
import { OnnxModel } from '../onnx/edit/model.js';
import { Rng } from '../util/rng.js';
import { calibrate, tensorsToCalibrate } from './calibrate.js';
import { QuantizationError } from './errors.js';
import { quantizeDynamicInt8 } from './dynamic-int8.js';
import { quantizeStaticInt8 } from './static-int8.js';
import { runtime } from '../../../../test/helpers/quantize-fixtures.js';

/** x [N, 16] -> Mul by 2 -> MatMul [16, 4]: the MatMul reads exactly 2x. */
function doubledMatMul(): OnnxModel {
  const m = OnnxModel.empty({ opset: 17 });
  m.addInput('x', 'float32', ['N', 16]);
  m.addInitializer('two', { dtype: 'float32', dims: [], data: Float32Array.of(2) });
  m.addInitializer('w', {
    dtype: 'float32',
    dims: [16, 4],
    data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
  });
  const mul = m.createNode('Mul', ['x', 'two'], { outputs: ['doubled'] });
  const mm = m.createNode('MatMul', ['doubled', 'w'], { outputs: ['y'] });
  m.add([mul, mm]);
  m.addOutput('y', 'float32', ['N', 4]);
  return m;
}

/** Three batches of 1024 samples (49152 values: 99.99 % leaves out about 5). */
function batches(rng: Rng, outlier?: number): Float32Array[] {
  const out = Array.from({ length: 3 }, () => Float32Array.from({ length: 1024 * 16 }, () => rng.normal()));
  if (outlier !== undefined) out[1][77] = outlier;
  return out;
}

test('MinMax gives exactly the extremes of the activation a quantized node reads', async () => {
  const model = doubledMatMul();
  assert.deepEqual(tensorsToCalibrate(model), ['doubled']);
  const data = batches(new Rng(1));
  const c = await calibrate(model, runtime, data);
  let min = Infinity;
  let max = -Infinity;
  for (const b of data) for (const v of b) [min, max] = [Math.min(min, 2 * v), Math.max(max, 2 * v)];
  assert.deepEqual(c.ranges.get('doubled'), { min, max, low: min, high: max });
  assert.equal(c.batches, 3);
  assert.equal(c.samples, 3072);
});

test('Percentile and Entropy stay within MinMax and clip an outlier it keeps', async () => {
  const model = doubledMatMul();
  const data = batches(new Rng(2), 500);
  const minmax = (await calibrate(model, runtime, data)).ranges.get('doubled')!;
  assert.equal(minmax.high, 1000);
  for (const method of [{ method: 'percentile', percentile: 99.99 }, { method: 'entropy' }] as const) {
    const r = (await calibrate(model, runtime, data, { method })).ranges.get('doubled')!;
    assert.equal(r.max, 1000, method.method);
    assert.ok(r.low >= minmax.low && r.high <= minmax.high, `${method.method} within MinMax`);
    // 2x a standard normal: the bulk lies within ±10, and is kept; the outlier is clipped.
    assert.ok(r.high > 4 && r.low < -4, `${method.method} keeps the bulk: [${r.low}, ${r.high}]`);
    // Percentile resolves the bulk; entropy cannot go below `levels` (128) bins of a histogram the
    // outlier stretched to 1000 (about 66 here): clipped, but coarsely. See histogram.ts.
    const bound = method.method === 'percentile' ? 20 : 100;
    assert.ok(r.high < bound && r.low > -20, `${method.method}: [${r.low}, ${r.high}]`);
  }
});

test('calibration refuses batches of the wrong shape, naming the input and the shapes', async () => {
  const model = doubledMatMul();
  await assert.rejects(
    calibrate(model, runtime, [new Float32Array(16), new Float32Array(15)]),
    /calibration batch 1: input 'x' has shape \[\?, 16\], the batch holds 15 values, not a whole number of samples of 16/,
  );
  await assert.rejects(
    calibrate(model, runtime, [{ data: new Float32Array(32), dims: [2, 4, 4] }]),
    /calibration batch 0: input 'x' has shape \[\?, 16\], the batch has shape \[2, 4, 4\]/,
  );
  await assert.rejects(calibrate(model, runtime, []), /no batches/);
});

test('a model with nothing quantizable is refused, saying so', async () => {
  const m = OnnxModel.empty({ opset: 17 });
  m.addInput('x', 'float32', ['N', 4]);
  m.add([m.createNode('Relu', ['x'], { outputs: ['y'] })]);
  m.addOutput('y', 'float32', ['N', 4]);
  const nothing = /nothing to quantize/;
  assert.throws(() => tensorsToCalibrate(m), nothing);
  assert.throws(() => quantizeDynamicInt8(m), nothing);
  // A MatMul whose weight is computed, not an initializer, is named as the reason.
  const n = OnnxModel.empty({ opset: 17 });
  n.addInput('x', 'float32', ['N', 4]);
  n.add([n.createNode('MatMul', ['x', 'x'], { outputs: ['y'], name: 'square' })]);
  n.addOutput('y', 'float32', ['N', 4]);
  assert.throws(
    () => tensorsToCalibrate(n),
    /nothing to quantize.*'square'.*weight is not a constant initializer/,
  );
});

test('bytes that are not ONNX are refused before anything is quantized', () => {
  assert.throws(() => importModel(new TextEncoder().encode('not a model at all'), 'junk.onnx'), /junk\.onnx/);
});

test('a refused quantization leaves the model as it was and returns nothing', async () => {
  const model = doubledMatMul();
  const before = exportModel(model);
  const c = await calibrate(model, runtime, batches(new Rng(3)));
  const partial = { ...c, ranges: new Map() };
  assert.throws(
    () => quantizeStaticInt8(model, partial),
    (e: Error) =>
      e instanceof QuantizationError && /no calibrated range for tensor 'doubled'/.test(e.message),
  );
  assert.deepEqual(exportModel(model), before);
  const old = importModel(before);
  old.setOpset('', 12);
  assert.throws(() => quantizeStaticInt8(old, c), /opset 12 is too old for per-channel QDQ quantization/);
});

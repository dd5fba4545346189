/**
 * Static and dynamic int8 quantization of trained MNIST models (edgefl's CNN and MLP), end to end:
 * the ONNX checker accepts the result, ONNX Runtime runs it and agrees with the float model on
 * held-out images, and ONNX Runtime's optimized graph computes every quantized node with an
 * integer kernel (nothing left as QuantizeLinear/DequantizeLinear around a float op).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFusion } from '@edgefl/node';
import { checkOnnxModel } from '../../../../test/helpers/onnx-checker.js';
import { exportModel, importModel } from '../onnx/edit/io.js';
import { calibrate } from './calibrate.js';
import { quantizeDynamicInt8 } from './dynamic-int8.js';
import { quantizeStaticInt8 } from './static-int8.js';
import type { QuantizedModel } from './report.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import {
  agreement,
  argmax,
  runLogits,
  runtime,
  trainedModel,
  type Fixture,
} from '../../../../test/helpers/quantize-fixtures.js';

/**
 * Bounds measured on these models (onnxruntime-node 1.30, x86-64 with VNNI) with some room:
 * argmax agreement with the float model on 1000 held-out images, and the largest logit
 * difference (logits span about ±10).
 */
const BOUNDS = {
  // measured: agreement 1 (cnn) / 0.998 (mlp), max |logit diff| 0.034 / 0.154
  'static per-tensor': { agreement: 0.99, logit: 0.4 },
  // measured: 1 / 0.999, 0.034 / 0.179
  'static per-channel': { agreement: 0.99, logit: 0.4 },
  // measured: 1 / 0.997, 0.034 / 0.068
  dynamic: { agreement: 0.99, logit: 0.2 },
} as const;

type Variant = keyof typeof BOUNDS;

async function quantize(f: Fixture, variant: Variant): Promise<QuantizedModel<OnnxModel>> {
  const model = importModel(f.float, 'float.onnx');
  if (variant === 'dynamic') return quantizeDynamicInt8(model);
  const calibration = await calibrate(model, runtime, f.calibration);
  return quantizeStaticInt8(model, calibration, { perChannel: variant === 'static per-channel' });
}

for (const kind of ['cnn', 'mlp'] as const)
  describe(`int8 quantization of the trained ${kind}`, () => {
    let f: Fixture;
    let floatLogits: Float32Array;
    before(async () => {
      f = await trainedModel(kind);
      floatLogits = await runLogits(f.float, f.heldOut.data, [f.heldOut.count, ...f.inputShape]);
      assert.ok(f.accuracy > 0.85, `the float ${kind} is trained (accuracy ${f.accuracy})`);
    });

    for (const variant of Object.keys(BOUNDS) as Variant[])
      test(`${variant}: checker passes, runs, agrees with float, every quantized node fuses`, async () => {
        const q = await quantize(f, variant);
        const bytes = exportModel(q.model);
        await checkOnnxModel(bytes);

        const logits = await runLogits(bytes, f.heldOut.data, [f.heldOut.count, ...f.inputShape]);
        const agree = agreement(argmax(logits, 10), argmax(floatLogits, 10));
        let largest = 0;
        logits.forEach((v, i) => (largest = Math.max(largest, Math.abs(v - floatLogits[i]))));
        const quantizedAccuracy = agreement(argmax(logits, 10), f.heldOut.labels);
        const b = BOUNDS[variant];
        const line = `${kind} ${variant}: agreement ${agree}, max |logit diff| ${largest.toFixed(4)}, accuracy ${f.accuracy} -> ${quantizedAccuracy}`;
        console.log(line);
        assert.ok(agree >= b.agreement, line);
        assert.ok(largest <= b.logit, line);

        const fusion = await checkFusion(runtime, bytes, q.report);
        const expected = kind === 'cnn' ? (variant === 'dynamic' ? 2 : 4) : 3;
        assert.equal(fusion.report.nodes.length, expected, 'quantized nodes');
        assert.deepEqual(
          fusion.unfused.map((n) => `${n.node}: ${n.computedBy}`),
          [],
          `ops in the optimized graph: ${JSON.stringify(fusion.opTypes)}`,
        );
        const ops = Object.keys(fusion.opTypes);
        // Nothing of the float compute is left, and no quantize/dequantize pair between layers.
        for (const op of ['Conv', 'Gemm', 'MatMul', 'DequantizeLinear'])
          assert.ok(!ops.includes(op), `${op} left: ${ops}`);
        if (variant === 'dynamic') {
          assert.equal(fusion.opTypes['com.microsoft:DynamicQuantizeMatMul'], expected);
          if (kind === 'cnn')
            assert.match(q.report.skipped.join('\n'), /Conv_1.*dynamic quantization leaves Conv float/);
        } else {
          assert.equal(fusion.opTypes['com.microsoft:QGemm'], kind === 'cnn' ? 2 : 3);
          if (kind === 'cnn') assert.equal(fusion.opTypes['com.microsoft:QLinearConv'], 2);
          // Only the model's input is quantized at run time; every later activation stays uint8.
          assert.equal(fusion.opTypes.QuantizeLinear, 1);
        }
      });
  });

test('static int8 CNN file is at least 3.5x smaller than the float one', async () => {
  const f = await trainedModel('cnn');
  const q = await quantize(f, 'static per-channel');
  const ratio = f.float.length / exportModel(q.model).length;
  console.log(
    `size: float ${f.float.length} B, int8 ${exportModel(q.model).length} B, ratio ${ratio.toFixed(3)}`,
  );
  assert.ok(ratio >= 3.5, `ratio ${ratio}`);
});

test('the report says, per node, the activation range and scale, per-channel or not', async () => {
  const f = await trainedModel('cnn');
  const model = importModel(f.float, 'float.onnx');
  const calibration = await calibrate(model, runtime, f.calibration);
  const q = quantizeStaticInt8(model, calibration, { perChannel: true });
  const conv = q.report.nodes[0];
  assert.equal(conv.node, 'Conv_1');
  assert.equal(conv.perChannel, true);
  assert.equal(conv.bias, 'int32');
  assert.equal(conv.outputQuantized, true);
  const input = calibration.ranges.get('input')!;
  assert.deepEqual(conv.activationRange, { low: Math.min(0, input.low), high: input.high });
  assert.equal(conv.activationZeroPoint, 0);
  assert.ok(Math.abs(conv.activationScale! - input.high / 255) < 1e-7);
  // The Relus after the pools are dropped: their inputs are already clamped at 0.
  assert.equal(q.model.nodes('Relu').length, 0);
  assert.equal(q.report.notes.filter((n) => /dropped Relu/.test(n)).length, 3);
  // The float model is untouched.
  assert.deepEqual(exportModel(model), f.float);
});

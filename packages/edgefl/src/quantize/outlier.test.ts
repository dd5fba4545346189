/**
 * A model that post-training int8 hurts, built on purpose: the trained 2NN with one hidden unit
 * scaled up 1000-fold (its incoming weights and bias ×1000, its outgoing weights ÷1000). ReLU is
 * positively homogeneous, so the float model computes exactly the same function, but that one
 * channel now stretches the hidden activation's range a thousandfold, and a single uint8 scale for
 * the whole tensor leaves the other channels a few levels each. Static int8 then loses accuracy;
 * the accuracy guard finds the layer that reads the stretched tensor and keeps it float.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importModel, exportModel } from '../onnx/edit/io.js';
import { readEdgeflModel, writeEdgeflModel } from '../model/edgefl-onnx.js';
import { calibrate } from './calibrate.js';
import { quantizeStaticInt8 } from './static-int8.js';
import { guardedQuantize } from './guards.js';
import {
  argmax,
  agreement,
  runLogits,
  runtime,
  trainedModel,
} from '../../../../test/helpers/quantize-fixtures.js';
import { outlierMlp } from '../../../../test/helpers/qat-fixtures.js';

test(
  'an outlier channel makes static int8 lose accuracy; the accuracy guard keeps the layer that reads it float',
  { timeout: 300_000 },
  async (t) => {
    const f = await trainedModel('mlp');
    // Hidden unit 3 ×1000, its use by the next layer ÷1000: the same float function.
    const read = readEdgeflModel(importModel(f.float));
    const float = writeEdgeflModel(read, outlierMlp(read.parameters));
    const model = importModel(float);
    const { data, labels, count } = f.heldOut;
    const dims = [count, ...f.inputShape];
    const accuracy = async (bytes: Uint8Array) =>
      agreement(argmax(await runLogits(bytes, data, dims), 10), labels);
    // The float function did not change (up to float rounding).
    const floatAccuracy = await accuracy(float);
    assert.ok(Math.abs(floatAccuracy - f.accuracy) <= 0.002, `${floatAccuracy} vs ${f.accuracy}`);

    const calibration = await calibrate(model, runtime, f.calibration);
    const quantize = (keepFloat: ReadonlySet<string>) =>
      quantizeStaticInt8(model, calibration, { perChannel: true, keepFloat });
    const plain = await accuracy(exportModel(quantize(new Set()).model));
    // Per-channel weights do not help: the activation's single scale is what breaks.
    assert.ok(
      floatAccuracy - plain > 0.003,
      `int8 lost only ${floatAccuracy - plain} (float ${floatAccuracy})`,
    );

    const guarded = await guardedQuantize(model, quantize, { score: accuracy, maxLoss: 0.003 });
    assert.ok(guarded.score!.float - guarded.score!.result <= 0.003, JSON.stringify(guarded.score));
    // The second Gemm reads the stretched hidden tensor: it is the one kept float, and the others stay int8.
    const second = model.nodes('Gemm')[1].name;
    assert.deepEqual(
      guarded.keptFloat.map((k) => k.node),
      [second],
      JSON.stringify(guarded.keptFloat),
    );
    assert.equal(guarded.report!.nodes.length, 2);
    t.diagnostic(
      `held-out accuracy: float ${floatAccuracy}, int8 ${plain}, guarded ${guarded.score!.result} (${guarded.keptFloat[0].reason})`,
    );
  },
);

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
import type { OnnxModel } from '../onnx/edit/model.js';
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

/** Scales hidden unit `j` of the first Gemm's output by `k`, and its use by the second Gemm by 1/k. */
function withOutlierChannel(model: OnnxModel, j: number, k: number): void {
  const [first, second] = model.nodes('Gemm');
  const scale = (name: string, factor: number, index: (i: number, dims: readonly number[]) => boolean) => {
    const t = model.initializer(name)!;
    const data = Float32Array.from(t.data as Float32Array);
    for (let i = 0; i < data.length; i++) if (index(i, t.dims)) data[i] *= factor;
    model.setInitializer(name, { ...t, data });
  };
  // Gemm computes A·B (+C), with B as [K, N], or [N, K] when transB is set; output unit j is B's
  // column j (row j with transB); input unit j of the next Gemm is its B's row j (column j with transB).
  const outUnit = (trans: number) => (i: number, dims: readonly number[]) =>
    trans ? Math.floor(i / dims[1]) === j : i % dims[1] === j;
  const inUnit = (trans: number) => (i: number, dims: readonly number[]) =>
    trans ? i % dims[1] === j : Math.floor(i / dims[1]) === j;
  scale(first.inputs[1], k, outUnit(first.int('transB', 0)));
  if (first.inputs[2]) scale(first.inputs[2], k, (i) => i === j);
  scale(second.inputs[1], 1 / k, inUnit(second.int('transB', 0)));
}

test(
  'an outlier channel makes static int8 lose accuracy; the accuracy guard keeps the layer that reads it float',
  { timeout: 300_000 },
  async (t) => {
    const f = await trainedModel('mlp');
    const model = importModel(f.float);
    withOutlierChannel(model, 3, 1000);
    const float = exportModel(model);
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

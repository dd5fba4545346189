/**
 * Quantized models are for devices, browsers among them: each int8 and 4-bit form loads and runs in
 * onnxruntime-web's WebAssembly build (the browser's runtime, here in Node) and answers as
 * onnxruntime-node does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rng,
  builtInModel,
  exportInferenceModel,
  exportModel,
  importModel,
  initialParameters,
  quantizeDynamicInt8,
  quantizeWeightOnlyInt4,
  dense,
  gelu,
  sequential,
  runPasses,
  inferenceCleanup,
  pruneWeights,
  removeUnits,
  studentModel,
  prepareQuantizationAwareTraining,
  quantizeTrained,
  type OrtRuntime,
} from 'edgefl';
import { nodeRuntime, wasmRuntime } from '../runtime/node.js';
import { untrainedCnn, staticInt8 } from '../../../../test/helpers/int8-cnn.js';

async function logits(runtime: OrtRuntime, model: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const session = await runtime.InferenceSession.create(model, runtime.defaultSessionOptions);
  try {
    const out = await session.run({ input: new runtime.Tensor('float32', x, [16, 1, 28, 28]) });
    return (out[session.outputNames[0]].data as Float32Array).slice();
  } finally {
    await session.release();
  }
}

test(
  'static and dynamic int8 CNNs run in onnxruntime-web as in onnxruntime-node',
  { timeout: 120_000 },
  async () => {
    const node = nodeRuntime();
    const web = wasmRuntime();
    const float = untrainedCnn();
    const model = importModel(float);
    const forms = {
      'static per-channel': await staticInt8(node, float),
      'static per-tensor': await staticInt8(node, float, false),
      dynamic: exportModel(quantizeDynamicInt8(model).model),
    };
    const rng = new Rng(4);
    const x = Float32Array.from({ length: 16 * 784 }, () => rng.uniform());
    for (const [name, bytes] of Object.entries(forms)) {
      const [a, b] = [await logits(node, bytes, x), await logits(web, bytes, x)];
      assert.equal(a.length, 160, name);
      let max = 0;
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
      // The same integer kernels on both sides: equal here; the bound leaves room for a build that
      // rounds its float rescaling differently.
      assert.ok(max <= 1e-4, `${name}: logits differ by ${max} between onnxruntime-node and onnxruntime-web`);
    }
  },
);

test('a transformer with 4-bit weights and an int8 embedding runs in onnxruntime-web as in onnxruntime-node', async () => {
  const node = nodeRuntime();
  const web = wasmRuntime();
  const spec = builtInModel('transformer', {
    inputShape: [16],
    classes: 300,
    vocabSize: 300,
    dim: 64,
    blocks: 1,
    heads: 2,
    seed: 2,
  });
  const float = exportInferenceModel(spec, initialParameters(spec));
  const rng = new Rng(5);
  const ids = Int32Array.from({ length: 4 * 16 }, () => rng.int(300));
  const run = async (runtime: OrtRuntime, bytes: Uint8Array) => {
    const session = await runtime.InferenceSession.create(bytes, runtime.defaultSessionOptions);
    try {
      const out = await session.run({ input: new runtime.Tensor('int32', ids, [4, 16]) }, ['logits']);
      return (out.logits.data as Float32Array).slice();
    } finally {
      await session.release();
    }
  };
  // accuracy_level 1 (float arithmetic) on both: the same numbers up to summation order.
  for (const accuracyLevel of [1, 4] as const) {
    const int4 = exportModel(quantizeWeightOnlyInt4(importModel(float), { accuracyLevel }).model);
    const [a, b] = [await run(node, int4), await run(web, int4)];
    assert.equal(a.length, 4 * 16 * 300);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    // measured: 1.3e-6 at level 1; 0.029 at level 4, where each build quantizes the activations to
    // int8 with kernels of its own (or, lacking one, multiplies in float)
    assert.ok(max <= (accuracyLevel === 1 ? 1e-4 : 0.1), `level ${accuracyLevel}: logits differ by ${max}`);
  }
});

test('the other optimized forms run in onnxruntime-web as in onnxruntime-node: cleaned, pruned, a distilled student, QAT int8', async () => {
  const node = nodeRuntime();
  const web = wasmRuntime();
  const rng = new Rng(6);
  const x = Float32Array.from({ length: 16 * 784 }, () => rng.uniform());
  const mlp = builtInModel('mlp', { inputShape: [784], classes: 10, seed: 3 });
  const mlpBytes = exportInferenceModel(mlp, initialParameters(mlp));
  // Cleaned (a GELU to fuse), one-shot and structured pruning, a small student, QAT's int8 export.
  const geluNet = sequential([dense(64), gelu(), dense(10)], { inputShape: [784], seed: 4 });
  const cleaned = importModel(exportInferenceModel(geluNet, initialParameters(geluNet)));
  await runPasses(cleaned, inferenceCleanup(), { runtime: node });
  const pruned = importModel(mlpBytes);
  pruneWeights(pruned, { sparsity: 0.8 });
  removeUnits(pruned, { fraction: 0.5 });
  const student = studentModel('mlp:32', { inputShape: [784], classes: 10, seed: 5 });
  const plan = await prepareQuantizationAwareTraining(
    { spec: mlp, parameters: initialParameters(mlp) },
    { runtime: node, calibration: [x] },
  );
  const forms: Record<string, Uint8Array> = {
    cleaned: exportModel(cleaned),
    pruned: exportModel(pruned),
    student: exportInferenceModel(student, initialParameters(student)),
    'qat int8': exportModel(quantizeTrained(plan, plan.parameters).model),
  };
  for (const [name, bytes] of Object.entries(forms)) {
    const run = async (runtime: OrtRuntime) => {
      const session = await runtime.InferenceSession.create(bytes, runtime.defaultSessionOptions);
      try {
        const out = await session.run({ input: new runtime.Tensor('float32', x, [16, 784]) }, ['logits']);
        return (out.logits.data as Float32Array).slice();
      } finally {
        await session.release();
      }
    };
    const [a, b] = [await run(node), await run(web)];
    assert.equal(a.length, 160, name);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    assert.ok(max <= 1e-4, `${name}: logits differ by ${max} between onnxruntime-node and onnxruntime-web`);
  }
});

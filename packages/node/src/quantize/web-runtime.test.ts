/**
 * Quantized models are for devices, browsers among them: each int8 form loads and runs in
 * onnxruntime-web's WebAssembly build (the browser's runtime, here in Node) and answers as
 * onnxruntime-node does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, exportModel, importModel, quantizeDynamicInt8, type OrtRuntime } from 'edgefl';
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

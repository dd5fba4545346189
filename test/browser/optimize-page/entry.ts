/**
 * The optimization test page, bundled by esbuild for the browser: it quantizes the MNIST CNN to
 * int8 in the page (calibrating through onnxruntime-web), runs both models on the same inputs, and
 * times them with the same latency harness as in Node. The test calls `edgeflOptimizeTest`.
 */
import * as ort from 'onnxruntime-web/wasm';
import { webRuntime } from 'edgefl/web';
import { Rng, importModel, measureLatency, type LatencyResult, type OrtRuntime } from 'edgefl';
import { untrainedCnn, staticInt8 } from '../../helpers/int8-cnn.js';

export interface OptimizeTestResult {
  floatBytes: number;
  int8Bytes: number;
  /** Logits of 16 fixed inputs, float and int8, as plain arrays. */
  floatLogits: number[];
  int8Logits: number[];
  floatLatency: LatencyResult;
  int8Latency: LatencyResult;
  /** The int8 model's op types (to see it is the QDQ form the runtime fuses). */
  int8Ops: string[];
}

declare global {
  interface Window {
    edgeflOptimizeTest?: () => Promise<OptimizeTestResult>;
  }
}

async function logits(runtime: OrtRuntime, model: Uint8Array, x: Float32Array): Promise<number[]> {
  const session = await runtime.InferenceSession.create(model, runtime.defaultSessionOptions);
  try {
    const out = await session.run({ input: new runtime.Tensor('float32', x, [16, 1, 28, 28]) });
    return [...(out[session.outputNames[0]].data as Float32Array)];
  } finally {
    await session.release();
  }
}

window.edgeflOptimizeTest = async () => {
  const runtime = webRuntime(ort, { wasmPaths: new URL('/ort/', location.href).href });
  const float = untrainedCnn();
  const int8 = await staticInt8(runtime, float);
  const rng = new Rng(4);
  const x = Float32Array.from({ length: 16 * 784 }, () => rng.uniform());
  const timing = { runtime, batch: 1, runs: 60, warmup: 10 };
  return {
    floatBytes: float.length,
    int8Bytes: int8.length,
    floatLogits: await logits(runtime, float, x),
    int8Logits: await logits(runtime, int8, x),
    floatLatency: await measureLatency(float, timing),
    int8Latency: await measureLatency(int8, timing),
    int8Ops: [
      ...new Set(
        importModel(int8)
          .nodes()
          .map((n) => n.opType),
      ),
    ].sort(),
  };
};

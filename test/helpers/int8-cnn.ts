/**
 * The MNIST CNN, untrained, and its static int8 form, for tests that need a quantized model quickly
 * rather than an accurate one. Browser-safe (the page of the Chromium test imports it too): the
 * runtime is handed in, and calibration uses seeded uniform inputs, not MNIST.
 */
import {
  Rng,
  builtInModel,
  calibrate,
  exportInferenceModel,
  exportModel,
  importModel,
  initialParameters,
  quantizeStaticInt8,
  type OrtRuntime,
} from 'edgefl';

/** The float CNN's ONNX bytes (seed 1). */
export function untrainedCnn(): Uint8Array {
  const spec = builtInModel('cnn', { inputShape: [1, 28, 28], classes: 10, seed: 1 });
  return exportInferenceModel(spec, initialParameters(spec));
}

/** Four calibration batches of 8 seeded uniform images. */
export function calibrationBatches(rng = new Rng(3)): Float32Array[] {
  return Array.from({ length: 4 }, () => Float32Array.from({ length: 8 * 784 }, () => rng.uniform()));
}

/** Static int8 of `float`, calibrated through `runtime` on calibrationBatches(). */
export async function staticInt8(
  runtime: OrtRuntime,
  float: Uint8Array,
  perChannel = true,
): Promise<Uint8Array> {
  const model = importModel(float);
  const ranges = await calibrate(model, runtime, calibrationBatches());
  return exportModel(quantizeStaticInt8(model, ranges, { perChannel }).model);
}

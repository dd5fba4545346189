/**
 * What the optimization commands share: the runtime a command measures with (--runtime), and a
 * dataset's examples as batches shaped for a model's input.
 */
import type { Dataset, OnnxModel } from 'edgefl';
import { nodeRuntime, wasmRuntime } from '@edgefl/node';

/** The runtime a command times with: the device's, as near as this machine can run it. */
export function runtimeNamed(name: string) {
  if (name === 'native') return nodeRuntime();
  if (name === 'wasm') return wasmRuntime();
  throw new Error(`--runtime: expected native or wasm, got '${name}'`);
}

/**
 * One example's dimensions as the model takes them: an image dataset feeds a model of flat inputs
 * ([784]) as well as one of images ([1, 28, 28]) when the sizes agree; otherwise the dataset's own
 * shape, which calibration then refuses, naming both.
 */
export function exampleDims(model: OnnxModel, data: Dataset): readonly number[] {
  const input = model.inputs.find((i) => !model.isInitializer(i.name));
  const dims = (input?.type?.tensorType?.shape?.dim ?? []).slice(1).map((d) => Number(d.dimValue));
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return dims.length > 0 && dims.every((d) => d > 0) && size(dims) === size(data.featureShape)
    ? dims
    : data.featureShape;
}

/** Examples [from, to) of `data` in batches of 32, shaped [batch, ...dims]. */
export function* batchesOf(data: Dataset, from: number, to: number, dims: readonly number[]) {
  const per = data.featureShape.reduce((a, b) => a * b, 1);
  for (let start = from; start < to; start += 32) {
    const size = Math.min(32, to - start);
    const features = new Float32Array(size * per);
    data.gather(
      Array.from({ length: size }, (_, k) => start + k),
      features,
      new Int32Array(size),
    );
    yield { data: features, dims: [size, ...dims] };
  }
}

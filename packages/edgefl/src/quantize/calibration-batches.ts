/**
 * Calibration batches, checked against the model's input before anything runs: a batch of the
 * wrong shape would calibrate ranges on data the model never sees.
 */
import type { OnnxModel } from '../onnx/edit/model.js';
import { QuantizationError } from './errors.js';

/**
 * A batch for a model with one float input: the values, and their dims when the input has more
 * than one dimension it does not fix (a bare array fills the leading, batch dimension).
 */
export type CalibrationBatch =
  Float32Array | { readonly data: Float32Array; readonly dims: readonly number[] };

export type CalibrationBatches = Iterable<CalibrationBatch> | AsyncIterable<CalibrationBatch>;

export interface ModelInput {
  readonly name: string;
  /** Fixed sizes, and null for dimensions the model leaves open (e.g. the batch size). */
  readonly shape: readonly (number | null)[];
}

/** The one float32 input a calibration feeds (initializers listed as inputs excepted). */
export function calibrationInput(model: OnnxModel): ModelInput {
  const fed = model.inputs.filter((i) => !model.isInitializer(i.name));
  if (fed.length !== 1)
    throw new QuantizationError(
      `${model.source}: calibration feeds models with one input; this one has ${fed.length} (${fed.map((i) => `'${i.name}'`).join(', ')})`,
    );
  const input = fed[0];
  const tensor = input.type?.tensorType;
  if (!tensor || tensor.elemType !== 1)
    throw new QuantizationError(`${model.source}: input '${input.name}' is not a float32 tensor`);
  // A symbolic dimension, or one that says nothing, is open.
  const shape = (tensor.shape?.dim ?? []).map((d) =>
    d.dimParam || d.dimValue <= 0n ? null : Number(d.dimValue),
  );
  return { name: input.name, shape };
}

const show = (shape: readonly (number | null)[]) =>
  `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]`;

/** The batch's dims, or an error naming the input and both shapes. */
export function batchDims(input: ModelInput, batch: CalibrationBatch, index: number): number[] {
  const data = batch instanceof Float32Array ? batch : batch.data;
  const wrong = (got: string) =>
    new QuantizationError(
      `calibration batch ${index}: input '${input.name}' has shape ${show(input.shape)}, the batch ${got}`,
    );
  if (!(data instanceof Float32Array)) throw wrong('is not a Float32Array');
  if (!(batch instanceof Float32Array)) {
    const dims = [...batch.dims];
    const fits =
      dims.length === input.shape.length &&
      dims.every((d, i) => input.shape[i] === null || input.shape[i] === d);
    if (!fits) throw wrong(`has shape ${show(dims)}`);
    if (dims.reduce((a, b) => a * b, 1) !== data.length)
      throw wrong(`says shape ${show(dims)} but holds ${data.length} values`);
    return dims;
  }
  const open = input.shape.filter((d) => d === null).length;
  const sample = input.shape.reduce<number>((a, d) => a * (d ?? 1), 1);
  if (open > 1 || input.shape.length === 0 || (open === 1 && input.shape[0] !== null))
    throw wrong(`is a bare array: give { data, dims } for this input`);
  if (open === 0) {
    if (data.length !== sample) throw wrong(`holds ${data.length} values, not ${sample}`);
    return input.shape as number[];
  }
  if (data.length === 0 || data.length % sample !== 0)
    throw wrong(`holds ${data.length} values, not a whole number of samples of ${sample}`);
  return [data.length / sample, ...(input.shape.slice(1) as number[])];
}

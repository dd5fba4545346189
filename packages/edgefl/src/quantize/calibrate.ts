/**
 * Calibration: the range of each activation static quantization needs, measured by running the
 * float model on representative batches. The tensors are exposed as extra outputs of a copy of the
 * model (the caller's model is not touched) and observed batch by batch: only running statistics
 * (min, max, a magnitude histogram) are kept, never the activations themselves.
 *
 * Methods: 'minmax' takes the observed range; 'percentile' and 'entropy' clip it at a magnitude
 * threshold from the histogram (see histogram.ts), giving the bulk of the values finer steps at the
 * cost of saturating rare outliers.
 */
import type { InferenceSession } from 'onnxruntime-common';
import { exportModel, importModel } from '../onnx/edit/io.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import { requireRuntime, type OrtRuntime } from '../runtime/ort.js';
import { activationGroups } from './activation-groups.js';
import { batchDims, calibrationInput, type CalibrationBatches } from './calibration-batches.js';
import { QuantizationError } from './errors.js';
import { entropyThreshold, MagnitudeHistogram, percentileThreshold } from './histogram.js';
import { findTargets } from './targets.js';

export type CalibrationMethod =
  | { readonly method: 'minmax' }
  | { readonly method: 'percentile'; readonly percentile?: number }
  | { readonly method: 'entropy' };

export interface TensorRange {
  /** Observed extremes over every batch. */
  readonly min: number;
  readonly max: number;
  /** The range to quantize: [min, max] for minmax, clipped at the threshold otherwise. */
  readonly low: number;
  readonly high: number;
}

export interface Calibration {
  readonly method: CalibrationMethod['method'];
  readonly ranges: ReadonlyMap<string, TensorRange>;
  readonly batches: number;
  readonly samples: number;
}

export interface CalibrateOptions {
  /** Default: minmax. */
  readonly method?: CalibrationMethod;
  /** The tensors to observe; default: those static quantization of this model needs. */
  readonly tensors?: readonly string[];
  /** Histogram bins for percentile and entropy (default 2048, as TensorRT). */
  readonly bins?: number;
  readonly sessionOptions?: InferenceSession.SessionOptions;
}

/**
 * The tensors static int8 quantization reads ranges for (see activation-groups.ts): every tensor of
 * every group, not only the one whose range a group uses — with some nodes kept float (the guards)
 * a group splits, and each part then needs the range of a tensor of its own.
 */
export function tensorsToCalibrate(model: OnnxModel): string[] {
  return [...new Set(activationGroups(model, findTargets(model).nodes).flatMap((g) => g.tensors))];
}

/** Running statistics of one tensor. */
class Observer {
  min = Infinity;
  max = -Infinity;
  readonly histogram: MagnitudeHistogram | undefined;
  constructor(bins: number | undefined) {
    this.histogram = bins === undefined ? undefined : new MagnitudeHistogram(bins);
  }
  observe(values: Float32Array, tensor: string): void {
    let min = this.min;
    let max = this.max;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!Number.isFinite(min) || !Number.isFinite(max))
      throw new QuantizationError(`calibration: tensor '${tensor}' has NaN or infinite values`);
    this.min = min;
    this.max = max;
    this.histogram?.add(values);
  }
}

function rangeOf(o: Observer, method: CalibrationMethod): TensorRange {
  const { min, max } = o;
  if (method.method === 'minmax' || !o.histogram) return { min, max, low: min, high: max };
  const threshold =
    method.method === 'percentile'
      ? percentileThreshold(o.histogram, method.percentile ?? 99.99)
      : // A tensor with no negative values fills all 256 uint8 levels from 0; a signed one splits them.
        entropyThreshold(o.histogram, min >= 0 ? 255 : 128);
  return { min, max, low: Math.max(min, -threshold), high: Math.min(max, threshold) };
}

export async function calibrate(
  model: OnnxModel,
  runtime: OrtRuntime,
  batches: CalibrationBatches,
  o: CalibrateOptions = {},
): Promise<Calibration> {
  const ort = requireRuntime(runtime, 'calibrate');
  const method = o.method ?? { method: 'minmax' };
  const input = calibrationInput(model);
  const tensors = [...new Set(o.tensors ?? tensorsToCalibrate(model))];
  const observed = copyObserving(model, tensors);
  const observers = new Map(
    tensors.map((t) => [t, new Observer(method.method === 'minmax' ? undefined : (o.bins ?? 2048))]),
  );
  const session = await ort.InferenceSession.create(exportModel(observed), {
    ...ort.defaultSessionOptions,
    ...o.sessionOptions,
    // The float model as written: fusions may skip materializing a tensor or compute it otherwise.
    graphOptimizationLevel: 'disabled',
    logSeverityLevel: 3,
  });
  const fetched = tensors.filter((t) => t !== input.name);
  let count = 0;
  let samples = 0;
  try {
    for await (const batch of batches) {
      const dims = batchDims(input, batch, count);
      const data = batch instanceof Float32Array ? batch : batch.data;
      const results = await session.run({ [input.name]: new ort.Tensor('float32', data, dims) }, fetched);
      for (const t of tensors) {
        const values = t === input.name ? data : results[t]?.data;
        if (!(values instanceof Float32Array))
          throw new QuantizationError(`calibration: tensor '${t}' is not float32`);
        observers.get(t)!.observe(values, t);
      }
      count++;
      samples += dims[0] ?? 1;
    }
  } finally {
    await session.release();
  }
  if (count === 0) throw new QuantizationError('calibration: no batches were given');
  const ranges = new Map([...observers].map(([t, obs]) => [t, rangeOf(obs, method)]));
  return { method: method.method, ranges, batches: count, samples };
}

/** A copy of the model that also outputs `tensors` (graph inputs are read from the feed). */
function copyObserving(model: OnnxModel, tensors: readonly string[]): OnnxModel {
  const copy = importModel(exportModel(model), model.source);
  for (const t of tensors) {
    if (!copy.isDefined(t))
      throw new QuantizationError(`calibration: tensor '${t}' is not in ${model.source}`);
    if (copy.isInitializer(t)) throw new QuantizationError(`calibration: tensor '${t}' is an initializer`);
    if (!copy.isGraphOutput(t) && !copy.isGraphInput(t)) copy.addOutput(t);
  }
  return copy;
}

/**
 * One row of `edgefl bench`: what a model costs on this device and what it still gets right — file
 * size, parameters, latency at the two settings that matter (one example on one thread, as a phone
 * answering a user; a batch on two threads, as a small server), and accuracy on a labelled dataset.
 * Rows are compared with the first (the float original) as ratios. Browser-safe: the runtime is
 * handed in, and nothing here reads files.
 */
import type { Tensor } from 'onnxruntime-common';
import type { Dataset } from '../data/dataset.js';
import { sizeOf } from '../data/dataset.js';
import { importModel } from '../onnx/edit/io.js';
import { requireRuntime, type OrtRuntime } from '../runtime/ort.js';
import { LatencyError, measureLatency, type LatencyResult } from './latency.js';

export interface BenchSetting {
  batch: number;
  threads: number;
}

/** Batch 1 on one thread (an edge device answering one request), batch 32 on two threads. */
export const BENCH_SETTINGS: readonly BenchSetting[] = [
  { batch: 1, threads: 1 },
  { batch: 32, threads: 2 },
];

export interface ModelBenchOptions {
  runtime: OrtRuntime;
  /** Labelled examples for accuracy (a class index per example); absent: no accuracy. */
  data?: Dataset;
  /** At most this many examples of `data` (default: all). */
  examples?: number;
  settings?: readonly BenchSetting[];
  runs?: number;
  warmup?: number;
}

export interface ModelBenchRow {
  name: string;
  bytes: number;
  /** Values stored in the model's initializers (weights, biases, scales...). */
  parameters: number;
  latency: LatencyResult[];
  accuracy?: number;
  examples?: number;
}

/** Benchmarks one model (ONNX bytes). */
export async function benchModel(
  name: string,
  model: Uint8Array,
  o: ModelBenchOptions,
): Promise<ModelBenchRow> {
  const runtime = requireRuntime(o.runtime, 'benchModel');
  const m = importModel(model, name);
  let parameters = 0;
  for (const n of m.initializerNames()) {
    const dims = m.initializerProto(n)?.dims ?? [];
    parameters += dims.reduce((a, d) => a * Number(d), 1);
  }
  const latency: LatencyResult[] = [];
  for (const s of o.settings ?? BENCH_SETTINGS)
    latency.push(await measureLatency(model, { runtime, ...s, runs: o.runs, warmup: o.warmup }));
  const row: ModelBenchRow = { name, bytes: model.length, parameters, latency };
  if (o.data) {
    const { accuracy, examples } = await classifierAccuracy(model, runtime, o.data, o.examples, name);
    row.accuracy = accuracy;
    row.examples = examples;
  }
  return row;
}

/**
 * Top-1 accuracy of a classifier on labelled examples: the model's first output read as one score
 * per class. The dataset's features must have as many values as the model's input takes per example.
 */
export async function classifierAccuracy(
  model: Uint8Array,
  runtime: OrtRuntime,
  data: Dataset,
  limit = data.length,
  name = 'the model',
): Promise<{ accuracy: number; examples: number }> {
  const m = importModel(model, name);
  const inputs = m.inputs.filter((i) => !m.isInitializer(i.name));
  if (inputs.length !== 1)
    throw new LatencyError(`${name} has ${inputs.length} inputs; accuracy needs a classifier with one`);
  const input = inputs[0];
  const dims = (input.type?.tensorType?.shape?.dim ?? []).slice(1).map((d) => Number(d.dimValue));
  const perExample = sizeOf(data.featureShape);
  if (dims.some((d) => !(d > 0)) || sizeOf(dims) !== perExample)
    throw new LatencyError(
      `${name}'s input '${input.name}' takes [batch, ${dims.join(', ')}] per call; the data's examples are [${data.featureShape.join(', ')}]`,
    );
  if (data.featureType !== 'float32' || data.labelShape.length !== 0)
    throw new LatencyError(`accuracy needs float32 features and one class index per example`);
  const session = await runtime.InferenceSession.create(model, runtime.defaultSessionOptions);
  try {
    const n = Math.min(limit, data.length);
    const batch = 256;
    let correct = 0;
    for (let start = 0; start < n; start += batch) {
      const size = Math.min(batch, n - start);
      const features = new Float32Array(size * perExample);
      const labels = new Int32Array(size);
      data.gather(
        Array.from({ length: size }, (_, k) => start + k),
        features,
        labels,
      );
      const out = await session.run({
        [input.name]: new runtime.Tensor('float32', features, [size, ...dims]) as Tensor,
      });
      const scores = out[session.outputNames[0]].data as Float32Array;
      const classes = scores.length / size;
      for (let k = 0; k < size; k++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (scores[k * classes + c] > scores[k * classes + best]) best = c;
        if (best === labels[k]) correct++;
      }
    }
    return { accuracy: correct / n, examples: n };
  } finally {
    await session.release();
  }
}

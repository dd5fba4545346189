/**
 * How long a model takes to answer on this device: one session, warm-up runs (the first calls
 * allocate and, in a browser, compile), then many timed runs on the same inputs, reported as
 * percentiles — a median for the typical call and p95 for the tail a user notices. The same code runs
 * in Node (onnxruntime-node) and in a browser tab (onnxruntime-web): the runtime is handed in.
 *
 * Threads: `threads` sets the session's intra-op threads where the runtime takes them per session
 * (onnxruntime-node). onnxruntime-web fixes its WebAssembly threads when the runtime is made
 * (webRuntime's options), so there the figure is for those.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { requireRuntime, type OrtRuntime } from '../runtime/ort.js';
import { importModel } from '../onnx/edit/io.js';
import { Rng } from '../util/rng.js';

export interface LatencyOptions {
  runtime: OrtRuntime;
  /** Examples per call (fills the model's first, symbolic dimension; default 1). */
  batch?: number;
  /** Intra-op threads (default: the runtime's default). */
  threads?: number;
  /** Untimed calls first (default 20). */
  warmup?: number;
  /** Timed calls (default 200). */
  runs?: number;
  /** Extra session options (e.g. graphOptimizationLevel). */
  sessionOptions?: InferenceSession.SessionOptions;
  /** Seed of the random inputs (default 1). */
  seed?: number;
}

export interface LatencyResult {
  batch: number;
  threads: number | undefined;
  runs: number;
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
  minMs: number;
  /** The median call divided by the batch. */
  p50PerExampleMs: number;
}

export class LatencyError extends Error {
  override name = 'LatencyError';
}

/** ONNX element types a random input can be made for: float32 (1) only, named in refusals. */
const FLOAT = 1;

/** Times `model` (ONNX bytes) as described above. */
export async function measureLatency(model: Uint8Array, o: LatencyOptions): Promise<LatencyResult> {
  const runtime = requireRuntime(o.runtime, 'measureLatency');
  const batch = o.batch ?? 1;
  const warmup = o.warmup ?? 20;
  const runs = o.runs ?? 200;
  if (!Number.isInteger(batch) || batch < 1)
    throw new LatencyError(`batch must be an integer >= 1, got ${batch}`);
  if (!Number.isInteger(runs) || runs < 1)
    throw new LatencyError(`runs must be an integer >= 1, got ${runs}`);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new LatencyError(`warmup must be an integer >= 0, got ${warmup}`);
  const feeds = randomFeeds(model, runtime, batch, o.seed ?? 1);
  const session = await runtime.InferenceSession.create(model, {
    ...runtime.defaultSessionOptions,
    ...(o.threads !== undefined ? { intraOpNumThreads: o.threads } : {}),
    ...o.sessionOptions,
  });
  try {
    for (let i = 0; i < warmup; i++) await session.run(feeds);
    const times = new Float64Array(runs);
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times[i] = performance.now() - t0;
    }
    times.sort();
    const p50 = percentile(times, 0.5);
    return {
      batch,
      threads: o.threads,
      runs,
      p50Ms: p50,
      p95Ms: percentile(times, 0.95),
      meanMs: times.reduce((a, b) => a + b, 0) / runs,
      minMs: times[0],
      p50PerExampleMs: p50 / batch,
    };
  } finally {
    await session.release();
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new LatencyError('percentile of no values');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/**
 * Normal random values for every graph input that is not an initializer, shaped by the model's
 * declared shape with the first symbolic dimension (the batch) set to `batch`; any other symbolic
 * dimension cannot be guessed and is refused, naming the input.
 */
function randomFeeds(
  model: Uint8Array,
  runtime: OrtRuntime,
  batch: number,
  seed: number,
): Record<string, Tensor> {
  const m = importModel(model, 'the model to time');
  const rng = new Rng(seed);
  const feeds: Record<string, Tensor> = {};
  for (const input of m.inputs) {
    if (m.isInitializer(input.name)) continue;
    const t = input.type?.tensorType;
    if (!t || t.elemType !== FLOAT)
      throw new LatencyError(
        `input '${input.name}' is not a float32 tensor (ONNX element type ${t?.elemType ?? 'none'}): give inputs of your own`,
      );
    const dims = (t.shape?.dim ?? []).map((d, k) => {
      const fixed = d.dimParam === '' && d.dimValue > 0n ? Number(d.dimValue) : undefined;
      if (k === 0 && fixed !== undefined && fixed !== batch)
        throw new LatencyError(
          `input '${input.name}' has a fixed batch of ${fixed}: it cannot be timed at batch ${batch}`,
        );
      if (fixed !== undefined) return fixed;
      if (k === 0) return batch;
      throw new LatencyError(
        `input '${input.name}' has a symbolic dimension '${d.dimParam}' at axis ${k} besides the batch`,
      );
    });
    const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = rng.normal();
    feeds[input.name] = new runtime.Tensor('float32', values, dims);
  }
  if (Object.keys(feeds).length === 0) throw new LatencyError('the model has no inputs to feed');
  return feeds;
}

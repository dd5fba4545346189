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
import type { OnnxModel } from '../onnx/edit/model.js';
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
  /**
   * The inputs to time with, instead of random normal ones: needed for inputs that are not float32
   * (token ids, which must be valid vocabulary indices). `batch` then only labels the result.
   */
  feeds?: Readonly<Record<string, Tensor>>;
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

/** ONNX element types random inputs are made for: float32 (1), and int32 (6) / int64 (7) indices. */
const FLOAT = 1;
const INDEX_TYPES: Record<number, 'int32' | 'int64' | undefined> = { 6: 'int32', 7: 'int64' };

/**
 * How many rows the tables an integer input indexes have (the smallest, when several): the input
 * is token ids for a Gather along axis 0 of a constant table, such as an embedding. Undefined when
 * anything else reads it, since no random integers are then known to be valid.
 */
function lookupRows(m: OnnxModel, input: string): number | undefined {
  const readers = m.consumers(input);
  let rows = Infinity;
  for (const n of readers) {
    const table = n.inputs[0];
    const t =
      n.opType === 'Gather' && n.inputs[1] === input && n.int('axis', 0) === 0 && m.initializerProto(table);
    if (!t || t.dims.length === 0) return undefined;
    rows = Math.min(rows, Number(t.dims[0]));
  }
  return readers.length > 0 && rows > 0 ? rows : undefined;
}

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
  const feeds = o.feeds ?? randomFeeds(model, runtime, batch, o.seed ?? 1);
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
export function randomFeeds(
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
    const ids = t && INDEX_TYPES[t.elemType] ? lookupRows(m, input.name) : undefined;
    if (!t || (t.elemType !== FLOAT && ids === undefined))
      throw new LatencyError(
        `input '${input.name}' is not a float32 tensor (ONNX element type ${t?.elemType ?? 'none'})` +
          `${t && INDEX_TYPES[t.elemType] ? ' nor indices into a table the model looks up' : ''}: give inputs of your own (feeds)`,
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
    const size = dims.reduce((a, b) => a * b, 1);
    if (ids !== undefined) {
      // Token ids: uniform over the rows of the table they index (the vocabulary).
      const type = INDEX_TYPES[t.elemType]!;
      const values = Array.from({ length: size }, () => rng.int(ids));
      feeds[input.name] =
        type === 'int32'
          ? new runtime.Tensor('int32', Int32Array.from(values), dims)
          : new runtime.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
      continue;
    }
    const values = new Float32Array(size);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal();
    feeds[input.name] = new runtime.Tensor('float32', values, dims);
  }
  if (Object.keys(feeds).length === 0) throw new LatencyError('the model has no inputs to feed');
  return feeds;
}

/**
 * What one decision of a model costs on the device that runs it: its time (measureLatency at batch
 * 1, in this process) and its memory, stated two ways.
 *
 * The model's own tensors, exactly: its stored constants (weights, scaling constants) and the peak of
 * its intermediate values alive at once when its nodes run in the file's order, each value freed after
 * its last reader — what a static memory planner (a microcontroller runtime's arena) must reserve.
 * The sizes are observed, not inferred: every intermediate value is made an output and the model runs
 * once on the decision's inputs.
 *
 * What a process running ONNX Runtime gains in resident memory (RSS): ONNX Runtime allocates
 * natively, out of sight of the JS heap, so this is the growth of the RSS of a fresh Node process that
 * does nothing but load onnxruntime-node, open a session on the model and decide, step by step:
 *
 *  - runtimeBytes: loading the runtime library and starting it (its environment and thread pools,
 *    which come with the first session: a one-node model opens and runs first) — paid once,
 *    whatever the model and however many models the device holds;
 *  - sessionBytes: opening the session — the weights, the optimized graph, the kernels' state;
 *  - runBytes: the decisions — the first run allocates the working buffers (ONNX Runtime's arena),
 *    later runs reuse them, so this stays put however many decisions follow;
 *  - decisionBytes = sessionBytes + runBytes: the resident memory the model adds on top of the
 *    runtime to take decisions, which is what "the memory of one decision" means here.
 *
 * RSS moves in whole pages (4 KB) and the allocator keeps what it frees, so for a model of a few
 * kilobytes these figures carry a noise of some hundreds of kilobytes: the median of a few fresh
 * processes is reported, and the tensor figures above are the exact ones.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { serialize } from 'node:v8';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import {
  encodeModel,
  exportModel,
  Graph,
  importModel,
  measureLatency,
  ops,
  randomFeeds,
  type LatencyResult,
  type OrtRuntime,
} from 'edgefl';
import { nativeRuntime } from './node.js';

/** One input of a decision, as plain data (it crosses into the measuring process). */
export interface PlainTensor {
  type: 'float32' | 'int32' | 'int64';
  data: Float32Array | Int32Array | BigInt64Array;
  dims: readonly number[];
}

export interface DecisionCostOptions {
  /** The inputs of one decision; default: random normal values shaped by the model, batch 1. */
  feeds?: Readonly<Record<string, PlainTensor>>;
  /** Timed decisions (default 500) after untimed ones (default 50), for the latency and the memory. */
  runs?: number;
  warmup?: number;
  /** Intra-op threads (default 1: a small device's one core). */
  threads?: number;
  /** Fresh measuring processes, of which the median is reported (default 3). */
  processes?: number;
  /** Give up on a measuring process after this long (default 120 s). */
  timeoutMs?: number;
}

export interface TensorMemory {
  /** The constants stored in the model (initializers and Constant nodes). */
  constantBytes: number;
  /** The most bytes of input and intermediate values alive at once during one decision. */
  peakActivationBytes: number;
  /** constantBytes + peakActivationBytes. */
  totalBytes: number;
}

/** Growth of a process's resident set, as described above (medians over the measuring processes). */
export interface DecisionMemory {
  runtimeBytes: number;
  sessionBytes: number;
  runBytes: number;
  decisionBytes: number;
  /** The measuring process's peak resident set, everything included (Linux; undefined elsewhere). */
  peakRssBytes: number | undefined;
}

export interface DecisionCost {
  /** The .onnx file's size: what a device stores and what an update of the model downloads. */
  modelBytes: number;
  latency: LatencyResult;
  tensors: TensorMemory;
  memory: DecisionMemory;
  /** The outputs of the decision on `feeds`, as the measuring process computed them. */
  outputs: Record<string, number[]>;
}

/**
 * The measuring process: plain JavaScript, nothing loaded but onnxruntime-node. The one-node model
 * opens and runs as many times as the model will, so the runtime's own growth (its environment,
 * thread pools, the allocator's pools for a run's bookkeeping) is counted before the model's.
 */
const MEASURE = String.raw`
import { readFileSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { pathToFileURL } from 'node:url';
const rss = () => { globalThis.gc(); return process.memoryUsage.rss(); };
const job = deserialize(readFileSync(0));
const start = rss();
const ort = (await import(pathToFileURL(process.argv[1]).href)).default;
const feeds = {};
for (const [name, t] of Object.entries(job.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
const one = { x: new ort.Tensor('float32', new Float32Array(1), [1]) };
const baseline = await ort.InferenceSession.create(job.baseline, job.sessionOptions);
for (let i = 0; i < job.warmup + job.runs; i++) await baseline.run(one);
const loaded = rss();
const session = await ort.InferenceSession.create(job.model, job.sessionOptions);
const opened = rss();
let out;
for (let i = 0; i < job.warmup + job.runs; i++) out = await session.run(feeds);
const decided = rss();
const status = (() => { try { return readFileSync('/proc/self/status', 'utf8'); } catch { return ''; } })();
const hwm = /VmHWM:\s*(\d+) kB/.exec(status);
const outputs = {};
for (const [name, t] of Object.entries(out)) outputs[name] = Array.from(t.data, Number);
process.stdout.write(JSON.stringify({
  runtimeBytes: loaded - start, sessionBytes: opened - loaded, runBytes: decided - opened,
  peakRssBytes: hwm ? Number(hwm[1]) * 1024 : null, outputs,
}));
`;

/** y = relu(x) on one float: the smallest model there is, to start the runtime with. */
function baselineModel(): Uint8Array {
  const g = new Graph('baseline');
  g.output(ops.relu(g.input('x', 'float32', [1])), 'y');
  return encodeModel(g);
}

function plain(feeds: Record<string, Tensor>): Record<string, PlainTensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [
      name,
      { type: t.type as PlainTensor['type'], data: t.data as PlainTensor['data'], dims: [...t.dims] },
    ]),
  );
}

const byteLength = (data: { byteLength: number } | readonly unknown[]): number =>
  'byteLength' in data ? data.byteLength : 0;

/**
 * The model's constants and the peak of its values alive at once during one run on `feeds` (see
 * the module's comment). Runs on any ONNX Runtime handed in.
 */
export async function tensorMemory(
  model: Uint8Array,
  feeds: Readonly<Record<string, Tensor>>,
  runtime: OrtRuntime,
): Promise<TensorMemory> {
  const m = importModel(model, 'the model to measure');
  let constantBytes = 0;
  for (const name of m.initializerNames()) constantBytes += byteLength(m.initializer(name)!.data);
  const nodes = m.nodes();
  const constants = new Set(nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.outputs));
  const results = m.outputs.map((o) => o.name);
  // Every value a node computes becomes an output, so one run reports every size.
  for (const n of nodes) for (const v of n.outputs) if (v !== '' && !m.isGraphOutput(v)) m.addOutput(v);
  const session = await runtime.InferenceSession.create(exportModel(m), runtime.defaultSessionOptions);
  let sizes: Map<string, number>;
  try {
    const out = await session.run(feeds as Record<string, Tensor>);
    sizes = new Map(Object.entries(out).map(([name, t]) => [name, byteLength(t.data as Float32Array)]));
  } finally {
    await session.release();
  }
  for (const [name, t] of Object.entries(feeds)) sizes.set(name, byteLength(t.data as Float32Array));
  for (const c of constants) constantBytes += sizes.get(c) ?? 0;

  // A value lives from the step that makes it (inputs: from the start) to its last reader (graph
  // outputs: to the end); the peak is the largest sum over the steps.
  const last = new Map<string, number>();
  nodes.forEach((n, i) => n.inputs.forEach((v) => last.set(v, i)));
  for (const name of results) last.set(name, nodes.length);
  const born = new Map<string, number>(Object.keys(feeds).map((name) => [name, -1]));
  nodes.forEach((n, i) => n.outputs.forEach((v) => !constants.has(v) && v !== '' && born.set(v, i)));
  let peakActivationBytes = 0;
  for (let step = 0; step < nodes.length; step++) {
    let alive = 0;
    for (const [v, from] of born)
      if (from <= step && (last.get(v) ?? from) >= step) alive += sizes.get(v) ?? 0;
    peakActivationBytes = Math.max(peakActivationBytes, alive);
  }
  return { constantBytes, peakActivationBytes, totalBytes: constantBytes + peakActivationBytes };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Time and memory of one decision of `model` (ONNX bytes) on native ONNX Runtime, as described above. */
export async function decisionCost(model: Uint8Array, o: DecisionCostOptions = {}): Promise<DecisionCost> {
  const runs = o.runs ?? 500;
  const warmup = o.warmup ?? 50;
  const processes = o.processes ?? 3;
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`decisionCost: runs must be an integer >= 1, got ${runs}`);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new Error(`decisionCost: warmup must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(processes) || processes < 1)
    throw new Error(`decisionCost: processes must be an integer >= 1, got ${processes}`);
  const threads = o.threads ?? 1;
  const runtime = nativeRuntime({ intraOpNumThreads: threads });
  const feeds = o.feeds ?? plain(randomFeeds(model, runtime, 1, 1));
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [name, new runtime.Tensor(t.type, t.data, [...t.dims])]),
  );
  const latency = await measureLatency(model, { runtime, feeds: tensors, runs, warmup, threads });
  const own = await tensorMemory(model, tensors, runtime);
  // The same session options as the runtime's own sessions, so every measurement sees the same graph.
  const sessionOptions: InferenceSession.SessionOptions = runtime.defaultSessionOptions ?? {};
  const job = serialize({ model, baseline: baselineModel(), feeds, runs, warmup, sessionOptions });
  const measured: Measured[] = [];
  // One after the other: processes measured side by side would share the machine's memory pressure.
  for (let i = 0; i < processes; i++) measured.push(await runMeasuringProcess(job, o.timeoutMs ?? 120_000));
  const med = (key: 'runtimeBytes' | 'sessionBytes' | 'runBytes') => median(measured.map((r) => r[key]));
  const peaks = measured.map((r) => r.peakRssBytes).filter((p): p is number => p !== null);
  return {
    modelBytes: model.byteLength,
    latency,
    tensors: own,
    memory: {
      runtimeBytes: med('runtimeBytes'),
      sessionBytes: med('sessionBytes'),
      runBytes: med('runBytes'),
      decisionBytes: median(measured.map((r) => r.sessionBytes + r.runBytes)),
      peakRssBytes: peaks.length ? median(peaks) : undefined,
    },
    outputs: measured[0].outputs,
  };
}

interface Measured {
  runtimeBytes: number;
  sessionBytes: number;
  runBytes: number;
  peakRssBytes: number | null;
  outputs: Record<string, number[]>;
}

function runMeasuringProcess(job: Buffer, timeoutMs: number): Promise<Measured> {
  const ortEntry = createRequire(import.meta.url).resolve('onnxruntime-node');
  // A bare process: none of this one's loaders or flags (NODE_OPTIONS), so the runtime is all it holds.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '--eval', MEASURE, ortEntry], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end(job);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`decisionCost: the measuring process did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(
          new Error(`decisionCost: the measuring process failed (exit ${code}): ${stderr.trim()}`),
        );
      try {
        resolve(JSON.parse(stdout) as Measured);
      } catch {
        reject(
          new Error(`decisionCost: the measuring process answered ${JSON.stringify(stdout.slice(0, 200))}`),
        );
      }
    });
  });
}

/**
 * FedAvg's running sum on two threads (Node). A server aggregating large models spends its time in
 * `WeightedSum.add`: copy the update into WebAssembly memory, check it for NaN/±Infinity, multiply
 * and add it into the float64 sum. One thread is bound by its own instruction throughput and memory
 * traffic (bench:aggregate); here the vector is split in two halves over one *shared* WebAssembly
 * memory, the main thread working on the first and a helper thread on the second.
 *
 * The guarantees stay those of the one-thread path: both halves are checked before either is
 * added (a refused update changes nothing), and every element sees the same float64 operations in
 * the same order, so the sums are bit-identical.
 *
 * Opt-in (`parallelSumBackend`, whose `backend` goes to the sums: WeightedSum's `backend` option, or
 * the round engine's `sumBackend`): it is for a server process whose second core is otherwise idle
 * while it aggregates. A simulation whose worker threads already keep the cores busy gains nothing
 * from it.
 */
import { MessageChannel, type Worker } from 'node:worker_threads';
import { firstNonFinite } from 'edgefl/internal/tensor/math';
import { overflowIndex, type SumBackend, type SumBackendFactory } from 'edgefl/internal/tensor/weighted-sum';
import { roundUp, sharedSimdModule, type SimdKernels } from 'edgefl/internal/tensor/wasm/simd-kernels';
import { spawnModuleWorker } from '../util/spawn-worker.js';
import {
  CTRL,
  OP,
  type AttachMessage,
  type DetachMessage,
  type HelperInit,
} from './parallel-sum-protocol.js';

/** Below this many parameters a hand-over costs more than half the work saves. */
const DEFAULT_MIN_LENGTH = 1 << 18;
/** A helper that has not answered in this long is taken for dead: the add fails rather than hang. */
const ANSWER_TIMEOUT_MS = 10_000;

class Helper {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL.slots * 4));
  readonly weight = new Float64Array(new SharedArrayBuffer(8));
  private readonly channel = new MessageChannel();
  private seq = 0;
  private nextMemory = 1;
  alive = true;
  /** Tells the helper to drop a collected sum's instance (it does so at its next attach). */
  private readonly released = new FinalizationRegistry<number>((id) =>
    this.channel.port1.postMessage({ detach: id } satisfies DetachMessage),
  );

  constructor(
    readonly worker: Worker,
    readonly module: WebAssembly.Module,
  ) {
    worker.on('exit', () => (this.alive = false));
    worker.on('error', () => (this.alive = false));
  }

  async start(): Promise<void> {
    const init: HelperInit = {
      control: this.ctrl.buffer as SharedArrayBuffer,
      weight: this.weight.buffer as SharedArrayBuffer,
      module: this.module,
      port: this.channel.port2,
    };
    const ready = new Promise<void>((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`parallel sum helper exited (code ${code})`)));
    });
    this.worker.postMessage(init, [this.channel.port2]);
    await ready;
    // The helper sleeps in Atomics.wait when idle; it must not keep the process alive.
    this.worker.unref();
    this.channel.port1.unref();
  }

  attach(owner: object, memory: WebAssembly.Memory): number {
    const id = this.nextMemory++;
    this.channel.port1.postMessage({ id, memory } satisfies AttachMessage);
    this.run(OP.attach, id);
    this.released.register(owner, id);
    return id;
  }

  /** Posts a command; `finish` waits for it. Between the two the caller does its own half. */
  post(op: number, memory: number, first: number, count: number, stage: number): void {
    const c = this.ctrl;
    c[CTRL.op] = op;
    c[CTRL.memory] = memory;
    c[CTRL.first] = first;
    c[CTRL.count] = count;
    c[CTRL.stage] = stage;
    Atomics.store(c, CTRL.command, ++this.seq);
    Atomics.notify(c, CTRL.command);
  }

  /** Waits (spinning: the answer is due within a fraction of a millisecond) for the last command. */
  finish(): void {
    const c = this.ctrl;
    const started = performance.now();
    for (let spins = 0; Atomics.load(c, CTRL.done) !== this.seq; spins++) {
      if ((spins & 0xfff) === 0 && performance.now() - started > ANSWER_TIMEOUT_MS) {
        this.alive = false;
        throw new Error(`the parallel sum helper thread did not answer within ${ANSWER_TIMEOUT_MS} ms`);
      }
    }
  }

  private run(op: number, memory: number): void {
    this.post(op, memory, 0, 0, 0);
    this.finish();
  }
}

/** A sum split between this thread (the first half of every vector) and the helper (the second). */
class TwoThreadSum implements SumBackend {
  readonly threads = 2;
  private readonly acc: Float64Array;
  private readonly stage: Float32Array;
  private readonly stageOffset: number;
  /** The helper's half: elements [half, padded). */
  private readonly half: number;
  private readonly padded: number;
  private readonly memoryId: number;
  private broken = false;

  constructor(
    readonly length: number,
    private readonly helper: Helper,
    memory: WebAssembly.Memory,
    private readonly kernels: SimdKernels,
  ) {
    // Layout: [sum: float64 × padded][stage: float32 × padded]; the padding stays zero.
    this.padded = roundUp(length, 16);
    this.half = roundUp(Math.ceil(this.padded / 2), 16);
    this.acc = new Float64Array(memory.buffer, 0, length);
    this.stageOffset = this.padded * 8;
    this.stage = new Float32Array(memory.buffer, this.stageOffset, this.padded);
    this.memoryId = helper.attach(this, memory);
  }

  add(x: Float32Array, weight: number): number {
    if (this.broken || !this.helper.alive)
      throw new Error('the parallel sum lost its helper thread; this sum can no longer be trusted');
    const { half, padded, stageOffset, kernels, helper } = this;
    const n = x.length;
    try {
      // The helper's half first, so that it checks while this thread copies and checks its own.
      if (n > half) this.stage.set(x.subarray(half), half);
      helper.post(OP.check, this.memoryId, half, padded - half, stageOffset);
      this.stage.set(n > half ? x.subarray(0, half) : x);
      const mine = kernels.nonFinite(stageOffset, half);
      helper.finish();
      if (mine !== 0 || helper.ctrl[CTRL.result] !== 0) return firstNonFinite(x);
      const overflow = overflowIndex(x, weight);
      if (overflow >= 0) return overflow;
      helper.weight[0] = weight;
      helper.post(OP.add, this.memoryId, half, padded - half, stageOffset);
      kernels.accumulate(0, stageOffset, half, weight);
      helper.finish();
      return -1;
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  sum(): Float64Array {
    return this.acc;
  }
}

export interface ParallelSumBackend {
  /** Vectors at least this long are summed on two threads. */
  readonly minLength: number;
  /**
   * For WeightedSum's `backend` option (or the round's `sumBackend`): a two-thread sum for lengths
   * of at least minLength; undefined, leaving the sum to the default one-thread back-end, for
   * shorter ones and once the helper is gone.
   */
  readonly backend: SumBackendFactory;
  /**
   * Stops the helper thread. Sums made afterwards use one thread; sums it already runs refuse
   * further adds (what they hold stays readable).
   */
  close(): Promise<void>;
}

/**
 * A back-end that sums vectors of at least `minLength` parameters (default 2^18) on two threads:
 * the caller's and a helper thread of its own, started here. Resolves once the helper is ready;
 * resolves to undefined where shared WebAssembly memories or SIMD are unavailable.
 */
export async function parallelSumBackend(
  options: { minLength?: number } = {},
): Promise<ParallelSumBackend | undefined> {
  const minLength = options.minLength ?? DEFAULT_MIN_LENGTH;
  if (!(Number.isInteger(minLength) && minLength >= 1))
    throw new RangeError(`parallelSumBackend: minLength must be a positive integer, got ${minLength}`);
  const module = sharedSimdModule();
  if (!module) return undefined;
  const helper = new Helper(spawnModuleWorker(import.meta.url, 'parallel-sum-worker'), module);
  await helper.start();
  return {
    minLength,
    backend: (length) =>
      length >= minLength && helper.alive ? twoThreadSum(length, helper, module) : undefined,
    close: async () => {
      helper.alive = false;
      await helper.worker.terminate();
    },
  };
}

/** A two-thread sum over a new shared memory, or undefined if that memory or the helper's instance fails. */
function twoThreadSum(length: number, helper: Helper, module: WebAssembly.Module): SumBackend | undefined {
  const pages = Math.ceil((roundUp(length, 16) * 12) / 65536);
  if (pages > 65536) return undefined;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return undefined; // the memory could not be reserved: one thread, as without this
  }
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
  try {
    return new TwoThreadSum(length, helper, memory, kernels);
  } catch {
    // The helper did not take the memory (it is then marked dead). Nothing has been added yet, so
    // this sum, and every later one, simply runs on one thread.
    return undefined;
  }
}

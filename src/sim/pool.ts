/**
 * The simulation executor: runs a round's client fits in a pool of worker threads (one ONNX
 * Runtime session per worker, reused across clients) over one dataset shared through
 * SharedArrayBuffers. A client is an index list into that dataset, so memory grows with the number
 * of clients only by their index lists.
 *
 * Real federations are unreliable; the pool can make the simulation so, reproducibly (seeded by
 * round): clients that drop out mid-round, stragglers whose compute time is multiplied by a
 * slowdown drawn from a log-normal distribution and who miss a round deadline. Each is reported to
 * the engine as an outcome with its reason.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Dataset } from '../data/dataset.js';
import { ArrayDataset } from '../data/dataset.js';
import type { ModelSpec } from '../model/layers.js';
import { buildModel } from '../model/build.js';
import type { TrainerOptions } from '../runtime/trainer.js';
import type { FitExecutor, FitOutcome, FitTask } from '../fl/executor.js';
import { clientSeed, roundRng } from '../fl/engine.js';
import type { SharedDatasetInit, WorkerInit, WorkerReply, WorkerTask } from './protocol.js';

export interface FailureModel {
  /** Probability that a selected client drops out during the round. */
  dropoutRate?: number;
  /** Fraction of clients that straggle, and the log-normal sigma of their slowdown factor (median 1 + 2σ). */
  stragglerRate?: number;
  stragglerSigma?: number;
  /** Simulated round deadline in seconds of (slowed-down) client compute; later results are 'late'. */
  deadlineSeconds?: number;
  /**
   * Byzantine clients: a fixed fraction of the clients (the same ones every round, chosen by the
   * seed) send a corrupted update — the honest delta sign-flipped or scaled by `factor` (default 10).
   */
  byzantine?: { fraction: number; attack: 'signflip' | 'scale'; factor?: number };
}

/** Whether a client is one of the simulation's Byzantine clients (a fixed set under the seed). */
export function isByzantine(seed: number, clientId: string, fraction: number): boolean {
  return fraction > 0 && clientSeed(seed ^ 0xbad, 0, clientId) / 2 ** 32 < fraction;
}

export interface WorkerPoolOptions {
  spec: ModelSpec;
  trainer: Pick<TrainerOptions, 'loss' | 'optimizer' | 'classWeights'>;
  dataset: Dataset;
  /** Each client's sample indices into `dataset`. */
  indicesOf: (clientId: string) => Uint32Array;
  workers?: number;
  failures?: FailureModel;
  seed?: number;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class WorkerPool implements FitExecutor {
  private readonly slots: Slot[] = [];
  private readonly global: Float32Array;
  private readonly globalSab: SharedArrayBuffer;
  private nextTask = 0;
  private ready: Promise<void>;

  constructor(private readonly o: WorkerPoolOptions) {
    const shared = shareDataset(o.dataset);
    const paramCount = countParameters(o);
    this.globalSab = new SharedArrayBuffer(paramCount * 4);
    this.global = new Float32Array(this.globalSab);
    const n = o.workers ?? Math.max(1, availableParallelism());
    const init: WorkerInit = {
      kind: 'init',
      spec: o.spec,
      trainer: o.trainer,
      dataset: shared,
      global: this.globalSab,
      intraOpThreads: 1,
    };
    const starts: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const worker = spawnWorker();
      this.slots.push({ worker, busy: false });
      starts.push(
        new Promise((resolve, reject) => {
          const onMessage = (m: WorkerReply) => {
            if (m.kind === 'ready') resolve();
            else if (m.kind === 'init-error')
              reject(new Error(`simulation worker failed to start: ${m.message}`));
            else return;
            worker.off('message', onMessage);
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
        }),
      );
      worker.postMessage(init);
    }
    this.ready = Promise.all(starts).then(() => undefined);
  }

  get size(): number {
    return this.slots.length;
  }

  async run(
    round: number,
    global: Float32Array,
    tasks: readonly FitTask[],
    onOutcome: (o: FitOutcome) => void,
  ): Promise<void> {
    await this.ready;
    if (global.length !== this.global.length)
      throw new Error(`WorkerPool: global has ${global.length} values, the model ${this.global.length}`);
    this.global.set(global); // every worker reads the round's model from here
    const f = this.o.failures ?? {};
    const rng = roundRng((this.o.seed ?? 0) ^ 0x5107, round);
    // Fates are drawn up front, in task order, so they do not depend on completion order.
    const plans = tasks.map((t) => ({
      task: t,
      seed: clientSeed(this.o.seed ?? 0, round, t.client.id),
      drops: rng.uniform() < (f.dropoutRate ?? 0),
      slowdown:
        rng.uniform() < (f.stragglerRate ?? 0)
          ? Math.exp((f.stragglerSigma ?? 1) * Math.abs(rng.normal())) * 3
          : 1,
    }));
    const queue = plans.filter((p) => {
      if (!p.drops) return true;
      onOutcome({
        ok: false,
        clientId: p.task.client.id,
        kind: 'dropped',
        reason: 'dropped out during the round (simulated)',
      });
      return false;
    });
    const bytesDown = global.byteLength;
    await new Promise<void>((resolve, reject) => {
      let pending = queue.length;
      if (pending === 0) return resolve();
      const dispatch = (slot: Slot) => {
        const p = queue.shift();
        if (!p) {
          slot.busy = false;
          return;
        }
        slot.busy = true;
        const taskId = this.nextTask++;
        const onMessage = (m: WorkerReply) => {
          if ((m.kind !== 'fitted' && m.kind !== 'error') || m.taskId !== taskId) return;
          slot.worker.off('message', onMessage);
          slot.worker.off('error', onError);
          if (m.kind === 'error')
            onOutcome({ ok: false, clientId: m.clientId, kind: 'failed', reason: m.message });
          else {
            const simulated = m.seconds * p.slowdown;
            if (f.deadlineSeconds !== undefined && simulated > f.deadlineSeconds)
              onOutcome({
                ok: false,
                clientId: m.clientId,
                kind: 'late',
                reason: `finished after ${simulated.toFixed(2)} s (slowdown ×${p.slowdown.toFixed(1)}), deadline ${f.deadlineSeconds} s`,
              });
            else {
              const b = f.byzantine;
              if (b && isByzantine(this.o.seed ?? 0, m.clientId, b.fraction)) {
                const k = b.attack === 'signflip' ? -1 : (b.factor ?? 10);
                for (let i = 0; i < m.delta.length; i++) m.delta[i] *= k;
              }
              onOutcome({
                ok: true,
                clientId: m.clientId,
                update: {
                  clientId: m.clientId,
                  delta: m.delta,
                  numExamples: m.numExamples,
                  metrics: m.metrics,
                },
                seconds: m.seconds,
                bytesUp: m.delta.byteLength,
                bytesDown,
              });
            }
          }
          if (--pending === 0) resolve();
          dispatch(slot);
        };
        const onError = (e: Error) => reject(new Error(`simulation worker crashed: ${e.message}`));
        slot.worker.on('message', onMessage);
        slot.worker.once('error', onError);
        const msg: WorkerTask = {
          kind: 'fit',
          taskId,
          round,
          clientId: p.task.client.id,
          indices: this.o.indicesOf(p.task.client.id),
          config: p.task.config,
          seed: p.seed,
        };
        slot.worker.postMessage(msg);
      };
      for (const slot of this.slots) dispatch(slot);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

/** The worker module, as TypeScript under tsx (tests, development) or compiled JavaScript. */
function spawnWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from source: register tsx inside the worker before loading the TypeScript module.
    const url = new URL('./worker.ts', here).href;
    return new Worker(
      `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`,
      { eval: true },
    );
  }
  return new Worker(new URL('./worker.js', here));
}

/** Copies the dataset once into SharedArrayBuffers (unless it already lives in them). */
function shareDataset(ds: Dataset): SharedDatasetInit {
  let features: Float32Array | Int32Array;
  let labels: Float32Array | Int32Array;
  if (ds instanceof ArrayDataset) {
    features = ds.features;
    labels = ds.labels;
  } else {
    throw new Error(
      'WorkerPool: the shared dataset must be an ArrayDataset (one contiguous table); pass partitions as index lists',
    );
  }
  const share = <T extends Float32Array | Int32Array>(a: T): SharedArrayBuffer => {
    if (a.buffer instanceof SharedArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength)
      return a.buffer;
    const sab = new SharedArrayBuffer(a.byteLength);
    new Uint8Array(sab).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return sab;
  };
  return {
    features: share(features),
    labels: share(labels),
    featureType: ds.featureType,
    labelType: ds.labelType,
    featureShape: [...ds.featureShape],
    labelShape: [...ds.labelShape],
    classes: ds.classes ? [...ds.classes] : undefined,
    normalization: ds.normalization,
  };
}

function countParameters(o: WorkerPoolOptions): number {
  return buildModel(o.spec, { mode: 'infer' }).layout.reduce((n, e) => n + e.size, 0);
}

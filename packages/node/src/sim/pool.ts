/**
 * The simulation executor: runs a round's client fits in a pool of worker threads (one ONNX
 * Runtime session per worker, reused across clients) over one dataset shared through
 * SharedArrayBuffers. A client is an index list into that dataset, so memory grows with the number
 * of clients only by their index lists. Each worker runs the client pipeline
 * (federation/client-pipeline.ts), so what comes back is what a real client would upload; decoding
 * and simulated failures are layers around any executor (fl/executors/), not part of this one.
 *
 * A client's state between its rounds (a codec's state: top-k's error-feedback residual) belongs
 * to the client, but a client runs on whichever worker is free, so the pool keeps every client's
 * state here, keyed by client id, and hands it to the worker with the client's task. Memory: one
 * model-sized Float32Array (4 bytes a parameter) per client that has taken part at least once with
 * top-k — for the 2NN (199,210 parameters) about 0.8 MB a client, 80 MB for 100 clients, 8 GB for
 * 10,000. Stateless codecs (float32, float16, qsgd8) keep nothing.
 */
import { Worker } from 'node:worker_threads';
import { nodeBackend, type NodeBackend } from '../runtime/node.js';
import { availableParallelism } from 'node:os';
import {
  type Dataset,
  ArrayDataset,
  type ModelSpec,
  buildModel,
  type TrainerOptions,
  type EvaluateOutcome,
  type EvaluateTask,
  type FitExecutor,
  type FitOutcome,
  type FitTask,
  type StageMessage,
  type StageReply,
  clientSeed,
  uploadBytes,
  type CodecState,
  type ClientState,
} from 'edgefl';
import type {
  SharedDatasetInit,
  WorkerEvaluateTask,
  WorkerExchangeTask,
  WorkerInit,
  WorkerReply,
  WorkerTask,
} from './protocol.js';
import { spawnModuleWorker } from '../util/spawn-worker.js';
import { markOnOwnThread } from './worker-gc.js';

export interface WorkerPoolOptions {
  spec: ModelSpec;
  trainer: Pick<TrainerOptions, 'loss' | 'optimizer' | 'classWeights'>;
  dataset: Dataset;
  /** Each client's sample indices into `dataset`. */
  indicesOf: (clientId: string) => Uint32Array;
  /** Each client's held-out samples, for federated evaluation (absent: the pool cannot evaluate). */
  testIndicesOf?: (clientId: string) => Uint32Array;
  workers?: number;
  seed?: number;
  /**
   * Tasks handed to each worker ahead of its results (default 2). With two, a worker finishing a
   * client already holds the next one and never waits for the main thread — busy aggregating, or
   * not scheduled at once on a loaded machine — to answer; with one it waits a round trip per
   * client (bench:sim measures both). A worker still runs its clients one at a time, in order.
   */
  tasksPerWorker?: number;
  /** The ONNX Runtime build the clients train on (default: as nodeRuntime() chooses here). */
  backend?: NodeBackend;
  /**
   * A classifier .onnx every client holds as its teacher, for rounds that ask for distillation
   * (FitConfig.distillation). Each worker opens it once; it never leaves the clients' side.
   */
  teacher?: Uint8Array;
  /**
   * Keep V8's concurrent marking (default false: the pool turns it off for the process before
   * starting its workers, which made rounds 1.5x faster on two cores; see worker-gc.ts).
   */
  concurrentMarking?: boolean;
}

interface Slot {
  worker: Worker;
}

export class WorkerPool implements FitExecutor {
  private readonly slots: Slot[] = [];
  private readonly global: Float32Array;
  private readonly globalSab: SharedArrayBuffer;
  private nextTask = 0;
  private ready: Promise<void>;
  /** See WorkerPoolOptions.tasksPerWorker; may be changed between rounds (bench:sim compares 1 and 2). */
  tasksPerWorker: number;
  /** The worker that ran each client's last fit, where its round in progress lives. */
  private readonly homes = new Map<string, Slot>();
  /** Each client's state between its rounds (see the top of this file for what it costs). */
  private readonly states = new Map<string, ClientState>();

  constructor(private readonly o: WorkerPoolOptions) {
    this.tasksPerWorker = o.tasksPerWorker ?? 2;
    checkTasksPerWorker(this.tasksPerWorker);
    const shared = shareDataset(o.dataset);
    const paramCount = countParameters(o);
    this.globalSab = new SharedArrayBuffer(paramCount * 4);
    this.global = new Float32Array(this.globalSab);
    const n = o.workers ?? Math.max(1, availableParallelism());
    if (!o.concurrentMarking) markOnOwnThread();
    const init: WorkerInit = {
      kind: 'init',
      spec: o.spec,
      trainer: o.trainer,
      dataset: shared,
      global: this.globalSab,
      intraOpThreads: 1,
      backend: o.backend ?? nodeBackend(),
      ...(o.teacher ? { teacher: o.teacher } : {}),
    };
    const starts: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const worker = spawnWorker();
      this.slots.push({ worker });
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
    const testIndicesOf = o.testIndicesOf;
    if (testIndicesOf)
      this.evaluate = (_round, global, tasks, onOutcome) =>
        this.evaluateOnClients(testIndicesOf, global, tasks, onOutcome);
  }

  get size(): number {
    return this.slots.length;
  }

  /** Resolves once every worker has its session and dataset (run waits for this itself). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /**
   * The codec state kept for a client (top-k's residual), if any. A view of the pool's own copy,
   * valid until the client's next task (which moves it to a worker): copy it to keep it.
   */
  codecStateOf(clientId: string): CodecState | undefined {
    return this.states.get(clientId)?.codec;
  }

  /** Bytes held in clients' codec states: 4 per parameter per client that has taken part. */
  get codecStateBytes(): number {
    let n = 0;
    for (const s of this.states.values()) n += s.codec?.residual.byteLength ?? 0;
    return n;
  }

  async run(
    round: number,
    global: Float32Array,
    tasks: readonly FitTask[],
    onOutcome: (o: FitOutcome) => void,
  ): Promise<void> {
    checkTasksPerWorker(this.tasksPerWorker);
    await this.publish(global);
    const bytesDown = global.byteLength;
    await this.dispatch(
      [...tasks],
      (task, taskId, slot) => {
        // The state moves to the worker (transferred) and comes back with the reply.
        const id = task.client.id;
        // A multi-stage round's later messages go to the worker that holds the client's round.
        this.homes.set(id, slot);
        const state = this.states.get(id);
        this.states.delete(id);
        const msg: WorkerTask = {
          kind: 'fit',
          taskId,
          round,
          clientId: id,
          indices: this.o.indicesOf(id),
          config: task.config,
          seed: clientSeed(this.o.seed ?? 0, round, id),
          state,
        };
        return { msg, transfer: state?.codec ? [state.codec.residual.buffer as ArrayBuffer] : [] };
      },
      (task, m) => {
        if (m.kind !== 'fitted' && m.kind !== 'error')
          throw new Error(`unexpected '${m.kind}' reply to a fit`);
        // The client keeps the state its pipeline produced even when the server then ignores the
        // upload (late, undecodable): it cannot know. A failed fit hands back the old state.
        if (m.state) this.states.set(task.client.id, m.state);
        onOutcome(
          m.kind === 'error'
            ? { ok: false, clientId: m.clientId, kind: 'failed', reason: m.message }
            : {
                ok: true,
                clientId: m.clientId,
                upload: m.upload,
                numExamples: m.numExamples,
                metrics: m.metrics,
                seconds: m.seconds,
                bytesUp: uploadBytes(m.upload),
                bytesDown,
              },
        );
      },
    );
  }

  /**
   * A later stage of a multi-stage round (secure aggregation): each message goes to the worker
   * that ran its client's fit this round, which holds the client's session.
   */
  async exchange(
    round: number,
    _stage: string,
    messages: readonly StageMessage[],
    onReply: (reply: StageReply) => void,
  ): Promise<void> {
    await this.ready;
    const bySlot = new Map<Slot, StageMessage[]>();
    for (const m of messages) {
      const slot = this.homes.get(m.clientId);
      if (!slot) {
        onReply({ ok: false, clientId: m.clientId, kind: 'failed', reason: 'has no round in progress' });
        continue;
      }
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), m]);
    }
    await Promise.all(
      [...bySlot].map(([slot, group]) =>
        this.dispatch(
          group,
          (m, taskId) => {
            const payload = m.payload.slice(); // the worker may keep it; the server's copy stays
            const msg: WorkerExchangeTask = {
              kind: 'exchange',
              taskId,
              round,
              clientId: m.clientId,
              payload,
            };
            return { msg, transfer: [payload.buffer as ArrayBuffer] };
          },
          (m, reply) => {
            if (reply.kind === 'exchanged')
              onReply({ ok: true, clientId: m.clientId, payload: reply.payload, seconds: reply.seconds });
            else if (reply.kind === 'error')
              onReply({ ok: false, clientId: m.clientId, kind: 'failed', reason: reply.message });
            else throw new Error(`unexpected '${reply.kind}' reply to a stage message`);
          },
          [slot],
        ),
      ),
    );
  }

  /** Waits for the workers, then writes `global` where every worker reads the round's model. */
  private async publish(global: Float32Array): Promise<void> {
    await this.ready;
    if (global.length !== this.global.length)
      throw new Error(`WorkerPool: global has ${global.length} values, the model ${this.global.length}`);
    this.global.set(global);
  }

  /**
   * Federated evaluation: each task's client evaluates `global` on its held-out samples
   * (`testIndicesOf`) in a worker. Present only when the pool was given the clients' test splits.
   */
  readonly evaluate?: FitExecutor['evaluate'];

  private async evaluateOnClients(
    testIndicesOf: (clientId: string) => Uint32Array,
    global: Float32Array,
    tasks: readonly EvaluateTask[],
    onOutcome: (o: EvaluateOutcome) => void,
  ): Promise<void> {
    await this.publish(global);
    await this.dispatch(
      [...tasks],
      (t, taskId) => ({
        msg: {
          kind: 'evaluate',
          taskId,
          clientId: t.client.id,
          indices: testIndicesOf(t.client.id),
        } satisfies WorkerEvaluateTask,
        transfer: [],
      }),
      (_t, m) => {
        if (m.kind === 'evaluated') {
          const { numExamples, loss, accuracy, seconds } = m;
          onOutcome({ ok: true, clientId: m.clientId, numExamples, loss, accuracy, seconds });
        } else if (m.kind === 'error') onOutcome({ ok: false, clientId: m.clientId, reason: m.message });
        else throw new Error(`unexpected '${m.kind}' reply to an evaluation`);
      },
    );
  }

  /**
   * Hands `queue`'s items to the workers, `tasksPerWorker` ahead each, and calls `onReply` with each
   * item's reply as it comes; resolves when every item has its reply. A worker that crashes, or an
   * `onReply` that throws, rejects it.
   */
  private dispatch<T>(
    queue: T[],
    message: (
      item: T,
      taskId: number,
      slot: Slot,
    ) => { msg: WorkerTask | WorkerEvaluateTask | WorkerExchangeTask; transfer: ArrayBuffer[] },
    onReply: (item: T, reply: Extract<WorkerReply, { taskId: number }>) => void,
    slots: readonly Slot[] = this.slots,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let pending = queue.length;
      if (pending === 0) return resolve();
      const detach: (() => void)[] = [];
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        for (const d of detach) d();
        if (error) reject(error);
        else resolve();
      };
      for (const slot of slots) {
        const inFlight = new Map<number, T>();
        const send = () => {
          const item = queue.shift();
          if (item === undefined) return;
          const taskId = this.nextTask++;
          inFlight.set(taskId, item);
          try {
            const { msg, transfer } = message(item, taskId, slot);
            slot.worker.postMessage(msg, transfer);
          } catch (e) {
            // e.g. indicesOf does not know the client: the round fails with that error, not the process.
            settle(e as Error);
          }
        };
        const onMessage = (m: WorkerReply) => {
          if (!('taskId' in m)) return;
          const item = inFlight.get(m.taskId);
          if (item === undefined) return;
          inFlight.delete(m.taskId);
          // Refill first: the worker starts its next client while this thread decodes and aggregates.
          send();
          try {
            onReply(item, m);
          } catch (e) {
            return settle(e as Error);
          }
          if (--pending === 0) settle();
        };
        const onError = (e: Error) => settle(new Error(`simulation worker crashed: ${e.message}`));
        slot.worker.on('message', onMessage);
        slot.worker.once('error', onError);
        detach.push(() => {
          slot.worker.off('message', onMessage);
          slot.worker.off('error', onError);
        });
        for (let i = 0; i < this.tasksPerWorker; i++) send();
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

function checkTasksPerWorker(n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`WorkerPool: tasksPerWorker must be an integer >= 1, got ${n}`);
}

function spawnWorker(): Worker {
  return spawnModuleWorker(import.meta.url, 'worker');
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

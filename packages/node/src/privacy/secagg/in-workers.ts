/**
 * runSecAggInProcess with the clients on worker threads: the same round (same checks, same dropout
 * schedule, same order of events at the server, same report), but the clients' work — above all the
 * mask expansion, 4 × (k + 1) bytes of keystream per parameter per client — runs on N threads while
 * the server stays on the calling thread. Node only (node:worker_threads); not exported from
 * ../index.ts, which must stay browser-safe.
 *
 * Every protocol message crosses the thread boundary as the codec's bytes, transferred rather than
 * copied, so the byte counts are what a network would carry. The server consumes the clients'
 * replies in exactly the order the single-threaded runner produces them (the order of `clientIds`,
 * then of the server's own messages), whatever order the threads finish in: the server's state, the
 * sum, the survivors and the first error raised are then the same as runSecAggInProcessSync's.
 *
 *   const report = await runSecAggInWorkers({ vectors, range: 0.5, neighbours: 11, clientThreads: 2 });
 *
 * or, to reuse the threads across rounds (starting them took ~0.3 s from dist/ and ~1 s under tsx on
 * the loaded 2-core benchmark machine; each thread loads the modules and its crypto suite):
 *
 *   const threads = await SecAggClientThreads.start(2);
 *   try { for (...) await threads.run({ ... }); } finally { await threads.close(); }
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { decodeMessage, encodeMessage } from 'edgefl/internal/privacy/secagg/codec';
import { nodeSecAggCrypto } from './crypto-node.js';
import { SecAggError } from 'edgefl/internal/privacy/secagg/errors';
import {
  assembleInProcessReport,
  prepareInProcessRound,
  receiveAddressee,
  type InProcessOptions,
  type InProcessReport,
  type InProcessStage,
} from 'edgefl/internal/privacy/secagg/in-process';
import type {
  AdvertiseKeysMessage,
  MaskedInputMessage,
  SecAggMessage,
  ShareKeysMessage,
  UnmaskResponseMessage,
} from 'edgefl/internal/privacy/secagg/messages';
import { SecAggServer } from 'edgefl/internal/privacy/secagg/server';
import { RoundTopology } from 'edgefl/internal/privacy/secagg/topology';
import {
  fromWireError,
  threadCpuMs,
  type ClientCryptoChoice,
  type FromWorker,
  type ToWorker,
} from './protocol.js';
import { spawnModuleWorker } from '../../util/spawn-worker.js';

export type { ClientCryptoChoice } from './protocol.js';

export interface ClientThreadsOptions {
  /**
   * Crypto suite of the clients in the threads: 'fastest' (node:crypto) or
   * 'portable' (what browsers run). Suites agree bit for bit, so the result does not depend on it.
   * The server uses the round's `crypto` option. Default 'fastest'.
   */
  readonly clientCrypto?: ClientCryptoChoice;
}

/** The options of runSecAggInProcess, less `encode`: messages always cross threads as bytes. */
export type SecAggRoundOptions = Omit<InProcessOptions, 'encode'>;

export interface InWorkersOptions extends SecAggRoundOptions, ClientThreadsOptions {
  /** Worker threads hosting the clients. Default: availableParallelism(). */
  readonly clientThreads?: number;
}

export interface InWorkersReport extends InProcessReport {
  readonly threads: {
    readonly clientThreads: number;
    /** Clients per thread, dealt round-robin in `clientIds` order. */
    readonly clientsPerThread: readonly number[];
    /**
     * CPU time of the calling (server) thread and of each client thread over the round, in ms
     * (Linux, from /proc; NaN elsewhere). On a loaded machine wall time hides the parallelism; these
     * show the work each thread did.
     */
    readonly mainCpuMs: number;
    readonly workerCpuMs: readonly number[];
    /** Spawning the threads and loading their crypto (runSecAggInWorkers only; not in timing.totalMs). */
    readonly startMs?: number;
  };
}

/**
 * Replies a thread may run ahead of the server by, per stage. Replies are consumed in the single-
 * threaded order, so a thread that finishes early holds its replies until their turn: the window
 * bounds that memory — a masked input is 4 × vectorLength bytes each way — and the small messages of
 * the other stages get a wide one to save round trips.
 */
const MASK_WINDOW = 3;
const SMALL_WINDOW = 64;

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  // Rejections are observed where the promise is awaited; one abandoned by an aborted round is not.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

type TaskReply = Extract<FromWorker, { kind: 'reply' | 'failed' }>;
type ControlReply = Exclude<FromWorker, TaskReply>;

/** One client thread and the replies it owes. */
class Slot {
  readonly waiting = new Map<number, Deferred<TaskReply>>();
  private control?: Deferred<ControlReply>;
  private failure?: Error;
  closing = false;

  constructor(
    readonly worker: Worker,
    readonly index: number,
  ) {
    worker.on('message', (m: FromWorker) => {
      if (m.kind === 'reply' || m.kind === 'failed') {
        // Replies of a round that already failed have no one waiting: dropped.
        this.waiting.get(m.seq)?.resolve(m);
        this.waiting.delete(m.seq);
      } else {
        this.control?.resolve(m);
        this.control = undefined;
      }
    });
    worker.on('error', (e: Error) =>
      this.fail(new Error(`secure-aggregation client thread ${index} crashed: ${e.message}`)),
    );
    worker.on('exit', (code) => {
      if (!this.closing)
        this.fail(new Error(`secure-aggregation client thread ${index} exited (code ${code})`));
    });
  }

  /** Posts a control message and waits for its answer (one at a time). */
  ask(m: ToWorker): Promise<ControlReply> {
    if (this.failure) return Promise.reject(this.failure);
    const d = deferred<ControlReply>();
    this.control = d;
    this.worker.postMessage(m);
    return d.promise;
  }

  expect(seq: number): Deferred<TaskReply> {
    const d = deferred<TaskReply>();
    if (this.failure) d.reject(this.failure);
    else this.waiting.set(seq, d);
    return d;
  }

  post(m: ToWorker, transfer: ArrayBuffer[]): void {
    if (!this.failure) this.worker.postMessage(m, transfer);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.control?.reject(error);
    this.control = undefined;
    for (const d of this.waiting.values()) d.reject(error);
    this.waiting.clear();
  }
}

function spawnClientThread(): Worker {
  return spawnModuleWorker(import.meta.url, 'client-worker');
}

function invalid(message: string): SecAggError {
  return new SecAggError('invalid-params', 'setup', message);
}

function checkThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw invalid(`clientThreads must be an integer >= 1, got ${n}`);
}

function ownedBuffer(a: Uint8Array | Float32Array): ArrayBuffer[] {
  return a.buffer instanceof ArrayBuffer ? [a.buffer] : [];
}

/**
 * N worker threads that host a round's SecAggClients, reusable across rounds (one round at a time).
 * Always `close()` it: live threads keep the process running.
 */
export class SecAggClientThreads {
  private readonly slots: Slot[];
  private nextSeq = 0;
  private busy = false;
  private closed = false;

  private constructor(threads: number) {
    this.slots = [];
    for (let i = 0; i < threads; i++) this.slots.push(new Slot(spawnClientThread(), i));
  }

  /** Spawns the threads and waits until each has loaded its crypto suite. */
  static async start(
    threads = availableParallelism(),
    options: ClientThreadsOptions = {},
  ): Promise<SecAggClientThreads> {
    checkThreads(threads);
    const pool = new SecAggClientThreads(threads);
    try {
      const replies = await Promise.all(
        pool.slots.map((s) => s.ask({ kind: 'start', crypto: options.clientCrypto ?? 'fastest' })),
      );
      for (const r of replies) {
        if (r.kind === 'start-failed')
          throw new Error(`secure-aggregation client thread failed to start: ${r.error.message}`);
      }
      return pool;
    } catch (e) {
      await pool.close();
      throw e;
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Terminates the threads; safe to call more than once and after a failure. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) s.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** One round, as runSecAggInProcess would run it, with the clients on this pool's threads. */
  async run(options: SecAggRoundOptions): Promise<InWorkersReport> {
    if (this.closed) throw new Error('SecAggClientThreads: run() after close()');
    if (this.busy) throw new Error('SecAggClientThreads: one round at a time');
    if ((options as { encode?: unknown }).encode === false)
      throw invalid('encode: false is not possible on client threads: messages cross threads as bytes');
    this.busy = true;
    try {
      return await this.runRound(options);
    } finally {
      this.busy = false;
    }
  }

  private async runRound(options: SecAggRoundOptions): Promise<InWorkersReport> {
    const crypto = options.crypto ?? nodeSecAggCrypto();
    const { clientIds, inputOf, params, dropStage } = prepareInProcessRound(options);
    const slots = this.slots;
    const mainCpu0 = threadCpuMs();
    const started = performance.now();

    // Clients are dealt round-robin in the order the server hears from them, so consecutive
    // replies come from different threads and neither waits long for the other.
    const slotOf = new Map<number, number>();
    const hosted = slots.map((): number[] => []);
    clientIds.forEach((id, i) => {
      slotOf.set(id, i % slots.length);
      hosted[i % slots.length].push(id);
    });
    const roundReplies = await Promise.all(
      slots.map((s, w) => s.ask({ kind: 'round', params, clientIds: hosted[w] })),
    );
    const cpuStart: number[] = [];
    const cpuLast: number[] = [];
    for (const r of roundReplies) {
      if (r.kind === 'round-failed') throw fromWireError(r.error);
      if (r.kind !== 'round-ready')
        throw new Error(`secure-aggregation client thread: unexpected '${r.kind}'`);
      cpuStart.push(r.cpuMs);
      cpuLast.push(r.cpuMs);
    }

    const topology = new RoundTopology(params);
    const server = new SecAggServer(params, crypto, { topology });
    const up = new Map<number, number>();
    const down = new Map<number, number>();
    let clientMs = 0;
    let serverMs = 0;
    const participants = new Set<number>();
    const timed = <T>(work: () => T): T => {
      const t0 = performance.now();
      try {
        return work();
      } finally {
        serverMs += performance.now() - t0;
      }
    };
    const encodeAll = (messages: readonly (SecAggMessage & { readonly to: number })[]) =>
      messages.map((m) => {
        const bytes = encodeMessage(m);
        down.set(m.to, (down.get(m.to) ?? 0) + bytes.length);
        return bytes;
      });
    const progress = options.onProgress ?? (() => {});

    /**
     * One stage: the clients' steps fan out to their threads (at most a window ahead), and the
     * replies go to the server one by one in `steps` order — a client's failure is thrown at its
     * turn, exactly where the single-threaded runner would have thrown it.
     */
    const stage = async (
      name: InProcessStage,
      steps: readonly { readonly clientId: number; readonly wire?: Uint8Array }[],
      total: number,
      receive: (m: SecAggMessage) => void,
    ): Promise<void> => {
      const window = name === 'masked-input' ? MASK_WINDOW : SMALL_WINDOW;
      const tasks = steps.map((s) => {
        const slot = slots[slotOf.get(s.clientId)!];
        const seq = this.nextSeq++;
        return { ...s, slot, seq, reply: slot.expect(seq) };
      });
      const queues = slots.map((): typeof tasks => []);
      for (const t of tasks) queues[t.slot.index].push(t);
      const inFlight = slots.map(() => 0);
      const pump = (w: number) => {
        while (inFlight[w] < window && queues[w].length > 0) {
          const t = queues[w].shift()!;
          inFlight[w]++;
          const transfer = t.wire ? ownedBuffer(t.wire) : [];
          let input: Float32Array | undefined;
          if (name === 'masked-input') {
            // A copy of just this vector, transferred: the caller's arrays stay usable, and a view
            // into a larger buffer does not drag the whole buffer across.
            const own = inputOf(t.clientId);
            input = own instanceof Float32Array ? own.slice() : own;
            if (input instanceof Float32Array) transfer.push(...ownedBuffer(input));
          }
          t.slot.post(
            { kind: 'task', seq: t.seq, stage: name, clientId: t.clientId, wire: t.wire, input },
            transfer,
          );
        }
      };
      try {
        slots.forEach((_, w) => pump(w));
        let done = 0;
        for (const t of tasks) {
          const m = await t.reply.promise;
          inFlight[t.slot.index]--;
          pump(t.slot.index);
          clientMs += m.ms;
          cpuLast[t.slot.index] = Math.max(cpuLast[t.slot.index], m.cpuMs);
          if (m.kind === 'failed') throw fromWireError(m.error);
          up.set(t.clientId, (up.get(t.clientId) ?? 0) + m.bytes.length);
          timed(() => receive(decodeMessage(m.bytes)));
          progress(name, ++done, total);
        }
      } finally {
        for (const t of tasks) t.slot.waiting.delete(t.seq);
      }
    };
    const alive = (id: number, droppingAt: string) => dropStage.get(id) !== droppingAt;
    // The server's outgoing messages for the clients still there at this stage, with their addressee.
    const survivorsOf = (wires: readonly Uint8Array[], droppingAt: string) =>
      wires
        .map((wire) => ({ clientId: receiveAddressee(wire), wire }))
        .filter((s) => alive(s.clientId, droppingAt));

    // Round 0: advertise keys.
    const advertising = clientIds.filter((id) => alive(id, 'beforeAdvertise'));
    for (const id of advertising) participants.add(id);
    await stage(
      'advertise-keys',
      advertising.map((clientId) => ({ clientId })),
      clientIds.length,
      (m) => server.receiveAdvertisedKeys(m as AdvertiseKeysMessage),
    );
    const directories = timed(() => encodeAll(server.closeAdvertising()));

    // Round 1: share keys.
    await stage('share-keys', survivorsOf(directories, 'afterAdvertise'), directories.length, (m) =>
      server.receiveSharedKeys(m as ShareKeysMessage),
    );
    const forwarded = timed(() => encodeAll(server.closeKeySharing()));

    // Round 2: masked inputs, folded into the sum as they are consumed.
    await stage('masked-input', survivorsOf(forwarded, 'afterShareKeys'), forwarded.length, (m) =>
      server.receiveMaskedInput(m as MaskedInputMessage),
    );
    const requests = timed(() => encodeAll(server.closeMaskedInputs()));

    // Round 3: unmasking.
    await stage('unmasking', survivorsOf(requests, 'afterMaskedInput'), requests.length, (m) =>
      server.receiveUnmaskResponse(m as UnmaskResponseMessage),
    );
    const result = timed(() => server.finish());
    const totalMs = performance.now() - started;

    return {
      ...assembleInProcessReport(
        result,
        params,
        { clientMs, serverMs, totalMs },
        participants.size,
        up,
        down,
      ),
      threads: {
        clientThreads: slots.length,
        clientsPerThread: hosted.map((h) => h.length),
        mainCpuMs: threadCpuMs() - mainCpu0,
        workerCpuMs: cpuLast.map((c, w) => c - cpuStart[w]),
      },
    };
  }
}

/**
 * One round with the clients on `clientThreads` worker threads: spawns them, runs the round and
 * closes them on every path. The result equals runSecAggInProcess's for the same options.
 */
export async function runSecAggInWorkers(options: InWorkersOptions): Promise<InWorkersReport> {
  // Bad options are refused before any thread starts (the round prepares them again, identically).
  prepareInProcessRound(options);
  const t0 = performance.now();
  const pool = await SecAggClientThreads.start(options.clientThreads ?? availableParallelism(), options);
  const startMs = performance.now() - t0;
  try {
    const report = await pool.run(options);
    return { ...report, threads: { ...report.threads, startMs } };
  } finally {
    await pool.close();
  }
}

/**
 * A simulation worker: one Trainer (one ONNX Runtime session) reused for every client it is given,
 * over the shared dataset, running the client pipeline (federation/client-pipeline.ts) as a real
 * client would — so with a codec only the encoded bytes travel back. Node adapter (worker_threads).
 */
import { parentPort } from 'node:worker_threads';
import {
  ArrayDataset,
  OnnxTeacher,
  SubsetDataset,
  Trainer,
  evaluateClient,
  fitClient,
  type ClientState,
} from 'edgefl';
import { nodePlatform } from '../node-platform.js';
import { RoundSessions } from 'edgefl/internal/federation/round-sessions';
import type { SecAggCrypto } from 'edgefl/internal/privacy/secagg/crypto-suite';
import { ownBuffer } from 'edgefl/internal/compress/client-codec';
import { uploadPayload, type Upload } from 'edgefl/internal/fl/upload';
import type {
  WorkerEvaluateTask,
  WorkerExchangeTask,
  WorkerInit,
  WorkerReply,
  WorkerTask,
} from './protocol.js';

const port = parentPort;
if (!port) throw new Error('sim/worker.ts must run in a worker thread');
let trainer: Trainer | undefined;
let dataset: ArrayDataset | undefined;
let global: Float32Array | undefined;
let secaggCrypto: SecAggCrypto | undefined;
let teacher: OnnxTeacher | undefined;
/** The rounds in progress of the clients whose fit ran here (secure aggregation's later stages). */
const sessions = new RoundSessions();
const send = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const bufferOf = (a: Float32Array | Uint8Array) => a.buffer as ArrayBuffer;

// The pool sends a task ahead while the previous one runs (tasksPerWorker in pool.ts); the
// one Trainer serves one client at a time, so messages are handled strictly in order.
let queue: Promise<void> = Promise.resolve();
type Incoming = WorkerInit | WorkerTask | WorkerEvaluateTask | WorkerExchangeTask;
port.on('message', (m: Incoming) => {
  queue = queue.then(() => handle(m));
});

async function handle(m: Incoming): Promise<void> {
  if (m.kind === 'init') {
    try {
      const d = m.dataset;
      dataset = new ArrayDataset({
        features: d.featureType === 'int32' ? new Int32Array(d.features) : new Float32Array(d.features),
        labels: d.labelType === 'int32' ? new Int32Array(d.labels) : new Float32Array(d.labels),
        featureShape: d.featureShape,
        labelShape: d.labelShape,
        classes: d.classes,
        normalization: d.normalization,
      });
      global = new Float32Array(m.global);
      const platform = nodePlatform({ runtime: { intraOpNumThreads: m.intraOpThreads, backend: m.backend } });
      secaggCrypto = platform.secaggCrypto;
      trainer = await Trainer.create(m.spec, { ...m.trainer, runtime: platform.runtime });
      if (m.teacher) teacher = await OnnxTeacher.create(m.teacher, { runtime: platform.runtime });
      send({ kind: 'ready' });
    } catch (e) {
      send({ kind: 'init-error', message: (e as Error).message });
    }
    return;
  }
  if (m.kind === 'evaluate') return evaluate(m);
  if (m.kind === 'exchange') return exchange(m);
  const started = performance.now(); // not on arrival: time queued behind another client is not this one's
  try {
    if (!trainer || !dataset || !global) throw new Error('worker used before init');
    const r = await fitClient(
      { trainer, secaggCrypto, teacher },
      {
        clientId: m.clientId,
        data: new SubsetDataset(dataset, m.indices),
        global,
        config: m.config,
        seed: m.seed,
        state: m.state,
      },
    );
    sessions.begin(m.clientId, m.round, r.session);
    const upload = transferable(r.upload);
    send(
      {
        kind: 'fitted',
        taskId: m.taskId,
        clientId: m.clientId,
        upload,
        state: r.state,
        numExamples: r.numExamples,
        metrics: r.metrics,
        // Includes the update transforms (clipping, encoding): they are the client's work too.
        seconds: (performance.now() - started) / 1000,
      },
      [bufferOf(uploadPayload(upload)), ...stateBuffers(r.state)],
    );
  } catch (e) {
    // The state goes back untouched (the pipeline does not modify it), so the client keeps it.
    send(
      {
        kind: 'error',
        taskId: m.taskId,
        clientId: m.clientId,
        message: (e as Error).message,
        state: m.state,
      },
      stateBuffers(m.state),
    );
  }
}

/** The upload with its payload in a buffer of its own, so it can be transferred whole. */
function transferable(u: Upload): Upload {
  if (u.kind === 'delta') return u;
  return u.kind === 'secure' ? { ...u, message: ownBuffer(u.message) } : { ...u, bytes: ownBuffer(u.bytes) };
}

/** A server message for a client whose round is in progress here: the client's answer. */
function exchange(m: WorkerExchangeTask): void {
  const started = performance.now();
  try {
    const payload = ownBuffer(sessions.answer(m.clientId, m.round, m.payload));
    send(
      {
        kind: 'exchanged',
        taskId: m.taskId,
        clientId: m.clientId,
        payload,
        seconds: (performance.now() - started) / 1000,
      },
      [bufferOf(payload)],
    );
  } catch (e) {
    send({ kind: 'error', taskId: m.taskId, clientId: m.clientId, message: (e as Error).message });
  }
}

function stateBuffers(state: ClientState | undefined): ArrayBuffer[] {
  return state?.codec ? [bufferOf(state.codec.residual)] : [];
}

async function evaluate(m: WorkerEvaluateTask): Promise<void> {
  const started = performance.now();
  try {
    if (!trainer || !dataset || !global) throw new Error('worker used before init');
    const r = await evaluateClient(trainer, new SubsetDataset(dataset, m.indices), global);
    send({
      kind: 'evaluated',
      taskId: m.taskId,
      clientId: m.clientId,
      ...r,
      seconds: (performance.now() - started) / 1000,
    });
  } catch (e) {
    send({ kind: 'error', taskId: m.taskId, clientId: m.clientId, message: (e as Error).message });
  }
}

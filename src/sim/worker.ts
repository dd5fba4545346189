/**
 * A simulation worker: one Trainer (one ONNX Runtime session) reused for every client it is given,
 * over the shared dataset. With a codec, the client's delta is encoded here, as a real client would
 * before uploading, and only the encoded bytes travel back. Node adapter (worker_threads).
 */
import { parentPort } from 'node:worker_threads';
import { ArrayDataset, SubsetDataset } from '../data/dataset.js';
import { Trainer } from '../runtime/trainer.js';
import { nodeRuntime } from '../runtime/node.js';
import { evaluateClient, fitClient } from '../fl/trainer-client.js';
import { codecByName } from '../compress/by-name.js';
import type { CodecState, UpdateCodec } from '../compress/codec.js';
import { encodeClientUpdate, ownBuffer } from './client-codec.js';
import type { UpdatePayload, WorkerEvaluateTask, WorkerInit, WorkerReply, WorkerTask } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('sim/worker.ts must run in a worker thread');
let trainer: Trainer | undefined;
let dataset: ArrayDataset | undefined;
let global: Float32Array | undefined;
let codec: UpdateCodec | undefined;
const send = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const bufferOf = (a: Float32Array | Uint8Array) => a.buffer as ArrayBuffer;

// The pool sends a task ahead while the previous one runs (tasksPerWorker in pool.ts); the
// one Trainer serves one client at a time, so messages are handled strictly in order.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: WorkerInit | WorkerTask | WorkerEvaluateTask) => {
  queue = queue.then(() => handle(m));
});

async function handle(m: WorkerInit | WorkerTask | WorkerEvaluateTask): Promise<void> {
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
      codec = m.codec === undefined ? undefined : codecByName(m.codec);
      trainer = await Trainer.create(m.spec, {
        ...m.trainer,
        runtime: nodeRuntime({ intraOpNumThreads: m.intraOpThreads }),
      });
      send({ kind: 'ready' });
    } catch (e) {
      send({ kind: 'init-error', message: (e as Error).message });
    }
    return;
  }
  if (m.kind === 'evaluate') return evaluate(m);
  const started = performance.now(); // not on arrival: time queued behind another client is not this one's
  try {
    if (!trainer || !dataset || !global) throw new Error('worker used before init');
    const data = new SubsetDataset(dataset, m.indices);
    const u = await fitClient(trainer, m.clientId, data, global, m.config, m.seed);
    let payload: UpdatePayload = { delta: u.delta };
    let codecState: CodecState | undefined;
    const transfer = [bufferOf(u.delta)];
    if (codec) {
      const e = encodeClientUpdate(codec, u.delta, m.seed, m.codecState);
      const bytes = ownBuffer(e.bytes);
      payload = { encoded: bytes };
      codecState = e.state;
      transfer[0] = bufferOf(bytes);
      if (codecState) transfer.push(bufferOf(codecState.residual));
    }
    send(
      {
        kind: 'fitted',
        taskId: m.taskId,
        clientId: m.clientId,
        payload,
        codecState,
        numExamples: u.numExamples,
        metrics: u.metrics ?? {},
        ...(u.auxiliary ? { auxiliary: u.auxiliary } : {}),
        // Includes the encoding: it is the client's work too.
        seconds: (performance.now() - started) / 1000,
      },
      transfer,
    );
  } catch (e) {
    // The state goes back untouched (encode does not modify it), so the client keeps its residual.
    const codecState = m.codecState;
    send(
      { kind: 'error', taskId: m.taskId, clientId: m.clientId, message: (e as Error).message, codecState },
      codecState ? [bufferOf(codecState.residual)] : [],
    );
  }
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

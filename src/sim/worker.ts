/**
 * A simulation worker: one Trainer (one ONNX Runtime session) reused for every client it is given,
 * over the shared dataset. Node adapter (worker_threads).
 */
import { parentPort } from 'node:worker_threads';
import { ArrayDataset, SubsetDataset } from '../data/dataset.js';
import { Trainer } from '../runtime/trainer.js';
import { nodeRuntime } from '../runtime/node.js';
import { fitClient } from '../fl/trainer-client.js';
import type { WorkerInit, WorkerReply, WorkerTask } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('sim/worker.ts must run in a worker thread');
let trainer: Trainer | undefined;
let dataset: ArrayDataset | undefined;
let global: Float32Array | undefined;
const send = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

port.on('message', async (m: WorkerInit | WorkerTask) => {
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
  const started = performance.now();
  try {
    if (!trainer || !dataset || !global) throw new Error('worker used before init');
    const data = new SubsetDataset(dataset, m.indices);
    const u = await fitClient(trainer, m.clientId, data, global, m.config, m.seed);
    send(
      {
        kind: 'fitted',
        taskId: m.taskId,
        clientId: m.clientId,
        delta: u.delta,
        numExamples: u.numExamples,
        metrics: u.metrics ?? {},
        seconds: (performance.now() - started) / 1000,
      },
      [u.delta.buffer as ArrayBuffer],
    );
  } catch (e) {
    send({ kind: 'error', taskId: m.taskId, clientId: m.clientId, message: (e as Error).message });
  }
});

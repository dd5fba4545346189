/**
 * A worker thread hosting some of a round's SecAggClients for runSecAggInWorkers. It receives the
 * server's messages as encoded bytes, runs the client step and sends the client's encoded reply back
 * (transferred, not copied). Node only (worker_threads).
 */
import { parentPort } from 'node:worker_threads';
import { SecAggClient } from 'edgefl/internal/privacy/secagg/client';
import { decodeMessage, encodeMessage } from 'edgefl/internal/privacy/secagg/codec';
import { portableSecAggCrypto, type SecAggCrypto } from 'edgefl/internal/privacy/secagg/crypto-suite';
import { nodeSecAggCrypto } from './crypto-node.js';
import { SecAggError } from 'edgefl/internal/privacy/secagg/errors';
import type {
  ForwardedSharesMessage,
  KeyDirectoryMessage,
  SecAggMessage,
  UnmaskRequestMessage,
} from 'edgefl/internal/privacy/secagg/messages';
import { RoundTopology } from 'edgefl/internal/privacy/secagg/topology';
import { threadCpuMs, toWireError, type FromWorker, type TaskMessage, type ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('secagg/node/client-worker must run in a worker thread');

let crypto: SecAggCrypto | undefined;
let clients = new Map<number, SecAggClient>();

const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

// Loading the Node crypto suite is the only await; messages are handled strictly in order after it.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m));
});

async function handle(m: ToWorker): Promise<void> {
  switch (m.kind) {
    case 'start':
      try {
        crypto = m.crypto === 'portable' ? portableSecAggCrypto() : nodeSecAggCrypto();
        send({ kind: 'ready', cpuMs: threadCpuMs() });
      } catch (e) {
        send({ kind: 'start-failed', error: toWireError(e) });
      }
      return;
    case 'round':
      try {
        if (!crypto) throw new Error('client worker: round before start');
        const suite = crypto;
        // One topology for all clients of this worker, as the single-threaded runner shares one.
        const topology = new RoundTopology(m.params);
        clients = new Map(
          m.clientIds.map((id) => [id, new SecAggClient(id, topology.params, suite, { topology })]),
        );
        send({ kind: 'round-ready', cpuMs: threadCpuMs() });
      } catch (e) {
        send({ kind: 'round-failed', error: toWireError(e), cpuMs: threadCpuMs() });
      }
      return;
    case 'task':
      runTask(m);
      return;
  }
}

function runTask(m: TaskMessage): void {
  const started = performance.now();
  try {
    const client = clients.get(m.clientId);
    if (!client) throw new SecAggError('invalid-params', 'setup', `client ${m.clientId} is not hosted here`);
    const bytes = encodeMessage(step(client, m));
    const ms = performance.now() - started;
    // A masked input's bytes are its own buffer (allocateMaskedVector); smaller messages own theirs too.
    const transfer = bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
    send({ kind: 'reply', seq: m.seq, bytes, ms, cpuMs: threadCpuMs() }, transfer);
  } catch (e) {
    send({
      kind: 'failed',
      seq: m.seq,
      error: toWireError(e),
      ms: performance.now() - started,
      cpuMs: threadCpuMs(),
    });
  }
}

function step(client: SecAggClient, m: TaskMessage): SecAggMessage {
  const received = <M extends SecAggMessage>(): M => {
    if (!m.wire) throw new SecAggError('bad-message', 'setup', `no server message for client ${m.clientId}`);
    return decodeMessage(m.wire) as M;
  };
  switch (m.stage) {
    case 'advertise-keys':
      return client.advertiseKeys();
    case 'share-keys':
      return client.shareKeys(received<KeyDirectoryMessage>());
    case 'masked-input':
      if (!m.input)
        throw new SecAggError('invalid-input', 'masked-input', `no input for client ${m.clientId}`);
      return client.maskInput(received<ForwardedSharesMessage>(), m.input);
    case 'unmasking':
      return client.unmask(received<UnmaskRequestMessage>());
  }
}

/**
 * The round engine's executor for clients on other machines: each fit, stage and evaluation is a
 * message pushed to the client's authenticated connection, with a task id the client must echo and
 * sign; what comes back is checked (right client, round, task, kind, size, signature) before it
 * becomes an outcome. A client that disconnects, errs or misses the deadline becomes a 'dropped',
 * 'failed' or 'late' outcome — the engine and the strategy's minimums decide what that means for
 * the round. Nothing a client sends reaches the engine unchecked, and nothing it sends can throw
 * out of here.
 */
import {
  clientSeed,
  type EvaluateOutcome,
  type EvaluateTask,
  type FitExecutor,
  type FitOutcome,
  type FitTask,
  type StageMessage,
  type StageReply,
  type Upload,
} from 'edgefl';
import {
  ProtocolError,
  advertisedKeys,
  attachKeyAttestations,
  chunkFrames,
  float32Bytes,
  float32View,
  fromBase64Url,
  keySigningBytes,
  randomHex,
  updateSigningBytes,
  type ClientMessage,
  type Message,
} from '@edgefl/net';
import { decodeMessage } from 'edgefl/internal/privacy/secagg/codec';
import type { Connection } from './connection.js';
import { nodeSha256 } from '@edgefl/node';

/** Where the executor finds a client's current connection, and checks its signatures. */
export interface ClientDirectory {
  connectionOf(clientId: string): Connection | undefined;
  /** Whether `signature` over `message` verifies with the client's enrolled, unrevoked key. */
  verify(clientId: string, message: Uint8Array, signature: Uint8Array): boolean;
  /** The client's enrolled identity key (what its neighbours check its signed keys against). */
  identityKeyOf(clientId: string): Uint8Array | undefined;
}

export interface NetworkExecutorOptions {
  directory: ClientDirectory;
  /** The federation's name (bound into the signatures of secure-aggregation keys). */
  federation: string;
  /** Values in the model (an update of another length is refused). */
  parameters: number;
  /** The run's root seed (each client's fit seed derives from it, as in a simulation). */
  seed: number;
  /** A task not answered within this many seconds is 'late' (default: no deadline). */
  deadlineSeconds?: number;
  /** Told about every reply refused (for the log and the metrics). */
  onRefused?: (clientId: string, reason: string) => void;
}

type Kind = 'fit' | 'stage' | 'evaluate';

interface Pending {
  clientId: string;
  round: number;
  kind: Kind;
  stage?: string;
  sentAt: number;
  bytesDown: number;
  settle: (reply: Settled) => void;
  timer?: ReturnType<typeof setTimeout>;
}

type Settled =
  | { ok: true; message: ClientMessage; payload: Uint8Array; seconds: number }
  | { ok: false; kind: 'failed' | 'dropped' | 'late'; reason: string };

export class NetworkExecutor implements FitExecutor {
  private readonly pending = new Map<string, Pending>();
  /** Each client's fit task in the round in progress: the later stages answer under the same id. */
  private roundTasks = new Map<string, string>();
  private currentRound = 0;
  /** Secure aggregation in the round in progress: who takes part, and each one's signed keys. */
  private participants: readonly string[] = [];
  private keySignatures = new Map<string, Uint8Array>();

  constructor(private readonly o: NetworkExecutorOptions) {}

  async run(
    round: number,
    global: Float32Array,
    tasks: readonly FitTask[],
    onOutcome: (o: FitOutcome) => void,
  ): Promise<void> {
    this.currentRound = round;
    this.roundTasks = new Map();
    this.keySignatures = new Map();
    this.participants = tasks[0]?.config.secureAggregation?.participants ?? [];
    const payload = sharedPayload(float32Bytes(global));
    await Promise.all(
      tasks.map(async ({ client, config }) => {
        const task = randomHex(16);
        this.roundTasks.set(client.id, task);
        const r = await this.ask(client.id, round, task, 'fit', undefined, {
          header: { type: 'fit', round, task, config, seed: clientSeed(this.o.seed, round, client.id) },
          payload,
        });
        onOutcome(this.fitOutcome(client.id, r, payload.bytes.length));
      }),
    );
  }

  async exchange(
    round: number,
    stage: string,
    messages: readonly StageMessage[],
    onReply: (reply: StageReply) => void,
  ): Promise<void> {
    await Promise.all(
      messages.map(async ({ clientId, payload }) => {
        const task = round === this.currentRound ? this.roundTasks.get(clientId) : undefined;
        if (!task)
          return onReply({ ok: false, clientId, kind: 'failed', reason: 'has no fit in this round' });
        let sent = payload;
        let header: { type: string } & Record<string, unknown> = { type: 'stage', round, task, stage };
        if (stage === 'share-keys') {
          // The neighbours' keys go out with their owners' signatures: the client checks them
          // before it seals a share for anyone (secagg-keys.ts in @edgefl/net).
          sent = attachKeyAttestations(payload, this.attestationsFor(payload));
          header = { ...header, directoryBytes: payload.length };
        }
        const r = await this.ask(clientId, round, task, 'stage', stage, {
          header,
          payload: sharedPayload(sent),
        });
        onReply(
          r.ok
            ? { ok: true, clientId, payload: r.payload, seconds: r.seconds }
            : { ok: false, clientId, kind: r.kind === 'late' ? 'dropped' : r.kind, reason: r.reason },
        );
      }),
    );
  }

  async evaluate(
    round: number,
    global: Float32Array,
    tasks: readonly EvaluateTask[],
    onOutcome: (o: EvaluateOutcome) => void,
  ): Promise<void> {
    const payload = sharedPayload(float32Bytes(global));
    await Promise.all(
      tasks.map(async ({ client }) => {
        const task = randomHex(16);
        const r = await this.ask(client.id, round, task, 'evaluate', undefined, {
          header: { type: 'evaluate', round, task },
          payload,
        });
        if (!r.ok) return onOutcome({ ok: false, clientId: client.id, reason: r.reason });
        const m = r.message as Message<ClientMessage, 'evaluate-result'>;
        onOutcome({
          ok: true,
          clientId: client.id,
          numExamples: m.numExamples,
          loss: m.loss,
          ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}),
          seconds: m.seconds,
        });
      }),
    );
  }

  /**
   * A reply from `conn` (fit-result, stage-result, evaluate-result, task-error). Throws a
   * ProtocolError for a reply that answers nothing this client was asked (the connection refuses it).
   */
  receive(conn: Connection, message: ClientMessage, payload: Uint8Array): void {
    if (!('task' in message))
      throw new ProtocolError('unexpected', `'${message.type}' is not a reply to a task`);
    const p = this.pending.get(message.task);
    if (!p || p.clientId !== conn.clientId)
      throw new ProtocolError(
        'unexpected',
        `task ${message.task} is not a task of this client in progress (late, replayed or someone else's)`,
      );
    if (message.round !== p.round)
      throw new ProtocolError(
        'unexpected',
        `task ${message.task} belongs to round ${p.round}, the reply says round ${message.round}`,
      );
    if (message.type === 'task-error')
      return this.settle(message.task, {
        ok: false,
        kind: 'failed',
        reason: `client error: ${message.message}`,
      });
    const expected =
      p.kind === 'fit' ? 'fit-result' : p.kind === 'stage' ? 'stage-result' : 'evaluate-result';
    if (message.type !== expected)
      throw new ProtocolError(
        'unexpected',
        `task ${message.task} asked for '${expected}', got '${message.type}'`,
      );
    if (message.type === 'stage-result' && message.stage !== p.stage)
      throw new ProtocolError(
        'unexpected',
        `task ${message.task} is at stage '${p.stage}', the reply says '${message.stage}'`,
      );
    if (message.type === 'fit-result' || message.type === 'stage-result') {
      try {
        this.checkSignatures(p, message, payload);
      } catch (e) {
        // A reply that does not verify is this client's answer to the task (only its own
        // authenticated connection can send it): the task fails now rather than holding the round
        // until its deadline, and the connection refuses the message.
        this.settle(message.task, { ok: false, kind: 'failed', reason: (e as Error).message });
        throw e;
      }
    }
    this.settle(message.task, { ok: true, message, payload, seconds: (performance.now() - p.sentAt) / 1000 });
  }

  /** The reply's signature, and under secure aggregation its keys' signature; throws a ProtocolError. */
  private checkSignatures(
    p: Pending,
    message: Message<ClientMessage, 'fit-result' | 'stage-result'>,
    payload: Uint8Array,
  ): void {
    const signed = updateSigningBytes(
      p.clientId,
      p.round,
      message.task,
      p.kind === 'fit' ? 'fit' : p.stage!,
      payload,
      nodeSha256,
    );
    if (!this.o.directory.verify(p.clientId, signed, fromBase64Url(message.signature)))
      throw new ProtocolError(
        'unauthorized',
        `the signature of task ${message.task}'s reply does not verify with the client's key`,
      );
    if (message.type === 'fit-result' && message.upload.kind === 'secure')
      this.checkKeySignature(p, message.keySignature, payload);
  }

  /**
   * A secure upload's advertised keys must come signed by the client's identity key: the server
   * refuses them otherwise (its neighbours would refuse the round's directory anyway), and keeps the
   * signature to pass on.
   */
  private checkKeySignature(p: Pending, signature: string | undefined, payload: Uint8Array): void {
    if (!signature)
      throw new ProtocolError(
        'unauthorized',
        'a secure-aggregation upload needs keySignature: neighbours refuse unsigned keys',
      );
    const keys = advertisedKeys(payload);
    const signed = keySigningBytes(this.o.federation, p.clientId, p.round, keys.encryptionKey, keys.maskKey);
    if (!this.o.directory.verify(p.clientId, signed, fromBase64Url(signature)))
      throw new ProtocolError(
        'unauthorized',
        `the keySignature over the advertised secure-aggregation keys does not verify with the client's key`,
      );
    this.keySignatures.set(p.clientId, fromBase64Url(signature));
  }

  /** The signatures of the keys a key directory lists, for the clients who check them. */
  private attestationsFor(directory: Uint8Array) {
    const m = decodeMessage(directory);
    if (m.type !== 'key-directory') throw new Error(`the share-keys stage carries '${m.type}'`);
    return m.peers.flatMap(({ id }) => {
      const clientId = this.participants[id];
      const signature = clientId === undefined ? undefined : this.keySignatures.get(clientId);
      const identityKey = clientId === undefined ? undefined : this.o.directory.identityKeyOf(clientId);
      // A neighbour without both cannot be vouched for: the client will refuse the directory.
      return signature && identityKey ? [{ id, identityKey, signature }] : [];
    });
  }

  /** A client's connection closed: its tasks in progress are dropped. */
  disconnected(clientId: string, reason: string): void {
    for (const [task, p] of this.pending)
      if (p.clientId === clientId)
        this.settle(task, { ok: false, kind: 'dropped', reason: `disconnected: ${reason}` });
  }

  /** Tasks waiting for a reply (for the metrics). */
  get inFlight(): number {
    return this.pending.size;
  }

  private ask(
    clientId: string,
    round: number,
    task: string,
    kind: Kind,
    stage: string | undefined,
    send: { header: { type: string } & Record<string, unknown>; payload: SharedPayload },
  ): Promise<Settled> {
    const conn = this.o.directory.connectionOf(clientId);
    if (!conn?.open) return Promise.resolve({ ok: false, kind: 'dropped', reason: 'not connected' });
    return new Promise<Settled>((resolve) => {
      const p: Pending = {
        clientId,
        round,
        kind,
        stage,
        sentAt: performance.now(),
        bytesDown: send.payload.bytes.length,
        settle: resolve,
      };
      // A stage reuses the fit's task id: the fit's entry is settled by then.
      this.pending.set(task, p);
      if (this.o.deadlineSeconds !== undefined)
        p.timer = setTimeout(
          () =>
            this.settle(task, {
              ok: false,
              kind: 'late',
              reason: `no reply within the deadline of ${this.o.deadlineSeconds} s`,
            }),
          this.o.deadlineSeconds * 1000,
        );
      conn
        .sendShared(send.header, send.payload.bytes.length, send.payload.framed(conn.maxFrameBytes))
        .catch((e: Error) =>
          this.settle(task, {
            ok: false,
            kind: 'dropped',
            reason: `disconnected: could not send (${e.message})`,
          }),
        );
    });
  }

  private settle(task: string, r: Settled): void {
    const p = this.pending.get(task);
    if (!p) return;
    this.pending.delete(task);
    if (p.timer) clearTimeout(p.timer);
    if (!r.ok) this.o.onRefused?.(p.clientId, r.reason);
    p.settle(r);
  }

  private fitOutcome(clientId: string, r: Settled, bytesDown: number): FitOutcome {
    if (!r.ok) return { ok: false, clientId, kind: r.kind, reason: r.reason };
    const m = r.message as Message<ClientMessage, 'fit-result'>;
    let upload: Upload;
    try {
      upload = uploadOf(m, r.payload, this.o.parameters);
    } catch (e) {
      return { ok: false, clientId, kind: 'failed', reason: (e as Error).message };
    }
    return {
      ok: true,
      clientId,
      upload,
      numExamples: m.numExamples,
      metrics: m.metrics,
      seconds: m.seconds,
      bytesUp: r.payload.length,
      bytesDown,
    };
  }
}

/** The upload a fit-result carries, its payload checked against what its header says it is. */
function uploadOf(m: Message<ClientMessage, 'fit-result'>, payload: Uint8Array, parameters: number): Upload {
  const u = m.upload;
  if (u.kind === 'secure') return { kind: 'secure', message: payload.slice() };
  if (u.kind === 'encoded')
    return {
      kind: 'encoded',
      bytes: payload.slice(),
      codec: u.codec,
      ...(u.auxiliary ? { auxiliary: u.auxiliary } : {}),
    };
  // A view, not a copy: the payload is this reply's own (reassembled, or a received frame's bytes).
  const delta = float32View(payload, 'update');
  if (delta.length !== parameters)
    throw new Error(`sent an update of ${delta.length} values; the model has ${parameters}`);
  return { kind: 'delta', delta, ...(u.auxiliary ? { auxiliary: u.auxiliary } : {}) };
}

/** A payload sent to many connections, framed once per frame size (not once per client). */
interface SharedPayload {
  bytes: Uint8Array;
  framed(maxFrameBytes: number): Uint8Array[];
}

function sharedPayload(bytes: Uint8Array): SharedPayload {
  const cache = new Map<number, Uint8Array[]>();
  return {
    bytes,
    framed: (max) => {
      let frames = cache.get(max);
      if (!frames) cache.set(max, (frames = chunkFrames(bytes, max)));
      return frames;
    },
  };
}

/**
 * A federation client: connects to a server, proves its identity, and then does what the server
 * pushes — fit from the global model it sends, answer secure aggregation's later stages, evaluate —
 * with the same client pipeline the simulation runs (federation/client-pipeline.ts), until the
 * server says the run is done. A lost connection is retried with exponential backoff and jitter;
 * a refused identity or enrollment is not.
 *
 * Browser-safe: the WebSocket class is injected (a browser's own; `ws` in Node 20), and so are
 * ONNX Runtime and the secure-aggregation cryptography.
 */
import {
  Trainer,
  evaluateClient,
  fitClient,
  type ClientRoundSession,
  type ClientState,
  type Dataset,
  type FitConfig,
  type ModelSpec,
  type OrtRuntime,
  type Teacher,
  type TrainerOptions,
  type Upload,
} from 'edgefl';
import type { SecAggCrypto } from 'edgefl/internal/privacy/secagg/crypto-suite';
import { uploadPayload } from 'edgefl/internal/fl/upload';
import { Assembler, ProtocolError, decodeFrame, float32Bytes, float32Values, frameMessage } from './frame.js';
import { advertisedKeys, checkKeyDirectory, keySigningBytes } from './secagg-keys.js';
import {
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  parseServerMessage,
  type Message,
  type ServerMessage,
} from './messages.js';
import {
  authChallengeBytes,
  fromBase64Url,
  isIdentityKey,
  toBase64Url,
  updateSigningBytes,
  type DeviceIdentity,
  type Sha256,
} from './identity.js';

/** The part of the WebSocket API the client uses (the browser's; `ws` in Node has the same). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export interface ClientOptions {
  /** ws://host:port or wss://host:port (the server's WebSocket path is /federation). */
  url: string;
  clientId: string;
  identity: DeviceIdentity;
  /** The operator's enrollment token, needed on this identity's first connection. */
  token?: string;
  /** The client's training data, and optionally its held-out data for federated evaluation. */
  data: Dataset;
  test?: Dataset;
  runtime: OrtRuntime;
  /** Needed when the federation runs secure aggregation. */
  secaggCrypto?: SecAggCrypto;
  /** The teacher this device holds, for federations whose local objective is distillation. */
  teacher?: Teacher;
  /** SHA-256 for signing uploads (default: the portable one; in Node pass node:crypto's, ~10x faster). */
  sha256?: Sha256;
  /** Opens a WebSocket (default: the global WebSocket class). */
  webSocket?: WebSocketFactory;
  /**
   * Frames larger than this are chunked (default: 1 MiB until the server's welcome, then the
   * largest frame the server says it accepts, so an update usually goes as one frame).
   */
  maxFrameBytes?: number;
  /** The largest message accepted from the server (default 512 MiB). */
  maxMessageBytes?: number;
  /** Reconnection: first delay, cap, and attempts in a row before giving up (default: forever). */
  retry?: { initialMs?: number; maxMs?: number; attempts?: number };
  /**
   * Under secure aggregation, the identity keys of the devices this client may share secrets with
   * (client id -> base64url Ed25519 key), given by the operator out of band. With it, a neighbour
   * the server names must be one of these devices and have signed its keys with this key; without
   * it, the identity keys the server enrolled are trusted (docs/privacy.md says what that leaves).
   */
  trustedPeers?: Readonly<Record<string, string>>;
  /** What happens, for logs and progress. */
  onEvent?: (event: ClientEvent) => void;
  signal?: AbortSignal;
}

export type ClientEvent =
  | { kind: 'connecting'; url: string; attempt: number }
  /** A task arrived and is about to be worked on ('fit', 'evaluate', or a later stage's name). */
  | { kind: 'task'; round: number; stage: string }
  | { kind: 'connected'; federation: string }
  | { kind: 'fit'; round: number; seconds: number; numExamples: number; loss?: number }
  | { kind: 'stage'; round: number; stage: string }
  | { kind: 'evaluate'; round: number; loss: number; accuracy?: number }
  | { kind: 'task-error'; round: number; message: string }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'disconnected'; reason: string; retryInMs?: number }
  | { kind: 'done'; reason: string };

export interface ClientResult {
  /** Why the client stopped: the server's 'done' reason, a refusal, or the signal. */
  reason: string;
  /** Whether the server ended the run (as opposed to a refusal or giving up). */
  completed: boolean;
  fits: number;
  /**
   * The federation's final model, when the server ended the run and sent it: the model description
   * from the welcome and the final global parameters (exportInferenceModel makes the .onnx).
   */
  model?: { spec: ModelSpec; parameters: Float32Array };
}

export interface FederationClient {
  readonly done: Promise<ClientResult>;
  close(): void;
}

/** Refusals after which reconnecting cannot help. */
const FINAL_CODES = new Set(['unauthorized', 'revoked', 'unsupported-version']);

export function connectClient(o: ClientOptions): FederationClient {
  const open: WebSocketFactory =
    o.webSocket ??
    ((url, protocols) => {
      const WS = (globalThis as { WebSocket?: new (u: string, p: string[]) => WebSocketLike }).WebSocket;
      if (!WS)
        throw new Error('connectClient: this platform has no global WebSocket; pass options.webSocket');
      return new WS(url, protocols);
    });
  // Before the welcome (hello, auth: small messages) frames stay within 1 MiB, which every server
  // accepts; after it, within what this server announced.
  const handshakeFrame = Math.min(o.maxFrameBytes ?? Infinity, 1 << 20);
  const initialMs = o.retry?.initialMs ?? 500;
  const maxMs = o.retry?.maxMs ?? 30_000;
  const attempts = o.retry?.attempts ?? Infinity;
  const emit = (e: ClientEvent) => o.onEvent?.(e);
  const pinned = o.trustedPeers ? trustedPeerKeys(o.trustedPeers) : undefined;
  let federation = '';
  /** Each secure round's participants (protocol id -> client id), by task. */
  const participantsOf = new Map<string, readonly string[]>();

  let trainer: Trainer | undefined;
  let trainerKey = '';
  let modelSpec: ModelSpec | undefined;
  let parameters = 0;
  let state: ClientState = {};
  const sessions = new Map<string, ClientRoundSession>();
  let fits = 0;
  let stopped = false;
  let socket: WebSocketLike | undefined;
  let finish!: (r: ClientResult) => void;
  const done = new Promise<ClientResult>((resolve) => (finish = resolve));
  const stop = (r: ClientResult) => {
    if (stopped) return;
    stopped = true;
    socket?.close(1000, r.reason.slice(0, 100));
    void trainer?.dispose();
    finish(r);
  };
  o.signal?.addEventListener('abort', () => stop({ reason: 'stopped', completed: false, fits }), {
    once: true,
  });

  const connect = (attempt: number) => {
    if (stopped) return;
    emit({ kind: 'connecting', url: o.url, attempt });
    let ws: WebSocketLike;
    try {
      ws = open(o.url, [SUBPROTOCOL]);
    } catch (e) {
      return retry(attempt, `cannot open ${o.url}: ${(e as Error).message}`);
    }
    socket = ws;
    ws.binaryType = 'arraybuffer';
    const assembler = new Assembler(o.maxMessageBytes ?? 512 * 2 ** 20);
    let welcomed = false;
    let maxFrame = handshakeFrame;
    let queue = Promise.resolve();
    let closedReason: string | undefined;
    const send = (
      header: { type: string } & Record<string, unknown>,
      payload: Uint8Array = new Uint8Array(0),
    ) => {
      for (const f of frameMessage(header, payload, maxFrame)) ws.send(f);
    };
    ws.onopen = () => {
      send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        clientId: o.clientId,
        publicKey: toBase64Url(o.identity.publicKey),
        ...(o.token ? { token: o.token } : {}),
        numExamples: o.data.length,
      });
    };
    ws.onmessage = (ev) => {
      let received;
      try {
        const bytes = toBytes(ev.data);
        const whole = assembler.push(decodeFrame(bytes));
        if (!whole) return;
        received = parseServerMessage(whole);
      } catch (e) {
        closedReason = `the server sent what this client cannot read: ${(e as Error).message}`;
        ws.close(1002, 'protocol error');
        return;
      }
      const { message, payload } = received;
      // One message at a time, in order: a stage must not overtake the fit it follows.
      queue = queue
        .then(() => handle(message, payload))
        .catch((e: unknown) => {
          closedReason = `client error: ${(e as Error).message}`;
          ws.close(1011, 'client error');
        });
    };
    ws.onerror = (ev) => {
      // The close event follows; keep the error's own words (a TLS certificate refused, a refused
      // connection), which the close code alone (1006) does not say.
      const error =
        (ev as { error?: { message?: string }; message?: string }).error?.message ??
        (ev as { message?: string }).message;
      if (error && !closedReason) closedReason = error;
    };
    ws.onclose = (ev) => {
      socket = undefined;
      if (stopped) return;
      const reason = closedReason ?? `connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`;
      // A connection that got as far as the welcome starts the backoff afresh.
      retry(welcomed ? 0 : attempt, reason);
    };

    const handle = async (m: ServerMessage, payload: Uint8Array): Promise<void> => {
      switch (m.type) {
        case 'challenge': {
          if (m.protocol !== PROTOCOL_VERSION)
            return stop({
              reason: `the server speaks protocol ${m.protocol}, this client ${PROTOCOL_VERSION}`,
              completed: false,
              fits,
            });
          const signature = o.identity.sign(authChallengeBytes(fromBase64Url(m.nonce), o.clientId));
          return send({ type: 'auth', signature: toBase64Url(signature) });
        }
        case 'welcome':
          await prepareTrainer(m);
          maxFrame = Math.min(o.maxFrameBytes ?? Infinity, m.limits.maxFrameBytes);
          federation = m.federation;
          welcomed = true;
          emit({ kind: 'connected', federation: m.federation });
          return;
        case 'fit':
          emit({ kind: 'task', round: m.round, stage: 'fit' });
          return fit(m, payload);
        case 'stage':
          emit({ kind: 'task', round: m.round, stage: m.stage });
          return stage(m, payload);
        case 'evaluate':
          emit({ kind: 'task', round: m.round, stage: 'evaluate' });
          return evaluate(m, payload);
        case 'error':
          emit({ kind: 'refused', code: m.code, message: m.message });
          if (m.fatal && FINAL_CODES.has(m.code))
            stop({ reason: `refused by the server (${m.code}): ${m.message}`, completed: false, fits });
          else if (m.fatal) closedReason = `the server closed the connection (${m.code}): ${m.message}`;
          return;
        case 'done': {
          emit({ kind: 'done', reason: m.reason });
          // The final parameters, when the server sent them (a payload of the model's size).
          const final =
            modelSpec && payload.length === parameters * 4 && parameters > 0
              ? { spec: modelSpec, parameters: float32Values(payload, 'final parameters') }
              : undefined;
          return stop({ reason: m.reason, completed: true, fits, ...(final ? { model: final } : {}) });
        }
      }
    };

    const prepareTrainer = async (m: Message<ServerMessage, 'welcome'>) => {
      const key = JSON.stringify([m.model, m.trainer]);
      if (trainer && key === trainerKey) return;
      await trainer?.dispose();
      trainer = await Trainer.create(m.model as unknown as ModelSpec, {
        ...(m.trainer as unknown as Pick<TrainerOptions, 'loss' | 'optimizer' | 'classWeights'>),
        runtime: o.runtime,
      });
      trainerKey = key;
      modelSpec = m.model as unknown as ModelSpec;
      parameters = m.parameters;
      if (trainer.getParameters().values.length !== parameters)
        throw new Error(
          `the server's model has ${parameters} parameters, the model built from its description ${trainer.getParameters().values.length}`,
        );
    };

    const taskFailed = (round: number, task: string, e: unknown) => {
      const message = (e as Error).message ?? String(e);
      emit({ kind: 'task-error', round, message });
      send({ type: 'task-error', round, task, message: message.slice(0, 2000) });
    };

    const fit = async (m: Message<ServerMessage, 'fit'>, payload: Uint8Array) => {
      if (!trainer) throw new ProtocolError('unexpected', 'a fit arrived before the welcome');
      // A new fit means the previous round is over for this client, finished or aborted: its
      // secure-aggregation state (secrets among it) goes.
      sessions.clear();
      participantsOf.clear();
      const started = performance.now();
      let result;
      try {
        const global = float32Values(payload, 'global parameters');
        if (global.length !== parameters)
          throw new Error(`the global model has ${global.length} values, the federation's ${parameters}`);
        result = await fitClient(
          { trainer, secaggCrypto: o.secaggCrypto, teacher: o.teacher },
          {
            clientId: o.clientId,
            data: o.data,
            global,
            config: m.config as unknown as FitConfig,
            seed: m.seed,
            state,
          },
        );
      } catch (e) {
        return taskFailed(m.round, m.task, e);
      }
      state = result.state;
      if (result.session) sessions.set(m.task, result.session);
      const bytes = uploadBytesOf(result.upload);
      let keySignature: string | undefined;
      if (result.upload.kind === 'secure') {
        // The advertised keys, signed for the neighbours to check (secagg-keys.ts).
        const keys = advertisedKeys(bytes);
        keySignature = toBase64Url(
          o.identity.sign(keySigningBytes(federation, o.clientId, m.round, keys.encryptionKey, keys.maskKey)),
        );
        participantsOf.set(m.task, (m.config as unknown as FitConfig).secureAggregation?.participants ?? []);
      }
      const seconds = (performance.now() - started) / 1000;
      send(
        {
          type: 'fit-result',
          round: m.round,
          task: m.task,
          upload: uploadHeaderOf(result.upload),
          numExamples: result.numExamples,
          metrics: finiteOnly(result.metrics),
          seconds,
          signature: toBase64Url(
            o.identity.sign(updateSigningBytes(o.clientId, m.round, m.task, 'fit', bytes, o.sha256)),
          ),
          ...(keySignature ? { keySignature } : {}),
        },
        bytes,
      );
      fits++;
      emit({
        kind: 'fit',
        round: m.round,
        seconds,
        numExamples: result.numExamples,
        loss: result.metrics.loss,
      });
    };

    const stage = async (m: Message<ServerMessage, 'stage'>, payload: Uint8Array) => {
      const session = sessions.get(m.task);
      if (!session) return taskFailed(m.round, m.task, new Error(`no round in progress for task ${m.task}`));
      const started = performance.now();
      let reply: Uint8Array;
      try {
        const message =
          m.stage === 'share-keys'
            ? checkKeyDirectory({
                payload,
                directoryBytes: m.directoryBytes,
                federation,
                round: m.round,
                participants: participantsOf.get(m.task) ?? [],
                ...(pinned ? { pinned } : {}),
              })
            : payload;
        reply = session.receive(message);
      } catch (e) {
        sessions.delete(m.task);
        participantsOf.delete(m.task);
        return taskFailed(m.round, m.task, e);
      }
      if (session.done) {
        sessions.delete(m.task);
        participantsOf.delete(m.task);
      }
      send(
        {
          type: 'stage-result',
          round: m.round,
          task: m.task,
          stage: m.stage,
          seconds: (performance.now() - started) / 1000,
          signature: toBase64Url(
            o.identity.sign(updateSigningBytes(o.clientId, m.round, m.task, m.stage, reply, o.sha256)),
          ),
        },
        reply,
      );
      emit({ kind: 'stage', round: m.round, stage: m.stage });
    };

    const evaluate = async (m: Message<ServerMessage, 'evaluate'>, payload: Uint8Array) => {
      if (!trainer) throw new ProtocolError('unexpected', 'an evaluation arrived before the welcome');
      const started = performance.now();
      try {
        if (!o.test) throw new Error('this client holds no test data');
        const r = await evaluateClient(trainer, o.test, float32Values(payload, 'global parameters'));
        send({
          type: 'evaluate-result',
          round: m.round,
          task: m.task,
          numExamples: r.numExamples,
          loss: r.loss,
          ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}),
          seconds: (performance.now() - started) / 1000,
        });
        emit({ kind: 'evaluate', round: m.round, loss: r.loss, accuracy: r.accuracy });
      } catch (e) {
        taskFailed(m.round, m.task, e);
      }
    };
  };

  const retry = (attempt: number, reason: string) => {
    if (stopped) return;
    if (attempt + 1 >= attempts) {
      emit({ kind: 'disconnected', reason });
      return stop({ reason: `gave up after ${attempt + 1} attempts: ${reason}`, completed: false, fits });
    }
    // Equal jitter (half fixed, half random): clients dropped at once by a server restart do not
    // return in one wave, and none retries at once.
    const ceiling = Math.min(maxMs, initialMs * 2 ** attempt);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    emit({ kind: 'disconnected', reason, retryInMs: delay });
    setTimeout(() => connect(attempt + 1), delay);
  };

  connect(0);
  return {
    done,
    close: () => stop({ reason: 'closed', completed: false, fits }),
  };
}

/** The pinned identity keys, each checked now: a bad one is the caller's mistake, not a neighbour's. */
function trustedPeerKeys(peers: Readonly<Record<string, string>>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [id, key] of Object.entries(peers)) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = fromBase64Url(key);
    } catch {
      bytes = undefined;
    }
    if (!bytes || !isIdentityKey(bytes))
      throw new Error(`connectClient: trustedPeers['${id}'] is not a base64url Ed25519 public key`);
    out.set(id, bytes);
  }
  return out;
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new ProtocolError('bad-frame', 'a text message arrived; the protocol sends binary frames only');
}

function uploadBytesOf(u: Upload): Uint8Array {
  const p = uploadPayload(u);
  return p instanceof Float32Array ? float32Bytes(p) : p;
}

function uploadHeaderOf(u: Upload): Record<string, unknown> {
  if (u.kind === 'secure') return { kind: 'secure' };
  const aux = u.auxiliary ? { auxiliary: [...u.auxiliary] } : {};
  return u.kind === 'delta' ? { kind: 'delta', ...aux } : { kind: 'encoded', codec: u.codec, ...aux };
}

function finiteOnly(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(m)
      .filter(([, v]) => Number.isFinite(v))
      .slice(0, 32),
  );
}

/**
 * A federation server: the shared federated run (fl/run.ts) over clients on other machines. This
 * file assembles the parts — the HTTP(S) listener and its WebSocket endpoint, the handshake that
 * enrolls and authenticates devices, the network executor, the strategy stack from the settings,
 * the state on disk, the operator's endpoints — the round loop, resume and stopping rules are the
 * run's, the client's half of a round is the client pipeline's, both the same as in a simulation.
 *
 *   /federation   WebSocket, subprotocol edgefl.1 (docs/protocol.md)
 *   /health       JSON: status, round, clients connected
 *   /metrics      Prometheus text format
 *   /model.onnx   the current global model as an inference model
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  RoundEngine,
  Trainer,
  exportInferenceModel,
  initialParameters,
  runFederated,
  serverSide,
  sgd,
  type ClientInfo,
  type Dataset,
  type FederatedRunResult,
  type ModelSpec,
  type Platform,
  type RoundRecord,
  type RoundSubscriber,
} from 'edgefl';
import {
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  authChallengeBytes,
  chunkFrames,
  float32Bytes,
  fromBase64Url,
  isIdentityKey,
  modelRequestBytes,
  randomNonce,
  toBase64Url,
  MAX_HEADER_BYTES,
  ProtocolError,
} from '@edgefl/net';
import {
  checkpointFile,
  engineSettingsOf,
  centralEvaluation,
  metricsFiles,
  nodePlatform,
  strategyStack,
  writeFileAtomic,
} from '@edgefl/node';
import { Connection, type ConnectionLimits } from './connection.js';
import { verifyEd25519 } from './verify.js';
import { checkStateFolder } from './state-folder.js';
import { applyRevocationRequests } from './revocation-requests.js';
import { ClientRegistry, type RegistryState } from './registry.js';
import { NetworkExecutor } from './network-executor.js';
import { ServerMetrics } from './metrics.js';
import { checkServerResumable, type ServerSettings } from './settings.js';

export interface ServerOptions {
  settings: ServerSettings;
  /** The model the clients train (built from settings.model by the caller). */
  spec: ModelSpec;
  /** Where the server keeps its state: checkpoint, client registry, metrics. */
  stateDir: string;
  /** Continue the run in stateDir from its last completed round. */
  resume?: boolean;
  /** Enrollment tokens: a device presenting one on its first connection is enrolled. */
  tokens: readonly string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** TLS certificate and key (PEM). Without them the server listens in plaintext, on loopback only. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Central evaluation of each new global model (a test set the server holds). */
  test?: Dataset;
  platform?: Platform;
  logger?: Logger;
  /** Human-readable progress lines (the command prints them). */
  progress?: (line: string) => void;
  subscribers?: readonly RoundSubscriber[];
  limits?: Partial<ServerLimits>;
  signal?: AbortSignal;
}

export interface ServerLimits extends ConnectionLimits {
  /** Open connections from one address (default 64). */
  connectionsPerAddress: number;
  /** Connections that have not finished the handshake (default 1024). */
  pendingHandshakes: number;
  /** A handshake not finished within this many seconds is cut (default 10). */
  handshakeSeconds: number;
}

export interface FederationServer {
  /** ws(s)://host:port/federation */
  readonly url: string;
  readonly port: number;
  /** Runs the federation to its last round (or a stop); resolves with the run's result. */
  run(): Promise<FederatedRunResult>;
  /** The clients connected now. */
  connected(): string[];
  revoke(clientId: string): Promise<boolean>;
  readonly metrics: ServerMetrics;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Why the server may not listen on `host` without TLS, or undefined when it may (loopback). */
export function plaintextRefusal(host: string): string | undefined {
  return LOOPBACK.has(host)
    ? undefined
    : `refusing to listen in plaintext on ${host}: give a TLS certificate and key (edgefl certs makes a trial one), or listen on 127.0.0.1`;
}
/** How far a private-model request's time may be from the server's clock. */
export const MODEL_REQUEST_SKEW_SECONDS = 300;

/** A task's deadline when the settings give none (deadlineSeconds). */
export const DEFAULT_DEADLINE_SECONDS = 600;

export async function createServer(o: ServerOptions): Promise<FederationServer> {
  const settings = o.settings;
  const host = o.host ?? '127.0.0.1';
  const refusal = o.tls ? undefined : plaintextRefusal(host);
  if (refusal) throw new Error(refusal);
  if (o.tokens.length === 0) throw new Error('createServer: give at least one enrollment token');
  checkStateFolder(o.stateDir, !!o.resume);
  const log = o.logger;
  const progress = o.progress ?? (() => {});
  const platform = o.platform ?? nodePlatform();
  const initial = initialParameters(o.spec);
  const parameters = initial.values.length;
  const limits: ServerLimits = {
    maxFrameBytes: 1 << 20,
    // An update of float32 values, with room for a codec's header or secure aggregation's message.
    maxMessageBytes: parameters * 4 + (1 << 20),
    highWaterBytes: 8 << 20,
    maxRefusals: 20,
    connectionsPerAddress: 64,
    pendingHandshakes: 1024,
    handshakeSeconds: 10,
    ...o.limits,
  };
  // The largest frame a client may send: a whole message (header and the largest payload) or a
  // chunk of one, announced in the welcome so an update travels unchunked, without reassembly.
  const acceptedFrameBytes = 4 + MAX_HEADER_BYTES + Math.max(limits.maxMessageBytes, limits.maxFrameBytes);
  const metrics = new ServerMetrics();

  const registryPath = join(o.stateDir, 'registry.json');
  const registryState: RegistryState = existsSync(registryPath)
    ? (JSON.parse(await readFile(registryPath, 'utf8')) as RegistryState)
    : { clients: [] };
  const registry = new ClientRegistry(registryState, o.tokens, (s) =>
    writeFileAtomic(registryPath, JSON.stringify(s, null, 2)),
  );
  metrics.clientsEnrolled.set(registry.size);
  // Revocations queued while the server was down apply before any device can connect.
  const revocationProblem = (message: string) => log?.warn({ stateDir: o.stateDir }, message);
  for (const id of await applyRevocationRequests(o.stateDir, (id) => registry.revoke(id), revocationProblem))
    log?.info({ clientId: id }, 'revoked (queued request)');

  /** Authenticated connections by client id (a reconnecting client replaces its old one). */
  const sessions = new Map<string, Connection>();
  /** The examples each connected client said it trains on (its ClientInfo for the rounds). */
  const examples = new Map<string, number>();
  const perAddress = new Map<string, number>();
  let handshaking = 0;
  let current: Float32Array = initial.values;
  let lastRound = 0;
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const executor = new NetworkExecutor({
    directory: {
      connectionOf: (id) => sessions.get(id),
      verify: (id, message, signature) => {
        const c = registry.get(id);
        return !!c && !c.revokedAt && verifyEd25519(c.publicKey, message, signature);
      },
      identityKeyOf: (id) => {
        const c = registry.get(id);
        return c && !c.revokedAt ? fromBase64Url(c.publicKey) : undefined;
      },
    },
    federation: settings.federation,
    parameters,
    seed: settings.seed,
    // Without a deadline one silent client would hold its round for ever.
    deadlineSeconds: settings.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS,
    onRefused: (clientId, reason) => log?.info({ clientId, reason }, 'task not completed'),
  });

  const refused = (conn: Connection, e: ProtocolError) => {
    metrics.refused.inc({ code: e.code });
    log?.warn({ clientId: conn.clientId, address: conn.address, code: e.code, reason: e.message }, 'refused');
  };

  /**
   * Why a request for the private model is refused (undefined: it may have it): it must carry
   * `Authorization: edgefl-device <client id> <unix seconds> <signature>`, signed by an enrolled,
   * unrevoked device within MODEL_REQUEST_SKEW_SECONDS of the server's clock.
   */
  const modelRefusal = (header: string | undefined): { status: number; message: string } | undefined => {
    const unauthorized = (message: string) => ({
      status: 401,
      message: `the model is private: ${message}`,
    });
    const parts = header?.split(' ') ?? [];
    if (parts.length !== 4 || parts[0] !== 'edgefl-device')
      return unauthorized(
        "send 'Authorization: edgefl-device <client id> <unix seconds> <signature>' signed by an enrolled device (@edgefl/net modelAuthorization)",
      );
    const [, clientId, time, signature] = parts;
    const t = Number(time);
    if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > MODEL_REQUEST_SKEW_SECONDS)
      return unauthorized(
        `the request's time ${time.slice(0, 20)} is more than ${MODEL_REQUEST_SKEW_SECONDS} s from the server's`,
      );
    const c = registry.get(clientId);
    if (!c) return unauthorized(`'${clientId.slice(0, 64)}' is not an enrolled device`);
    if (c.revokedAt) return { status: 403, message: `the model is private: '${clientId}' was revoked` };
    let sig: Uint8Array;
    try {
      sig = fromBase64Url(signature);
    } catch {
      return unauthorized('the signature is not base64url');
    }
    if (!verifyEd25519(c.publicKey, modelRequestBytes(clientId, t), sig))
      return unauthorized(`the signature does not verify with the key '${clientId}' enrolled`);
    return undefined;
  };

  // ---- HTTP endpoints ---------------------------------------------------------------------------
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return reply(res, 405, 'text/plain', 'GET only\n');
    if (path === '/health')
      return reply(
        res,
        200,
        'application/json',
        JSON.stringify({ status: 'ok', round: lastRound, clients: sessions.size, enrolled: registry.size }) +
          '\n',
      );
    if (path === '/metrics') {
      metrics.clientsConnected.set(sessions.size);
      metrics.tasksInFlight.set(executor.inFlight);
      void metrics.registry.metrics().then((text) => reply(res, 200, metrics.registry.contentType, text));
      return;
    }
    if (path === '/model.onnx') {
      if (settings.privateModel) {
        const refusal = modelRefusal(req.headers.authorization);
        if (refusal) {
          metrics.refused.inc({ code: 'unauthorized' });
          log?.warn({ address: req.socket.remoteAddress, reason: refusal.message }, 'model download refused');
          return reply(res, refusal.status, 'text/plain', `${refusal.message}\n`);
        }
      }
      return reply(
        res,
        200,
        'application/octet-stream',
        exportInferenceModel(o.spec, initial.withValues(current)),
      );
    }
    reply(res, 404, 'text/plain', 'not found: /federation (WebSocket), /health, /metrics, /model.onnx\n');
  };
  const http = o.tls
    ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }, handler)
    : createHttpServer(handler);
  const wss = new WebSocketServer({
    server: http,
    path: '/federation',
    // A client may send any message as one frame (its header and its payload); anything larger is
    // cut by ws before it is read.
    maxPayload: acceptedFrameBytes,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    verifyClient: (info, cb) => {
      const address = info.req.socket.remoteAddress ?? '?';
      if ((perAddress.get(address) ?? 0) >= limits.connectionsPerAddress) {
        metrics.refused.inc({ code: 'busy' });
        return cb(false, 429, 'too many connections from this address');
      }
      if (handshaking >= limits.pendingHandshakes) {
        metrics.refused.inc({ code: 'busy' });
        return cb(false, 503, 'too many connections being set up');
      }
      cb(true);
    },
  });
  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const address = req.socket.remoteAddress ?? '?';
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    handshaking++;
    let authenticated = false;
    const conn = new Connection(socket, address, limits, refused);
    if (socket.protocol !== SUBPROTOCOL) {
      conn.reject(
        'unsupported-version',
        `this server speaks ${SUBPROTOCOL}; connect with that WebSocket subprotocol`,
      );
    }
    const timer = setTimeout(() => {
      if (!authenticated)
        conn.reject('busy', `the handshake did not finish within ${limits.handshakeSeconds} s`);
    }, limits.handshakeSeconds * 1000);
    let nonce: Uint8Array | undefined;
    let pendingId: string | undefined;
    let pendingExamples = 0;
    let pendingKey = '';
    let pendingEnrollment = false;
    conn.setHandler(async (m) => {
      if (m.type === 'hello') {
        if (nonce) throw new ProtocolError('unexpected', 'a second hello');
        if (m.protocol !== PROTOCOL_VERSION)
          return conn.reject(
            'unsupported-version',
            `this server speaks protocol ${PROTOCOL_VERSION}, the client ${m.protocol}`,
          );
        if (!isIdentityKey(fromBase64Url(m.publicKey)))
          return conn.reject('unauthorized', 'the public key is not a valid Ed25519 key of prime order');
        const admission = registry.check(m.clientId, m.publicKey, m.token);
        if (!admission.ok) return conn.reject(admission.code, admission.message);
        pendingKey = m.publicKey;
        pendingEnrollment = admission.enrolled;
        pendingId = m.clientId;
        pendingExamples = m.numExamples;
        nonce = randomNonce();
        return conn.send({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: toBase64Url(nonce) });
      }
      if (m.type === 'auth') {
        if (!nonce || !pendingId) return conn.reject('unexpected', 'auth before hello');
        if (!verifyEd25519(pendingKey, authChallengeBytes(nonce, pendingId), fromBase64Url(m.signature)))
          return conn.reject(
            'unauthorized',
            'the challenge signature does not verify with the presented key',
          );
        // Enrolled only now, with the key proved; or, if already enrolled, still active.
        const admission = pendingEnrollment
          ? await registry.enroll(pendingId, pendingKey)
          : registry.check(pendingId, pendingKey, undefined);
        if (!admission.ok) return conn.reject(admission.code, admission.message);
        if (pendingEnrollment) {
          metrics.clientsEnrolled.set(registry.size);
          log?.info({ clientId: pendingId, address }, 'enrolled');
        }
        authenticated = true;
        clearTimeout(timer);
        handshaking--;
        conn.clientId = pendingId;
        const previous = sessions.get(pendingId);
        // Tasks sent on the connection this one replaces will never be answered on it.
        if (previous && previous !== conn) executor.disconnected(pendingId, 'replaced by a new connection');
        sessions.set(pendingId, conn);
        examples.set(pendingId, pendingExamples);
        if (previous && previous !== conn) previous.close(1000, 'replaced by a new connection');
        metrics.clientsConnected.set(sessions.size);
        log?.info({ clientId: pendingId, address }, 'connected');
        conn.setHandler((msg, payload) => {
          if (!registry.isActive(conn.clientId!)) {
            conn.reject('revoked', `client '${conn.clientId}' was revoked`);
            return;
          }
          if (msg.type === 'hello' || msg.type === 'auth')
            throw new ProtocolError('unexpected', `'${msg.type}' after the handshake`);
          metrics.bytes.inc({ direction: 'up' }, payload.length);
          executor.receive(conn, msg, payload);
        });
        await conn.send({
          type: 'welcome',
          clientId: pendingId,
          federation: settings.federation,
          model: o.spec as unknown as Record<string, unknown>,
          trainer: {
            loss: 'softmaxCrossEntropy',
            optimizer: sgd({ lr: settings.lr }) as unknown as Record<string, unknown>,
          },
          parameters,
          limits: { maxFrameBytes: acceptedFrameBytes, maxMessageBytes: limits.maxMessageBytes },
        });
        wake();
        return;
      }
      throw new ProtocolError('unexpected', `'${m.type}' before the handshake finished`);
    });
    void conn.closed.then(({ code, reason }) => {
      clearTimeout(timer);
      if (!authenticated) handshaking--;
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n > 0) perAddress.set(address, n);
      else perAddress.delete(address);
      if (conn.clientId && sessions.get(conn.clientId) === conn) {
        sessions.delete(conn.clientId);
        executor.disconnected(conn.clientId, `connection closed (${code}${reason ? `: ${reason}` : ''})`);
        metrics.clientsConnected.set(sessions.size);
        log?.info({ clientId: conn.clientId, code, reason }, 'disconnected');
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (http.address() as { port: number }).port;
  const url = `${o.tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}/federation`;

  const connectedClients = (): ClientInfo[] =>
    [...sessions.keys()]
      .filter((id) => registry.isActive(id))
      .sort()
      .map((id) => ({ id, numExamples: examples.get(id) }));

  const run = async (): Promise<FederatedRunResult> => {
    const { strategy } = strategyStack(
      settings,
      Math.max(registry.size, settings.minAvailableClients ?? 1),
      platform,
      { seededNoise: false },
    );
    const evaluator = o.test
      ? await Trainer.create(o.spec, {
          loss: 'softmaxCrossEntropy',
          optimizer: sgd({ lr: settings.lr }),
          runtime: platform.runtime,
        })
      : undefined;
    const minClients = settings.minAvailableClients ?? 1;
    const engine = new RoundEngine({
      strategy,
      clients: () => registry.active(),
      availableAt: () => connectedClients(),
      executor: serverSide(executor, { codec: settings.codec, parameters, seed: settings.seed }),
      ...engineSettingsOf(settings, { seededClientNoise: false }),
      sumBackend: platform.sumBackend,
      evaluate: evaluator && o.test ? centralEvaluation(settings, evaluator, o.test) : undefined,
    });
    const checkpoints = checkpointFile(o.stateDir);
    try {
      const result = await runFederated({
        engine,
        initial: initial.values,
        rounds: settings.rounds,
        targetAccuracy: settings.targetAccuracy,
        checkpoints: {
          load: () => checkpoints.load(),
          // The served model (/model.onnx) is the last one saved: a completed round's.
          save: async (c) => {
            await checkpoints.save(c);
            current = c.global;
          },
        },
        settings: settings as unknown as Record<string, unknown>,
        checkResume: (stored) => checkServerResumable(stored, settings),
        resume: o.resume,
        signal: o.signal,
        beforeRound: async (round) => {
          let said = false;
          while (connectedClients().length < minClients && !o.signal?.aborted) {
            if (!said)
              progress(
                `round ${round}: waiting for clients (${connectedClients().length} of ${minClients} connected)`,
              );
            said = true;
            await new Promise<void>((resolve) => {
              // One listener per wait, removed when a client's arrival ends the wait: a server
              // that waits thousands of times must not collect them.
              const onAbort = () => resolve();
              o.signal?.addEventListener('abort', onAbort, { once: true });
              waiters.push(() => {
                o.signal?.removeEventListener('abort', onAbort);
                resolve();
              });
            });
          }
        },
        subscribers: [
          {
            start: (_history, info) => {
              if (info.resumed) {
                progress(`resuming from round ${info.firstRound - 1}`);
                lastRound = info.firstRound - 1;
              }
            },
            round: (record: RoundRecord) => {
              lastRound = record.round;
              metrics.round.set(record.round);
              metrics.rounds.inc({ updated: String(record.updated) });
              metrics.roundSeconds.observe(record.seconds);
              metrics.bytes.inc({ direction: 'down' }, record.bytesDown);
              metrics.clientOutcomes.inc({ outcome: 'aggregated' }, record.aggregated);
              for (const p of record.problems) metrics.clientOutcomes.inc({ outcome: p.kind });
              if (record.epsilon !== undefined) metrics.epsilon.set(record.epsilon);
              log?.info(
                {
                  round: record.round,
                  accuracy: record.accuracy,
                  loss: record.loss,
                  aggregated: record.aggregated,
                  selected: record.selected,
                  problems: record.problems.length,
                  seconds: record.seconds,
                  epsilon: record.epsilon,
                },
                'round',
              );
            },
          },
          metricsFiles(o.stateDir),
          ...(o.subscribers ?? []),
        ],
      });
      current = result.global;
      await writeFileAtomic(
        join(o.stateDir, 'model.onnx'),
        exportInferenceModel(o.spec, initial.withValues(result.global)),
      );
      const reason = result.stopped ?? `the run finished after round ${result.history.length}`;
      // The final model goes with the goodbye: every device that trained it may keep it (framed once,
      // shared by every connection).
      const final = float32Bytes(result.global);
      const framed = chunkFrames(final, limits.maxFrameBytes);
      await Promise.all(
        [...sessions.values()].map((c) =>
          c.sendShared({ type: 'done', reason }, final.length, framed).catch(() => {}),
        ),
      );
      return result;
    } finally {
      await evaluator?.dispose();
    }
  };

  async function revoke(clientId: string): Promise<boolean> {
    const ok = await registry.revoke(clientId);
    sessions.get(clientId)?.reject('revoked', `client '${clientId}' was revoked`);
    if (ok) log?.info({ clientId }, 'revoked');
    return ok;
  }
  // `edgefl revoke` leaves requests in the state folder; they take effect within a second.
  let polling = false;
  const revocationPoll = setInterval(() => {
    if (polling) return;
    polling = true;
    applyRevocationRequests(o.stateDir, revoke, revocationProblem)
      .catch((e: Error) => revocationProblem(`reading revocation requests failed: ${e.message}`))
      .finally(() => (polling = false));
  }, 1000);
  revocationPoll.unref();

  return {
    url,
    port,
    run,
    connected: () => [...sessions.keys()],
    revoke,
    metrics,
    close: async () => {
      clearInterval(revocationPoll);
      for (const c of sessions.values()) c.close(1001, 'server shutting down');
      for (const s of wss.clients) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections?.();
    },
  };
}

function reply(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/**
 * Secure aggregation's signed keys over the network (packages/net/src/secagg-keys.ts).
 *
 * 1. A malicious server against a real client: a fake federation server, written here, speaks the
 *    protocol to an in-process `connectClient` and hands it a key directory in which a neighbour's
 *    keys are not what that neighbour signed. The client must refuse (task-error, no share-keys
 *    reply) unless the directory is one it has to trust: signed by the identity key the server
 *    enrolled, when the operator pinned none.
 * 2. The real server against a dishonest client: a hand-driven peer whose secure upload comes
 *    without a valid keySignature is refused as 'unauthorized', and the round goes on with the
 *    honest clients beside it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import {
  ArrayDataset,
  builtInModel,
  sgd,
  type RoundRecord,
  type SecureAggregationInstructions,
} from 'edgefl';
import { decodeMessage, encodeMessage } from 'edgefl/internal/privacy/secagg/codec';
import { paramsOf } from 'edgefl/internal/privacy/secagg/client-session';
import { nodePlatform } from '@edgefl/node';
import {
  Assembler,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  KEY_ATTESTATION_BYTES,
  authChallengeBytes,
  connectClient,
  decodeFrame,
  float32Bytes,
  frameMessage,
  fromBase64Url,
  generateIdentity,
  keySigningBytes,
  parseClientMessage,
  randomHex,
  randomNonce,
  toBase64Url,
  updateSigningBytes,
  verifySignature,
  type ClientEvent,
  type FederationClient,
  type KeyAttestation,
  type WebSocketLike,
} from '@edgefl/net';
import { createServer, serverSettingsOf, type FederationServer } from '@edgefl/server';
import { joinAs, type RawPeer } from '../helpers/raw-client.js';

const PARAMETERS = 4 * 3 + 3; // logreg on 4 features, 3 classes
const spec = builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 });
const platform = nodePlatform();
const x25519 = () => platform.secaggCrypto.keyAgreement.generateKeyPair().publicKey;

function data(n: number, shift = 0) {
  return new ArrayDataset({
    features: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 0.37 + shift)),
    labels: Int32Array.from({ length: n }, (_, i) => (i + shift) % 3),
    featureShape: [4],
    labelShape: [],
    classes: ['a', 'b', 'c'],
  });
}

/** Rejects after `ms` so that a regression fails the test instead of hanging it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

// ---- 1. a malicious server -------------------------------------------------------------------

type Received = { header: Record<string, unknown>; payload: Uint8Array };

/** A federation server that does only what a test tells it to, to one client connection. */
interface FakeServer {
  url: string;
  /** Every message the client sent, checked against the protocol's schemas. */
  received: Received[];
  send(header: { type: string } & Record<string, unknown>, payload?: Uint8Array): void;
  /** The first message (received or future) of this type, or of one of these types. */
  next(type: string | string[], ms?: number): Promise<Received>;
  close(): Promise<void>;
}

async function fakeServer(): Promise<FakeServer> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: '/federation',
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  let socket: WebSocket | undefined;
  const outbox: Uint8Array[] = [];
  wss.on('connection', (ws) => {
    socket = ws;
    for (const f of outbox.splice(0)) ws.send(f);
    const assembler = new Assembler(1 << 24);
    ws.on('message', (bytes: Buffer) => {
      const whole = assembler.push(decodeFrame(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)));
      if (!whole) return;
      // Throws (failing the test through the waiter's timeout) on a message off the schema.
      const { message, payload } = parseClientMessage(whole);
      received.push({ header: message as Record<string, unknown>, payload: payload.slice() });
      for (const w of waiters) w();
    });
  });
  return {
    url: `ws://127.0.0.1:${port}/federation`,
    received,
    send(header, payload = new Uint8Array(0)) {
      for (const f of frameMessage(header, payload, 1 << 20)) {
        if (socket) socket.send(f);
        else outbox.push(f);
      }
    },
    next(type, ms = 30_000) {
      const types = Array.isArray(type) ? type : [type];
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < received.length; seen++)
            if (types.includes(received[seen].header.type as string)) {
              waiters.delete(check);
              clearTimeout(timer);
              return resolve(received[seen]);
            }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no ${types.join('/')} within ${ms} ms; received ${JSON.stringify(received.map((r) => r.header.type))}`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const FEDERATION = 'keys-under-test';
const ROUND = 3;

/** The neighbour the victim should share secrets with: its identity and its signed keys. */
function honestNeighbour() {
  const { identity } = generateIdentity();
  const encryptionKey = x25519();
  const maskKey = x25519();
  const signature = identity.sign(keySigningBytes(FEDERATION, 'neighbour', ROUND, encryptionKey, maskKey));
  return { identity, encryptionKey, maskKey, signature };
}

/**
 * A real client, taken by the fake server through the handshake and a secure fit up to the point
 * where the server owes it the key directory.
 */
async function victimAtShareKeys(trustedPeers?: Record<string, string>) {
  const server = await fakeServer();
  const victim = generateIdentity().identity;
  const events: ClientEvent[] = [];
  const client = connectClient({
    url: server.url,
    clientId: 'victim',
    identity: victim,
    data: data(20),
    runtime: platform.runtime,
    secaggCrypto: platform.secaggCrypto,
    webSocket: (u, p) => new WebSocket(u, p) as unknown as WebSocketLike,
    retry: { attempts: 1 }, // a dropped connection ends the client instead of a retry loop
    ...(trustedPeers ? { trustedPeers } : {}),
    onEvent: (e) => events.push(e),
  });
  try {
    const hello = await server.next('hello');
    assert.equal(hello.header.publicKey, toBase64Url(victim.publicKey));
    const nonce = randomNonce(32);
    server.send({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: toBase64Url(nonce) });
    const auth = await server.next('auth');
    assert.ok(
      verifySignature(
        victim.publicKey,
        authChallengeBytes(nonce, 'victim'),
        fromBase64Url(auth.header.signature as string),
      ),
    );
    server.send({
      type: 'welcome',
      clientId: 'victim',
      federation: FEDERATION,
      model: spec as unknown as Record<string, unknown>,
      trainer: {
        loss: 'softmaxCrossEntropy',
        optimizer: sgd({ lr: 0.1 }) as unknown as Record<string, unknown>,
      },
      parameters: PARAMETERS,
      limits: { maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20 },
    });
    // A round of two: the victim (protocol id 0) and 'neighbour' (1), each the other's neighbour.
    const instructions: SecureAggregationInstructions = {
      roundId: randomHex(32),
      participants: ['victim', 'neighbour'],
      vectorLength: PARAMETERS + 1,
      auxiliary: 0,
      neighbours: 1,
      threshold: 2,
      bits: 16,
      range: 1,
      rounding: 'nearest',
      prg: 'aes-256-ctr',
      maxWeight: 20,
    };
    paramsOf(instructions); // what the client will check: throws on a bad field
    const task = randomHex(16);
    server.send(
      {
        type: 'fit',
        round: ROUND,
        task,
        config: { localSteps: 2, batchSize: 8, lr: 0.1, secureAggregation: instructions },
        seed: 7,
      },
      float32Bytes(new Float32Array(PARAMETERS)),
    );
    const fit = await server.next(['fit-result', 'task-error']);
    assert.equal(fit.header.type, 'fit-result', JSON.stringify(fit.header));
    assert.deepEqual(fit.header.upload, { kind: 'secure' });
    // The advertised keys come signed with the victim's identity key, over this federation and round.
    const advertised = decodeMessage(fit.payload);
    assert.equal(advertised.type, 'advertise-keys');
    if (advertised.type !== 'advertise-keys') throw new Error('unreachable');
    assert.equal(advertised.from, 0);
    assert.equal(typeof fit.header.keySignature, 'string', 'the fit-result carries no keySignature');
    const keySignature = fromBase64Url(fit.header.keySignature as string);
    assert.ok(
      verifySignature(
        victim.publicKey,
        keySigningBytes(FEDERATION, 'victim', ROUND, advertised.encryptionKey, advertised.maskKey),
        keySignature,
      ),
      'the keySignature does not verify over the advertised keys',
    );
    // ...and over nothing else: not the same keys in another round.
    assert.ok(
      !verifySignature(
        victim.publicKey,
        keySigningBytes(FEDERATION, 'victim', ROUND + 1, advertised.encryptionKey, advertised.maskKey),
        keySignature,
      ),
    );
    return { server, client, events, task, victim, advertised };
  } catch (e) {
    client.close();
    await server.close();
    throw e;
  }
}

type Victim = Awaited<ReturnType<typeof victimAtShareKeys>>;

/**
 * The directory followed by one 100-byte record per attestation, written here from the documented
 * layout — [protocol id: u32 LE][identity key: 32][signature: 64] — rather than with the library's
 * own encoder, so a wire format that drifted on both ends at once would still fail.
 */
function withAttestations(directory: Uint8Array, records: readonly KeyAttestation[]): Uint8Array {
  assert.equal(KEY_ATTESTATION_BYTES, 100);
  const out = new Uint8Array(directory.length + records.length * 100);
  out.set(directory);
  records.forEach((r, k) => {
    const at = directory.length + k * 100;
    new DataView(out.buffer).setUint32(at, r.id, true);
    out.set(r.identityKey, at + 4);
    out.set(r.signature, at + 36);
  });
  return out;
}

/** Sends the share-keys stage (attestations after the directory when given) and returns the reply. */
async function shareKeys(
  v: Victim,
  peer: { encryptionKey: Uint8Array; maskKey: Uint8Array },
  attestations: KeyAttestation[] | undefined,
): Promise<Received> {
  const directory = encodeMessage({
    type: 'key-directory',
    to: 0,
    peers: [{ id: 1, encryptionKey: peer.encryptionKey, maskKey: peer.maskKey }],
  });
  const payload = attestations ? withAttestations(directory, attestations) : directory;
  v.server.send(
    {
      type: 'stage',
      round: ROUND,
      task: v.task,
      stage: 'share-keys',
      ...(attestations ? { directoryBytes: directory.length } : {}),
    },
    payload,
  );
  return v.server.next(['task-error', 'stage-result']);
}

/** The client refused the directory: a task-error for the round's task, and no share-keys reply. */
async function assertRefused(v: Victim, reply: Received, message: RegExp) {
  assert.equal(reply.header.type, 'task-error', `the client accepted: ${JSON.stringify(reply.header)}`);
  assert.equal(reply.header.task, v.task);
  assert.equal(reply.header.round, ROUND);
  assert.match(String(reply.header.message), message);
  // Messages are handled in order and the refusal replaces the reply: give a stray one a moment anyway.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(
    v.server.received.filter((r) => r.header.type === 'stage-result').length,
    0,
    'the client sent a share-keys reply after refusing',
  );
  assert.ok(v.events.some((e) => e.kind === 'task-error'));
}

async function stop(v: Victim) {
  v.client.close();
  const r = await within(v.client.done, 10_000, 'the client stopping');
  assert.equal(r.completed, false);
  await v.server.close();
}

describe('a malicious server substitutes a neighbour’s keys', () => {
  test(
    '(a) a directory without signatures (no directoryBytes) is refused as unsigned',
    { timeout: 60_000 },
    async () => {
      const v = await victimAtShareKeys();
      try {
        const neighbour = honestNeighbour();
        const reply = await shareKeys(v, neighbour, undefined);
        await assertRefused(v, reply, /without signatures|unauthenticated/);
      } finally {
        await stop(v);
      }
    },
  );

  test(
    '(b) keys the server made, vouched for with its own identity key: accepted when nothing is pinned (the server is trusted for enrollment)',
    { timeout: 60_000 },
    async () => {
      const v = await victimAtShareKeys();
      try {
        const fake = generateIdentity().identity; // the server's own
        const keys = { encryptionKey: x25519(), maskKey: x25519() };
        const reply = await shareKeys(v, keys, [
          {
            id: 1,
            identityKey: fake.publicKey,
            signature: fake.sign(
              keySigningBytes(FEDERATION, 'neighbour', ROUND, keys.encryptionKey, keys.maskKey),
            ),
          },
        ]);
        assert.equal(reply.header.type, 'stage-result', JSON.stringify(reply.header));
        assert.equal(reply.header.stage, 'share-keys');
        assert.equal(reply.header.task, v.task);
        assert.ok(
          verifySignature(
            v.victim.publicKey,
            updateSigningBytes('victim', ROUND, v.task, 'share-keys', reply.payload),
            fromBase64Url(reply.header.signature as string),
          ),
        );
        // The victim sealed its shares for the neighbour: with unpinned identities this is the trust
        // the client places in the server's enrollment (docs/privacy.md).
        const shared = decodeMessage(reply.payload);
        assert.equal(shared.type, 'share-keys');
        if (shared.type !== 'share-keys') throw new Error('unreachable');
        assert.deepEqual(
          shared.boxes.map((b) => b.to),
          [1],
        );
      } finally {
        await stop(v);
      }
    },
  );

  test(
    '(c) the same, with the real neighbour’s identity key pinned: refused, naming the neighbour and the pinned key',
    { timeout: 60_000 },
    async () => {
      const neighbour = honestNeighbour();
      const v = await victimAtShareKeys({ neighbour: toBase64Url(neighbour.identity.publicKey) });
      try {
        const fake = generateIdentity().identity;
        const keys = { encryptionKey: x25519(), maskKey: x25519() };
        const reply = await shareKeys(v, keys, [
          {
            id: 1,
            identityKey: fake.publicKey,
            signature: fake.sign(
              keySigningBytes(FEDERATION, 'neighbour', ROUND, keys.encryptionKey, keys.maskKey),
            ),
          },
        ]);
        await assertRefused(v, reply, /'neighbour'.*pinned/);
        assert.match(String(reply.header.message), new RegExp(toBase64Url(fake.publicKey)));
      } finally {
        await stop(v);
      }
    },
  );

  test(
    '(c2) pinned peers given, and the neighbour is not among them: refused, even with the neighbour’s real signature',
    { timeout: 60_000 },
    async () => {
      const neighbour = honestNeighbour();
      const v = await victimAtShareKeys({ someone: toBase64Url(generateIdentity().identity.publicKey) });
      try {
        const reply = await shareKeys(v, neighbour, [
          { id: 1, identityKey: neighbour.identity.publicKey, signature: neighbour.signature },
        ]);
        await assertRefused(v, reply, /'neighbour' is not among the devices/);
      } finally {
        await stop(v);
      }
    },
  );

  for (const pinned of [false, true])
    test(
      `(d) the neighbour's real identity key and signature, over keys other than those listed${pinned ? ' (identity pinned)' : ''}: refused as not the keys it signed`,
      { timeout: 60_000 },
      async () => {
        const neighbour = honestNeighbour();
        const v = await victimAtShareKeys(
          pinned ? { neighbour: toBase64Url(neighbour.identity.publicKey) } : undefined,
        );
        try {
          // Substituted: the server's keys in the directory, the neighbour's signature (over its own keys) beside them.
          const substituted = { encryptionKey: x25519(), maskKey: x25519() };
          const reply = await shareKeys(v, substituted, [
            { id: 1, identityKey: neighbour.identity.publicKey, signature: neighbour.signature },
          ]);
          await assertRefused(v, reply, /'neighbour' are not the keys it signed/);
        } finally {
          await stop(v);
        }
      },
    );

  test(
    'control: the neighbour’s real keys with its real signature and pinned identity are accepted',
    { timeout: 60_000 },
    async () => {
      // Shows the refusals above are about the substitution, not about this fake server.
      const neighbour = honestNeighbour();
      const v = await victimAtShareKeys({ neighbour: toBase64Url(neighbour.identity.publicKey) });
      try {
        const reply = await shareKeys(v, neighbour, [
          { id: 1, identityKey: neighbour.identity.publicKey, signature: neighbour.signature },
        ]);
        assert.equal(reply.header.type, 'stage-result', JSON.stringify(reply.header));
        assert.equal(reply.header.stage, 'share-keys');
      } finally {
        await stop(v);
      }
    },
  );
});

// ---- 2. a client whose keys are not signed ---------------------------------------------------

describe('the server refuses an unsigned or wrongly signed key advertisement', () => {
  const TOKEN = 'keys-token';
  const SERVER_FEDERATION = 'signed-keys';
  let server: FederationServer;
  let running: Promise<{ history: RoundRecord[] }>;
  let peer: RawPeer;
  let fit: Received;
  const honest: FederationClient[] = [];
  const stopRun = new AbortController();

  before(async () => {
    server = await createServer({
      settings: serverSettingsOf({
        federation: SERVER_FEDERATION,
        // One round for each bad advertisement: a refused one fails the intruder's task at once.
        rounds: 3,
        fraction: 1,
        minAvailableClients: 3,
        localSteps: 2,
        batchSize: 8,
        model: 'logreg',
        secureAggregation: { neighbours: 2 },
        // Far longer than a round takes: a round that waited for it would show in the test's timing.
        deadlineSeconds: 30,
      }),
      spec,
      stateDir: mkdtempSync(join(tmpdir(), 'edgefl-secagg-keys-')),
      tokens: [TOKEN],
      platform,
      signal: stopRun.signal,
    });
    for (let k = 0; k < 2; k++)
      honest.push(
        connectClient({
          url: server.url,
          clientId: `honest-${k}`,
          identity: generateIdentity().identity,
          token: TOKEN,
          data: data(40, k),
          runtime: platform.runtime,
          secaggCrypto: platform.secaggCrypto,
          webSocket: (u, p) => new WebSocket(u, p) as unknown as WebSocketLike,
        }),
      );
    peer = await joinAs(server.url, 'intruder', { token: TOKEN, numExamples: 40 });
    running = server.run();
  });

  /** The intruder's fit of `round`. */
  const fitOf = async (round: number) => {
    fit = await peer.next((h) => h.type === 'fit' && h.round === round);
  };

  after(async () => {
    stopRun.abort();
    peer?.socket.close();
    for (const c of honest) c.close();
    await server?.close();
  });

  type Keys = { encryptionKey: Uint8Array; maskKey: Uint8Array };

  /**
   * Sends a fit-result for the intruder's fit whose update signature is right, whose payload is a
   * valid advertise-keys message, and whose keySignature is `keySignatureOf(keys, round)` (none
   * when not given).
   */
  function secureUpload(keySignatureOf?: (keys: Keys, round: number) => Uint8Array) {
    const round = fit.header.round as number;
    const task = fit.header.task as string;
    const sa = (fit.header.config as { secureAggregation: SecureAggregationInstructions }).secureAggregation;
    const from = sa.participants.indexOf('intruder');
    assert.ok(from >= 0, `intruder is not among ${sa.participants.join(', ')}`);
    const keys = { encryptionKey: x25519(), maskKey: x25519() };
    const payload = encodeMessage({ type: 'advertise-keys', from, ...keys });
    peer.send(
      {
        type: 'fit-result',
        round,
        task,
        upload: { kind: 'secure' },
        numExamples: 40,
        metrics: {},
        seconds: 0.1,
        signature: toBase64Url(
          peer.identity.sign(updateSigningBytes('intruder', round, task, 'fit', payload)),
        ),
        ...(keySignatureOf ? { keySignature: toBase64Url(keySignatureOf(keys, round)) } : {}),
      },
      payload,
    );
  }

  /** Sends what `send` sends and returns the first error the server answers after it. */
  async function refusalOf(send: () => void): Promise<Record<string, unknown>> {
    const seen = peer.received.length;
    send();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const e = peer.received.slice(seen).find((r) => r.header.type === 'error');
      if (e) return e.header;
      if (Date.now() > deadline)
        throw new Error(
          `no error within 30 s; received ${JSON.stringify(peer.received.slice(seen).map((r) => r.header))}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('(a) without keySignature: unauthorized, naming keySignature', { timeout: 60_000 }, async () => {
    await fitOf(1);
    const e = await refusalOf(() => secureUpload());
    assert.equal(e.code, 'unauthorized', JSON.stringify(e));
    assert.match(String(e.message), /keySignature/);
    assert.equal(e.fatal, false); // a refused message, not a closed connection
  });

  test('(b) a keySignature over other keys: unauthorized', { timeout: 60_000 }, async () => {
    await fitOf(2);
    const e = await refusalOf(() =>
      secureUpload((_, round) =>
        peer.identity.sign(keySigningBytes(SERVER_FEDERATION, 'intruder', round, x25519(), x25519())),
      ),
    );
    assert.equal(e.code, 'unauthorized', JSON.stringify(e));
    assert.match(String(e.message), /keySignature.*does not verify/);
  });

  test(
    '(b2) a keySignature over the right keys but by another identity: unauthorized',
    { timeout: 60_000 },
    async () => {
      // Right bytes, wrong signer: what counts is the key the intruder enrolled, not whoever signs.
      const stranger = generateIdentity().identity;
      await fitOf(3);
      const e = await refusalOf(() =>
        secureUpload((keys, round) =>
          stranger.sign(
            keySigningBytes(SERVER_FEDERATION, 'intruder', round, keys.encryptionKey, keys.maskKey),
          ),
        ),
      );
      assert.equal(e.code, 'unauthorized', JSON.stringify(e));
      assert.match(String(e.message), /keySignature.*does not verify/);
    },
  );

  test(
    'the server stays up, and each refused advertisement fails the intruder at once: every round completes with the two honest clients, none waiting for the deadline',
    { timeout: 90_000 },
    async () => {
      const http = server.url.replace(/^ws/, 'http').replace(/\/federation$/, '');
      const health = (await (await fetch(`${http}/health`)).json()) as { status: string };
      assert.equal(health.status, 'ok');
      const result = await within(running, 60_000, 'the run');
      assert.equal(result.history.length, 3);
      for (const r of result.history) {
        assert.ok(r.updated, `round ${r.round} did not update: ${r.skippedReason}`);
        assert.equal(r.aggregated, 2, JSON.stringify(r));
        assert.ok(
          r.problems.some((p) => p.clientId === 'intruder' && /keySignature/.test(p.reason)),
          JSON.stringify(r.problems),
        );
        assert.ok(r.seconds < 15, `round ${r.round} took ${r.seconds} s: it waited for the 30 s deadline`);
      }
      const done = await within(Promise.all(honest.map((c) => c.done)), 30_000, 'the honest clients');
      assert.ok(
        done.every((d) => d.completed && d.fits === 3),
        JSON.stringify(done),
      );
    },
  );
});

/**
 * Hostile input against a federation server on loopback while an honest federation keeps training
 * beside it: each attack its own test, each refused with an error that names the problem, and
 * after each the server still answers and the honest clients' rounds still update the model.
 *
 * The server and the three honest clients run in this process (real sockets on loopback); the
 * attacker is a hand-driven protocol peer (test/helpers/raw-client.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { ArrayDataset, builtInModel, type RoundRecord } from 'edgefl';
import { nodePlatform } from '@edgefl/node';
import {
  connectClient,
  encodeFrame,
  float32Bytes,
  generateIdentity,
  toBase64Url,
  updateSigningBytes,
  type FederationClient,
  type WebSocketLike,
} from '@edgefl/net';
import { createServer, serverSettingsOf, type FederationServer } from '@edgefl/server';
import { joinAs, openPeer, type RawPeer } from '../helpers/raw-client.js';

const TOKEN = 'honest-token';
const PARAMETERS = 4 * 3 + 3; // logreg on 4 features, 3 classes

let server: FederationServer;
let running: Promise<unknown>;
const stop = new AbortController();
const honest: FederationClient[] = [];
const rounds: RoundRecord[] = [];
let url: string;
let http: string;

function data(n: number, shift: number) {
  return new ArrayDataset({
    features: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 0.37 + shift)),
    labels: Int32Array.from({ length: n }, (_, i) => (i + shift) % 3),
    featureShape: [4],
    labelShape: [],
    classes: ['a', 'b', 'c'],
  });
}

/** Resolves once `n` more rounds have completed, each having updated the model. */
async function moreRounds(n: number): Promise<RoundRecord[]> {
  const start = rounds.length;
  const deadline = Date.now() + 60_000;
  while (rounds.length < start + n) {
    if (Date.now() > deadline) throw new Error(`no ${n} more rounds within 60 s (at ${rounds.length})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const fresh = rounds.slice(start, start + n);
  for (const r of fresh) assert.ok(r.updated, `round ${r.round} did not update: ${r.skippedReason}`);
  return fresh;
}

async function healthy(): Promise<void> {
  const h = (await (await fetch(`${http}/health`)).json()) as { status: string; clients: number };
  assert.equal(h.status, 'ok');
}

before(async () => {
  const platform = nodePlatform();
  server = await createServer({
    settings: serverSettingsOf({
      rounds: 100_000,
      fraction: 1,
      minAvailableClients: 3,
      localSteps: 2,
      batchSize: 8,
      model: 'logreg',
      deadlineSeconds: 3,
    }),
    spec: builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 }),
    stateDir: mkdtempSync(join(tmpdir(), 'edgefl-hostile-')),
    tokens: [TOKEN],
    platform,
    subscribers: [{ round: (r) => void rounds.push(r) }],
    signal: stop.signal,
    limits: { connectionsPerAddress: 40, maxRefusals: 5 },
  });
  url = server.url;
  http = url.replace(/^ws/, 'http').replace(/\/federation$/, '');
  for (let k = 0; k < 3; k++)
    honest.push(
      connectClient({
        url,
        clientId: `honest-${k}`,
        identity: generateIdentity().identity,
        token: TOKEN,
        data: data(40, k),
        runtime: platform.runtime,
        webSocket: (u, p) => new WebSocket(u, p) as unknown as WebSocketLike,
      }),
    );
  running = server.run();
  await moreRounds(1);
});

after(async () => {
  stop.abort();
  const result = (await running) as { global: Float32Array; history: RoundRecord[] };
  // Whatever was thrown at it, the global model is finite and every honest round updated it.
  assert.ok(result.global.every(Number.isFinite));
  for (const c of honest) c.close();
  await server.close();
});

test('malformed frames: bytes that are no frame, a text message, a header that is not JSON — each refused as bad-frame and the connection closed', async () => {
  for (const bad of [new Uint8Array([1, 2]), 'hello', Uint8Array.from([3, 0, 0, 0, 0x7b, 0x7b, 0x7b])]) {
    const peer = await openPeer(url);
    peer.sendBytes(bad);
    const e = await peer.next((h) => h.type === 'error');
    assert.equal(e.header.code, 'bad-frame');
    assert.equal(e.header.fatal, true);
    assert.match(String(e.header.message), /frame|text messages|JSON/);
    await peer.closed;
  }
  await healthy();
  await moreRounds(2);
});

test('a message that does not fit its schema is refused naming the field', async () => {
  const peer = await openPeer(url);
  peer.send({ type: 'hello', protocol: 1, clientId: 'x y', publicKey: 'short', numExamples: -1 });
  const e = await peer.next((h) => h.type === 'error');
  assert.equal(e.header.code, 'bad-message');
  assert.match(String(e.header.message), /clientId/);
  assert.match(String(e.header.message), /publicKey/);
  peer.socket.close();
  await moreRounds(1);
});

test('oversized payloads: a frame past the frame limit is cut by the socket, a chunked message announcing more than the message limit is refused before anything is buffered', async () => {
  const big = await openPeer(url);
  big.sendBytes(encodeFrame({ type: 'hello' }, new Uint8Array(3 << 20)));
  const closed = await big.closed;
  assert.equal(closed.code, 1009); // message too big
  assert.match(
    await server.metrics.registry.getSingleMetricAsString('edgefl_refused_messages_total'),
    /code="too-large"\} [1-9]/,
  );
  const chunked = await openPeer(url);
  chunked.send({ type: 'hello', chunks: 1000, payloadBytes: 2 ** 40 });
  const e = await chunked.next((h) => h.type === 'error');
  assert.equal(e.header.code, 'too-large');
  assert.match(String(e.header.message), /1099511627776 payload bytes exceeds/);
  await healthy();
  await moreRounds(2);
});

test('an unknown client, a wrong enrollment token, and another device claiming an enrolled id are refused as unauthorized', async () => {
  await assert.rejects(joinAs(url, 'stranger'), /not enrolled: connect once with an enrollment token/);
  await assert.rejects(joinAs(url, 'stranger', { token: 'guess' }), /enrollment token is not valid/);
  await assert.rejects(joinAs(url, 'honest-0', { token: TOKEN }), /enrolled with another identity key/);
  // The real honest-0 is still in the federation.
  const [r] = await moreRounds(1);
  assert.equal(r.aggregated, 3);
});

test('a challenge answered with a bad signature is refused, the device is not let in, and the id is not taken', async () => {
  const peer = await openPeer(url);
  const { identity } = generateIdentity();
  peer.send({
    type: 'hello',
    protocol: 1,
    clientId: 'forger',
    publicKey: toBase64Url(identity.publicKey),
    token: TOKEN,
    numExamples: 10,
  });
  await peer.next((h) => h.type === 'challenge');
  peer.send({ type: 'auth', signature: toBase64Url(new Uint8Array(64).fill(7)) });
  const e = await peer.next((h) => h.type === 'error');
  assert.equal(e.header.code, 'unauthorized');
  assert.match(String(e.header.message), /challenge signature does not verify/);
  await peer.closed;
  assert.ok(!server.connected().includes('forger'));
  // Nothing was enrolled for the id before the key was proved: the device that holds its key can
  // still take it (no squatting on ids with keys one does not have).
  const owner = await joinAs(url, 'forger', { token: TOKEN });
  owner.socket.close();
  await moreRounds(1);
});

/** An enrolled attacker that waits for its next fit task. */
async function nextFit(peer: RawPeer) {
  const seen = peer.received.length;
  const m = await peer.next(
    (h) => h.type === 'fit' && peer.received.findIndex((r) => r.header === h) >= seen,
  );
  return { round: m.header.round as number, task: m.header.task as string };
}

function signed(
  peer: RawPeer,
  id: string,
  round: number,
  task: string,
  payload: Uint8Array,
  extra: object = {},
) {
  peer.send(
    {
      type: 'fit-result',
      round,
      task,
      upload: { kind: 'delta' },
      numExamples: 10,
      metrics: {},
      seconds: 0.01,
      signature: toBase64Url(peer.identity.sign(updateSigningBytes(id, round, task, 'fit', payload))),
      ...extra,
    },
    payload,
  );
}

async function roundOf(round: number): Promise<RoundRecord> {
  while (!rounds.some((r) => r.round === round)) await new Promise((r) => setTimeout(r, 20));
  return rounds.find((r) => r.round === round)!;
}

test('updates of the wrong shape and with NaN/Inf from an enrolled client are refused in their round, which the honest clients complete', async () => {
  const peer = await joinAs(url, 'mallory', { token: TOKEN });
  let fit = await nextFit(peer);
  signed(peer, 'mallory', fit.round, fit.task, float32Bytes(new Float32Array(3)));
  let r = await roundOf(fit.round);
  assert.ok(r.updated);
  assert.equal(r.aggregated, 3);
  assert.match(
    r.problems.find((p) => p.clientId === 'mallory')!.reason,
    /update of 3 values; the model has 15/,
  );

  fit = await nextFit(peer);
  const poisoned = new Float32Array(PARAMETERS).fill(0.01);
  poisoned[4] = NaN;
  poisoned[7] = Infinity;
  signed(peer, 'mallory', fit.round, fit.task, float32Bytes(poisoned));
  r = await roundOf(fit.round);
  assert.ok(r.updated);
  assert.equal(r.aggregated, 3);
  const p = r.problems.find((x) => x.clientId === 'mallory')!;
  assert.equal(p.kind, 'excluded');
  assert.match(p.reason, /NaN|non-finite|finite/i);
  peer.socket.close();
  await moreRounds(1);
});

test('a reply for another round, a replayed reply and a reply with a bad signature are refused; the honest rounds go on', async () => {
  const peer = await joinAs(url, 'mallory-2', { token: TOKEN });
  let fit = await nextFit(peer);
  const update = float32Bytes(new Float32Array(PARAMETERS).fill(0.001));
  // For another round: refused, and the task still waits for its answer.
  signed(peer, 'mallory-2', fit.round + 1, fit.task, update);
  let e = await peer.next((h) => h.type === 'error' && /belongs to round/.test(String(h.message)));
  assert.equal(e.header.code, 'unexpected');
  // The genuine reply is taken; the same reply again is a replay and refused.
  signed(peer, 'mallory-2', fit.round, fit.task, update);
  signed(peer, 'mallory-2', fit.round, fit.task, update);
  e = await peer.next(
    (h) => h.type === 'error' && /not a task of this client in progress/.test(String(h.message)),
  );
  assert.equal(e.header.code, 'unexpected');
  let r = await roundOf(fit.round);
  assert.ok(r.updated);
  assert.equal(r.aggregated, 4); // three honest clients and the one genuine reply

  // Signed over other bytes: refused, and that is the client's answer to the task — it fails at
  // once (the round does not wait for a deadline), and a genuine reply after it comes too late.
  fit = await nextFit(peer);
  const seen = peer.received.length;
  const after = (h: Record<string, unknown>) => peer.received.findIndex((x) => x.header === h) >= seen;
  peer.send(
    {
      type: 'fit-result',
      round: fit.round,
      task: fit.task,
      upload: { kind: 'delta' },
      numExamples: 10,
      metrics: {},
      seconds: 0.01,
      signature: toBase64Url(
        peer.identity.sign(updateSigningBytes('mallory-2', fit.round, fit.task, 'fit', new Uint8Array(4))),
      ),
    },
    update,
  );
  e = await peer.next((h) => h.type === 'error' && after(h));
  assert.equal(e.header.code, 'unauthorized');
  assert.match(String(e.header.message), /signature .* does not verify/);
  r = await roundOf(fit.round);
  assert.ok(r.updated);
  assert.equal(r.aggregated, 3);
  assert.ok(
    r.problems.some((p) => p.clientId === 'mallory-2' && /does not verify/.test(p.reason)),
    JSON.stringify(r.problems),
  );
  signed(peer, 'mallory-2', fit.round, fit.task, update);
  e = await peer.next(
    (h) =>
      h.type === 'error' &&
      /not a task of this client in progress/.test(String(h.message)) &&
      after(h) &&
      h !== e.header,
  );
  assert.equal(e.header.code, 'unexpected');
  peer.socket.close();
  await peer.closed;
  await moreRounds(1);
});

test('a revoked client is cut off at once and cannot come back', async () => {
  const identity = generateIdentity().identity;
  const peer = await joinAs(url, 'to-revoke', { token: TOKEN, identity });
  assert.ok(await server.revoke('to-revoke'));
  const e = await peer.next((h) => h.type === 'error');
  assert.equal(e.header.code, 'revoked');
  await peer.closed;
  await assert.rejects(joinAs(url, 'to-revoke', { identity }), /was revoked/);
  await moreRounds(1);
});

test('a flood of connections from one address: those past the per-address limit are refused, the server and the honest rounds carry on', async () => {
  const attempts = await Promise.allSettled(Array.from({ length: 60 }, () => openPeer(url)));
  const opened = attempts
    .filter((a) => a.status === 'fulfilled')
    .map((a) => (a as PromiseFulfilledResult<RawPeer>).value);
  const refused = attempts.filter((a) => a.status === 'rejected') as PromiseRejectedResult[];
  // 40 allowed from loopback, three of them the honest clients'.
  assert.equal(opened.length, 37, `${opened.length} opened`);
  assert.ok(
    refused.every((r) => /429/.test(String(r.reason))),
    String(refused[0]?.reason),
  );
  assert.match(
    await server.metrics.registry.getSingleMetricAsString('edgefl_refused_messages_total'),
    /code="busy"\} [1-9]/,
  );
  await healthy();
  await moreRounds(1);
  for (const p of opened) p.socket.close();
  await Promise.all(opened.map((p) => p.closed));
  await moreRounds(1);
});

/**
 * Lightweight federation clients for bench:server, in a process of their own: each holds one
 * authenticated WebSocket and answers every fit at once with a constant update (signed, as a real
 * client's), so what a round costs beyond the clients' compute is the server's and the network's.
 * What a real client computes every round and these need only once — the update's bytes and their
 * SHA-256 — is computed once; the global model is read frame by frame and not reassembled (they do
 * not train on it). Under secure aggregation they run the real client pipeline's transforms
 * (transformUpdate: quantize, mask) and protocol session on the constant update, sign their keys,
 * and check the key directory's signatures, as a real client does — only the training is skipped.
 *
 *   tsx bench/light-clients.ts URL COUNT PREFIX TOKEN [CA_FILE]
 *
 * Prints `ready N` once every client is in, then `cpu R MS` as round R's first fit arrives (the
 * process's CPU time so far, so a benchmark can tell what the clients spent a round); exits when
 * the server says the run is done or on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { transformUpdate, type ClientRoundSession, type FitConfig } from 'edgefl';
import { nodeSecAggCrypto } from '@edgefl/node';
import {
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  advertisedKeys,
  authChallengeBytes,
  checkKeyDirectory,
  decodeFrame,
  keySigningBytes,
  float32Bytes,
  frameMessage,
  fromBase64Url,
  generateIdentity,
  parseServerMessage,
  type Frame,
  toBase64Url,
  updateSigningBytes,
} from '@edgefl/net';

const [url, countArg, prefix, token, caFile] = process.argv.slice(2);
const count = Number(countArg);
const ca = caFile ? readFileSync(caFile) : undefined;
let ready = 0;
let done = 0;
const secaggCrypto = nodeSecAggCrypto();
/** Rounds whose first fit has arrived (the CPU line is printed once a round). */
const roundsSeen = new Set<number>();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const FRAME = 1 << 20;

/** The constant update every client sends, and its digest (computed once). */
let update: { bytes: Uint8Array; hash: Uint8Array } | undefined;
function updateOf(parameters: number) {
  if (update?.bytes.length !== parameters * 4) {
    const bytes = float32Bytes(new Float32Array(parameters).fill(1e-4));
    update = { bytes, hash: createHash('sha256').update(bytes).digest() };
  }
  return update;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

const identities = new Map<string, ReturnType<typeof generateIdentity>['identity']>();

function client(id: string): void {
  // One key per device, kept across its attempts (a retry after enrolling must present the same key).
  let identity = identities.get(id);
  if (!identity) identities.set(id, (identity = generateIdentity().identity));
  const key = identity;
  const ws = new WebSocket(url, [SUBPROTOCOL], { ...(ca ? { ca } : {}), perMessageDeflate: false });
  let parameters = 0;
  let frameLimit = FRAME;
  const send = (
    header: { type: string } & Record<string, unknown>,
    payload: Uint8Array = new Uint8Array(0),
  ) => {
    for (const f of frameMessage(header, payload, FRAME)) ws.send(f);
  };
  ws.on('open', () =>
    send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      clientId: id,
      publicKey: toBase64Url(key.publicKey),
      token,
      numExamples: 10,
    }),
  );
  let federation = '';
  let session: { task: string; participants: string[]; session: ClientRoundSession } | undefined;
  // A chunked message's header, how many of its chunk frames are still to come, and (for a stage
  // message, whose payload the client needs) the pieces so far.
  let chunked: { header: Frame['header']; left: number; pieces?: Uint8Array[] } | undefined;
  ws.on('message', (data: Buffer) => {
    const frame = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const header = frame.header as { type: string; chunks?: number };
    let payload = frame.payload;
    if (header.type === 'chunk') {
      if (!chunked) return;
      chunked.pieces?.push(frame.payload.slice());
      if (--chunked.left > 0) return;
      frame.header = chunked.header;
      payload = chunked.pieces ? Buffer.concat(chunked.pieces) : new Uint8Array(0);
      chunked = undefined;
    } else if (header.chunks !== undefined) {
      const { chunks: _c, payloadBytes: _b, ...rest } = header as Record<string, unknown>;
      chunked = { header: rest, left: header.chunks, ...(header.type === 'stage' ? { pieces: [] } : {}) };
      return;
    }
    const { message: m } = parseServerMessage({ header: frame.header, payload: new Uint8Array(0) });
    if (m.type === 'challenge')
      send({
        type: 'auth',
        signature: toBase64Url(key.sign(authChallengeBytes(fromBase64Url(m.nonce), id))),
      });
    else if (m.type === 'welcome') {
      parameters = m.parameters;
      frameLimit = m.limits.maxFrameBytes;
      federation = m.federation;
      if (++ready === count) process.stdout.write(`ready ${count}\n`);
    } else if (m.type === 'fit') {
      if (!roundsSeen.has(m.round)) {
        roundsSeen.add(m.round);
        process.stdout.write(`cpu ${m.round} ${cpuMs().toFixed(1)}\n`);
      }
      const config = m.config as unknown as FitConfig;
      if (config.secureAggregation) return secureFit(m.round, m.task, config);
      const u = updateOf(parameters);
      const header = {
        type: 'fit-result',
        round: m.round,
        task: m.task,
        upload: { kind: 'delta' },
        numExamples: 10,
        metrics: {},
        seconds: 0,
        signature: toBase64Url(
          key.sign(updateSigningBytes(id, m.round, m.task, 'fit', u.bytes, () => u.hash)),
        ),
      };
      // As a real client: one frame when the server's announced frame size allows.
      for (const f of frameMessage(header, u.bytes, frameLimit)) ws.send(f);
    } else if (m.type === 'stage') {
      if (!session || session.task !== m.task) throw new Error(`${id}: a stage for no round in progress`);
      const message =
        m.stage === 'share-keys'
          ? checkKeyDirectory({
              payload,
              directoryBytes: m.directoryBytes,
              federation,
              round: m.round,
              participants: session.participants,
            })
          : payload;
      const reply = session.session.receive(message);
      for (const f of frameMessage(
        {
          type: 'stage-result',
          round: m.round,
          task: m.task,
          stage: m.stage,
          seconds: 0,
          signature: toBase64Url(key.sign(updateSigningBytes(id, m.round, m.task, m.stage, reply, sha256))),
        },
        reply,
        frameLimit,
      ))
        ws.send(f);
    } else if (m.type === 'done' || (m.type === 'error' && m.fatal)) {
      ws.close();
      if (++done === count) process.exit(0);
    }
  });

  /** A secure round's fit: the client pipeline's transforms on the constant update, keys signed. */
  function secureFit(round: number, task: string, config: FitConfig) {
    const delta = new Float32Array(parameters).fill(1e-4);
    const r = transformUpdate(
      { secaggCrypto },
      { clientId: id, global: delta, config, seed: round },
      delta,
      10,
    );
    if (r.upload.kind !== 'secure' || !r.session) throw new Error(`${id}: no secure upload`);
    const bytes = r.upload.message;
    session = { task, participants: config.secureAggregation!.participants, session: r.session };
    const keys = advertisedKeys(bytes);
    const header = {
      type: 'fit-result',
      round,
      task,
      upload: { kind: 'secure' },
      numExamples: 10,
      metrics: {},
      seconds: 0,
      signature: toBase64Url(key.sign(updateSigningBytes(id, round, task, 'fit', bytes, sha256))),
      keySignature: toBase64Url(
        key.sign(keySigningBytes(federation, id, round, keys.encryptionKey, keys.maskKey)),
      ),
    };
    for (const f of frameMessage(header, bytes, frameLimit)) ws.send(f);
  }

  ws.on('error', (e) => process.stderr.write(`${id}: ${e.message}\n`));
  // A connection refused or reset before the welcome (a listen backlog overflowing while thousands
  // join) is tried again, as a real client would.
  ws.on('close', () => {
    if (parameters === 0) setTimeout(() => client(id), 500 + Math.random() * 1000);
  });
}

// Open the connections in waves, so the server's handshake limit is not the thing measured.
const WAVE = 100;
for (let k = 0; k < count; k += WAVE) {
  setTimeout(
    () => {
      for (let j = k; j < Math.min(count, k + WAVE); j++) client(`${prefix}-${j}`);
    },
    (k / WAVE) * 100,
  );
}
process.on('SIGTERM', () => process.exit(0));

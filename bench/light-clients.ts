/**
 * Lightweight federation clients for bench:server, in a process of their own: each holds one
 * authenticated WebSocket and answers every fit at once with a small constant update (signed, as a
 * real client's), so what a round costs beyond the clients' compute is the server's and the
 * network's. Secure aggregation is not supported here (bench:server runs real clients for that).
 *
 *   tsx bench/light-clients.ts URL COUNT PREFIX TOKEN [CA_FILE]
 *
 * Prints `ready N` once every client is in, then `round R` lines as fits are answered; exits when
 * the server says the run is done or on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import {
  Assembler,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  authChallengeBytes,
  decodeFrame,
  float32Bytes,
  frameMessage,
  fromBase64Url,
  generateIdentity,
  parseServerMessage,
  toBase64Url,
  updateSigningBytes,
} from '@edgefl/net';

const [url, countArg, prefix, token, caFile] = process.argv.slice(2);
const count = Number(countArg);
const ca = caFile ? readFileSync(caFile) : undefined;
let ready = 0;
let done = 0;
const answered = new Map<number, number>();

const identities = new Map<string, ReturnType<typeof generateIdentity>['identity']>();

function client(id: string): void {
  // One key per device, kept across its attempts (a retry after enrolling must present the same key).
  let identity = identities.get(id);
  if (!identity) identities.set(id, (identity = generateIdentity().identity));
  const key = identity;
  const ws = new WebSocket(url, [SUBPROTOCOL], { ...(ca ? { ca } : {}), perMessageDeflate: false });
  const assembler = new Assembler(1 << 30);
  let parameters = 0;
  let update: Uint8Array | undefined;
  const send = (
    header: { type: string } & Record<string, unknown>,
    payload: Uint8Array = new Uint8Array(0),
  ) => {
    for (const f of frameMessage(header, payload, 1 << 20)) ws.send(f);
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
  ws.on('message', (data: Buffer) => {
    const whole = assembler.push(decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    if (!whole) return;
    const { message: m } = parseServerMessage(whole);
    if (m.type === 'challenge')
      send({
        type: 'auth',
        signature: toBase64Url(key.sign(authChallengeBytes(fromBase64Url(m.nonce), id))),
      });
    else if (m.type === 'welcome') {
      parameters = m.parameters;
      update = float32Bytes(new Float32Array(parameters).fill(1e-4));
      if (++ready === count) process.stdout.write(`ready ${count}\n`);
    } else if (m.type === 'fit') {
      const payload = update!;
      send(
        {
          type: 'fit-result',
          round: m.round,
          task: m.task,
          upload: { kind: 'delta' },
          numExamples: 10,
          metrics: {},
          seconds: 0,
          signature: toBase64Url(
            key.sign(
              updateSigningBytes(id, m.round, m.task, 'fit', payload, (b) =>
                createHash('sha256').update(b).digest(),
              ),
            ),
          ),
        },
        payload,
      );
      const n = (answered.get(m.round) ?? 0) + 1;
      answered.set(m.round, n);
    } else if (m.type === 'done' || (m.type === 'error' && m.fatal)) {
      ws.close();
      if (++done === count) process.exit(0);
    }
  });
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

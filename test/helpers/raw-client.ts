/**
 * A hand-driven protocol peer for the hostile-input tests: it opens a WebSocket to a federation
 * server, can do the handshake, and then sends whatever frames a test wants — well-formed or not —
 * and collects what the server answers.
 */
import { WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  authChallengeBytes,
  decodeFrame,
  encodeFrame,
  fromBase64Url,
  generateIdentity,
  toBase64Url,
  type DeviceIdentity,
} from '@edgefl/net';

export interface RawPeer {
  socket: WebSocket;
  identity: DeviceIdentity;
  /** Every message the server sent, decoded (header and payload). */
  received: { header: Record<string, unknown>; payload: Uint8Array }[];
  send(header: object, payload?: Uint8Array): void;
  sendBytes(bytes: Uint8Array | string): void;
  /** Resolves with the first message (already received or future) whose header matches. */
  next(
    match: (h: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<{ header: Record<string, unknown>; payload: Uint8Array }>;
  closed: Promise<{ code: number; reason: string }>;
}

export async function openPeer(url: string, protocols: string[] = [SUBPROTOCOL]): Promise<RawPeer> {
  const socket = new WebSocket(url, protocols);
  const received: RawPeer['received'] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data: Buffer) => {
    const f = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    received.push({ header: f.header as Record<string, unknown>, payload: f.payload.slice() });
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => {
      for (const w of waiters) w();
      resolve({ code, reason: reason.toString() });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const peer: RawPeer = {
    socket,
    identity: generateIdentity().identity,
    received,
    send: (header, payload = new Uint8Array(0)) => socket.send(encodeFrame(header, payload)),
    sendBytes: (bytes) => socket.send(bytes),
    next: (match, ms = 30_000) =>
      new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < received.length; seen++)
            if (match(received[seen].header)) {
              waiters.delete(check);
              clearTimeout(timer);
              return resolve(received[seen]);
            }
          if (socket.readyState === socket.CLOSED) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `closed before the expected message; received ${JSON.stringify(received.map((r) => r.header))}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no expected message within ${ms} ms; received ${JSON.stringify(received.map((r) => r.header))}`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
      }),
    closed,
  };
  return peer;
}

/** Opens a peer and completes the handshake as `clientId` (enrolling with `token` when given). */
export async function joinAs(
  url: string,
  clientId: string,
  o: { token?: string; numExamples?: number; identity?: DeviceIdentity } = {},
): Promise<RawPeer> {
  const peer = await openPeer(url);
  if (o.identity) peer.identity = o.identity;
  peer.send({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    clientId,
    publicKey: toBase64Url(peer.identity.publicKey),
    ...(o.token ? { token: o.token } : {}),
    numExamples: o.numExamples ?? 100,
  });
  const challenge = await peer.next((h) => h.type === 'challenge' || h.type === 'error');
  if (challenge.header.type === 'error') throw new Error(`refused: ${JSON.stringify(challenge.header)}`);
  const nonce = fromBase64Url(challenge.header.nonce as string);
  peer.send({
    type: 'auth',
    signature: toBase64Url(peer.identity.sign(authChallengeBytes(nonce, clientId))),
  });
  await peer.next((h) => h.type === 'welcome');
  return peer;
}

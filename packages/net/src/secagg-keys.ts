/**
 * Secure aggregation's public keys, signed with the devices' identity keys.
 *
 * Under secure aggregation each client advertises two fresh X25519 public keys, and the server hands
 * every client its neighbours' keys (the key directory). Unsigned, those keys are the server's word:
 * a server could put keys of its own in place of a neighbour's and read what the client seals for
 * that neighbour (Bonawitz et al. 2017, §6: the active-adversary variant signs the advertisements).
 * So a client signs its keys with its Ed25519 identity key (the one it enrolled), the server checks
 * that signature and passes it on beside the directory, and a client refuses a directory unless
 * every neighbour's keys carry a valid signature by that neighbour's identity key — the key the
 * client was told to expect for that device (pinned by the operator), or else the one the server
 * enrolled.
 *
 * The attestations travel after the key directory in the `share-keys` stage payload, one fixed-size
 * record per neighbour:
 *
 *   [ protocol id: uint32 LE ][ identity public key: 32 bytes ][ Ed25519 signature: 64 bytes ]
 */
import { decodeMessage } from 'edgefl/internal/privacy/secagg/codec';
import type { KeyDirectoryMessage } from 'edgefl/internal/privacy/secagg/messages';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ProtocolError } from './frame.js';
import { toBase64Url, verifySignature } from './identity.js';

const utf8 = new TextEncoder();

/** One record's size: protocol id, identity key, signature. */
export const KEY_ATTESTATION_BYTES = 4 + 32 + 64;

/**
 * What a client signs for its secure-aggregation keys in a round: the federation, its id, the round
 * and both keys. Fresh keys every round, and the round in the message, mean a signature from an
 * earlier round vouches for nothing now.
 */
export function keySigningBytes(
  federation: string,
  clientId: string,
  round: number,
  encryptionKey: Uint8Array,
  maskKey: Uint8Array,
): Uint8Array {
  return utf8.encode(
    `edgefl-secagg-keys-v1\n${federation}\n${clientId}\n${round}\n${bytesToHex(encryptionKey)}\n${bytesToHex(maskKey)}`,
  );
}

/** The keys a client advertised, read from its advertise-keys message (the fit's secure upload). */
export function advertisedKeys(advertisement: Uint8Array): {
  from: number;
  encryptionKey: Uint8Array;
  maskKey: Uint8Array;
} {
  let m;
  try {
    m = decodeMessage(advertisement);
  } catch (e) {
    throw new ProtocolError(
      'bad-message',
      `a secure upload that is not a secure-aggregation message: ${(e as Error).message}`,
    );
  }
  if (m.type !== 'advertise-keys')
    throw new ProtocolError(
      'bad-message',
      `a secure upload must be an advertise-keys message, not '${m.type}'`,
    );
  return m;
}

export interface KeyAttestation {
  /** The neighbour's position among the round's participants. */
  id: number;
  identityKey: Uint8Array;
  signature: Uint8Array;
}

/** The key directory followed by its attestations (the `share-keys` stage payload). */
export function attachKeyAttestations(directory: Uint8Array, records: readonly KeyAttestation[]): Uint8Array {
  const out = new Uint8Array(directory.length + records.length * KEY_ATTESTATION_BYTES);
  out.set(directory);
  const view = new DataView(out.buffer);
  records.forEach((r, k) => {
    const at = directory.length + k * KEY_ATTESTATION_BYTES;
    view.setUint32(at, r.id, true);
    out.set(r.identityKey, at + 4);
    out.set(r.signature, at + 36);
  });
  return out;
}

export interface DirectoryCheck {
  /** The stage payload: the directory's `directoryBytes` bytes, then the attestations. */
  payload: Uint8Array;
  /** The stage header's `directoryBytes` (undefined: the server sent no attestations). */
  directoryBytes: number | undefined;
  federation: string;
  round: number;
  /** The round's participants, from the fit's instructions: protocol id -> client id. */
  participants: readonly string[];
  /** Identity keys the operator pinned (client id -> key): a neighbour's must match. */
  pinned?: ReadonlyMap<string, Uint8Array>;
}

/**
 * Checks a key directory against its attestations and returns the directory's bytes for the
 * secure-aggregation session; throws, naming the neighbour, on an unsigned directory, a missing or
 * invalid signature, or an identity key that differs from the pinned one.
 */
export function checkKeyDirectory(c: DirectoryCheck): Uint8Array {
  if (c.directoryBytes === undefined)
    throw new Error(
      'secure aggregation: the key directory came without signatures; refusing to share secrets with unauthenticated keys',
    );
  const rest = c.payload.length - c.directoryBytes;
  if (c.directoryBytes < 0 || rest < 0 || rest % KEY_ATTESTATION_BYTES !== 0)
    throw new Error(
      `secure aggregation: a key directory of ${c.directoryBytes} bytes does not leave whole attestations in a payload of ${c.payload.length}`,
    );
  const directoryBytes = c.payload.subarray(0, c.directoryBytes);
  const m = decodeMessage(directoryBytes);
  if (m.type !== 'key-directory')
    throw new Error(`secure aggregation: the share-keys stage carries '${m.type}', not a key directory`);
  const view = new DataView(c.payload.buffer, c.payload.byteOffset + c.directoryBytes, rest);
  const attested = new Map<number, { identityKey: Uint8Array; signature: Uint8Array }>();
  for (let at = 0; at < rest; at += KEY_ATTESTATION_BYTES) {
    const base = c.directoryBytes + at;
    attested.set(view.getUint32(at, true), {
      identityKey: c.payload.subarray(base + 4, base + 36),
      signature: c.payload.subarray(base + 36, base + KEY_ATTESTATION_BYTES),
    });
  }
  for (const peer of (m as KeyDirectoryMessage).peers) {
    const clientId = c.participants[peer.id];
    if (clientId === undefined)
      throw new Error(
        `secure aggregation: the key directory lists position ${peer.id}, not a participant of this round`,
      );
    const a = attested.get(peer.id);
    if (!a) throw new Error(`secure aggregation: the keys of '${clientId}' are not signed`);
    const pinned = c.pinned?.get(clientId);
    if (c.pinned && !pinned)
      throw new Error(
        `secure aggregation: '${clientId}' is not among the devices this client was told to trust`,
      );
    if (pinned && toBase64Url(pinned) !== toBase64Url(a.identityKey))
      throw new Error(
        `secure aggregation: the server vouches for '${clientId}' with identity key ${toBase64Url(a.identityKey)}, not the pinned ${toBase64Url(pinned)}`,
      );
    const signed = keySigningBytes(c.federation, clientId, c.round, peer.encryptionKey, peer.maskKey);
    if (!verifySignature(a.identityKey, signed, a.signature))
      throw new Error(`secure aggregation: the keys given for '${clientId}' are not the keys it signed`);
  }
  return directoryBytes;
}

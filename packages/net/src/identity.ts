/**
 * A device's identity in a federation: an Ed25519 key pair the device makes itself and keeps. Its
 * public key is registered once, with an operator's enrollment token; from then on every
 * connection proves possession of the private key by signing the server's fresh nonce, and every
 * upload is signed over (client, round, task, the payload's SHA-256), so that an update cannot be
 * replayed into another round or task, or attributed to another client.
 *
 * The bytes signed start with a domain string, so a signature made for one purpose is never valid
 * for another.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import type { Sha256 } from 'edgefl';

export interface DeviceIdentity {
  publicKey: Uint8Array;
  /** Signs bytes with the private key. */
  sign(message: Uint8Array): Uint8Array;
}

/** A new identity (the private key from the platform's secure random source). */
export function generateIdentity(): { identity: DeviceIdentity; secretKey: Uint8Array } {
  const secretKey = randomBytes(32);
  return { identity: identityFromSecretKey(secretKey), secretKey };
}

/** The identity of a stored 32-byte Ed25519 secret key. */
export function identityFromSecretKey(secretKey: Uint8Array): DeviceIdentity {
  if (secretKey.length !== 32) throw new Error(`an Ed25519 secret key is 32 bytes, got ${secretKey.length}`);
  const key = Uint8Array.from(secretKey);
  return {
    publicKey: ed25519.getPublicKey(key),
    sign: (message) => ed25519.sign(message, key),
  };
}

/**
 * Whether a public key is one a device may hold: a valid curve point that is not of small order. A
 * small-order key (the identity point, for one) verifies signatures anyone can make, so such a key
 * is never enrolled and never verifies anything. (A torsion component on a key of large order does
 * not let others forge; checking for it costs a full scalar multiplication, which a server
 * enrolling thousands of devices would pay for each.)
 */
export function isIdentityKey(publicKey: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(publicKey).isSmallOrder();
  } catch {
    return false;
  }
}

/** Checks an Ed25519 signature (false for malformed or small-order keys, malformed signatures; never a throw). */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isIdentityKey(publicKey)) return false;
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

const utf8 = new TextEncoder();

/** What a client signs to answer a connection's challenge. */
export function authChallengeBytes(nonce: Uint8Array, clientId: string): Uint8Array {
  return utf8.encode(`edgefl-auth-v1\n${clientId}\n${bytesToHex(nonce)}`);
}

/** SHA-256, as a platform provides it (the portable one by default; Node's is ~10x faster). */
export type { Sha256 };

/**
 * What a client signs to send an upload or a stage reply: bound to client, round, task and the
 * bytes (their SHA-256; pass the platform's hash for multi-megabyte payloads).
 */
export function updateSigningBytes(
  clientId: string,
  round: number,
  task: string,
  kind: string,
  payload: Uint8Array,
  hash: Sha256 = sha256,
): Uint8Array {
  return utf8.encode(
    `edgefl-update-v1\n${clientId}\n${round}\n${task}\n${kind}\n${bytesToHex(hash(payload))}`,
  );
}

/**
 * What an enrolled device signs to download a federation's private model over HTTP: its id and
 * the time (Unix seconds). The server accepts it within a few minutes of its own clock, so a
 * captured header stops working soon (and TLS keeps it from being captured in the first place).
 */
export function modelRequestBytes(clientId: string, unixSeconds: number): Uint8Array {
  return utf8.encode(`edgefl-model-v1\n${clientId}\n${unixSeconds}`);
}

/** The Authorization header value for GET /model.onnx of a private model. */
export function modelAuthorization(clientId: string, identity: DeviceIdentity, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `edgefl-device ${clientId} ${t} ${toBase64Url(identity.sign(modelRequestBytes(clientId, t)))}`;
}

/** A fresh random value for a challenge or a task id. */
export function randomNonce(bytes = 32): Uint8Array {
  return randomBytes(bytes);
}

export function randomHex(bytes = 16): string {
  return bytesToHex(randomBytes(bytes));
}

// base64url without padding: the protocol's encoding of keys, nonces and signatures in headers.
export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

/**
 * Authenticated encryption of the Shamir shares one client sends another through the server.
 * ChaCha20-Poly1305 (RFC 8439) with a random 96-bit nonce; the associated data binds the round id,
 * the sender and the receiver, so the server can neither read a box nor redirect it to another
 * client or round without the receiver noticing.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from './random.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const BOX_OVERHEAD = NONCE_BYTES + TAG_BYTES;

function associatedData(roundId: Uint8Array, sender: number, receiver: number): Uint8Array {
  const ad = new Uint8Array(roundId.length + 8);
  ad.set(roundId);
  const view = new DataView(ad.buffer);
  view.setUint32(roundId.length, sender);
  view.setUint32(roundId.length + 4, receiver);
  return ad;
}

export function sealShares(
  key: Uint8Array,
  roundId: Uint8Array,
  sender: number,
  receiver: number,
  plaintext: Uint8Array,
): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const sealed = chacha20poly1305(key, nonce, associatedData(roundId, sender, receiver)).encrypt(plaintext);
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_BYTES);
  return out;
}

/** Returns undefined when the box does not authenticate (tampered, wrong key, wrong ids or round). */
export function openShares(
  key: Uint8Array,
  roundId: Uint8Array,
  sender: number,
  receiver: number,
  box: Uint8Array,
): Uint8Array | undefined {
  if (box.length < BOX_OVERHEAD) return undefined;
  try {
    return chacha20poly1305(
      key,
      box.subarray(0, NONCE_BYTES),
      associatedData(roundId, sender, receiver),
    ).decrypt(box.subarray(NONCE_BYTES));
  } catch {
    return undefined;
  }
}

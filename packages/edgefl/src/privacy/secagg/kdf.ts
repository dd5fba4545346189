/**
 * Key derivation: every symmetric key of the protocol is HKDF-SHA256 (RFC 5869) of a secret, salted
 * with the public round id and labelled with its purpose and the ids it belongs to, so that no key is
 * ever used for two purposes, two pairs or two rounds.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

const LABEL_PREFIX = 'edgefl/secagg/v1/';
const encoder = new TextEncoder();

export type KeyPurpose = 'pairwise-mask' | 'self-mask' | 'share-box' | 'neighbour-graph';

/** The HKDF `info`: label bytes followed by each id as a big-endian 32-bit integer. */
function info(purpose: KeyPurpose, ids: readonly number[]): Uint8Array {
  const label = encoder.encode(LABEL_PREFIX + purpose);
  const out = new Uint8Array(label.length + 4 * ids.length);
  out.set(label);
  const view = new DataView(out.buffer);
  ids.forEach((id, i) => view.setUint32(label.length + 4 * i, id));
  return out;
}

export function deriveKey(
  purpose: KeyPurpose,
  secret: Uint8Array,
  roundId: Uint8Array,
  ids: readonly number[] = [],
) {
  return hkdf(sha256, secret, roundId, info(purpose, ids), 32);
}

/** Seed of the mask shared by clients a and b; symmetric in (a, b) so both ends derive the same. */
export function pairwiseMaskKey(
  sharedSecret: Uint8Array,
  roundId: Uint8Array,
  a: number,
  b: number,
): Uint8Array {
  return deriveKey('pairwise-mask', sharedSecret, roundId, a < b ? [a, b] : [b, a]);
}

/** PRG key of client `id`'s self-mask, from its secret seed b. */
export function selfMaskKey(seed: Uint8Array, roundId: Uint8Array, id: number): Uint8Array {
  return deriveKey('self-mask', seed, roundId, [id]);
}

/** Key of the box carrying shares from `sender` to `receiver`: directional, one message each way. */
export function shareBoxKey(sharedSecret: Uint8Array, roundId: Uint8Array, sender: number, receiver: number) {
  return deriveKey('share-box', sharedSecret, roundId, [sender, receiver]);
}

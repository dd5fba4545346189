/**
 * X25519 key agreement (RFC 7748). Portable implementation on @noble/curves; key-agreement-node.ts
 * has a faster one on node:crypto. Both take and return raw 32-byte keys, so they interoperate and a
 * secret key can be Shamir-shared and rebuilt by the server.
 */
import { x25519 } from '@noble/curves/ed25519.js';

export const X25519_KEY_BYTES = 32;

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface KeyAgreement {
  readonly implementation: string;
  generateKeyPair(): KeyPair;
  publicKeyOf(secretKey: Uint8Array): Uint8Array;
  /** The raw X25519 shared secret; throws on a low-order peer key (all-zero result). */
  agree(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;
}

export function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_BYTES) {
    throw new RangeError(`X25519: ${what} must be ${X25519_KEY_BYTES} bytes, got ${key?.length}`);
  }
}

export function checkSharedSecret(shared: Uint8Array): Uint8Array {
  let any = 0;
  for (const b of shared) any |= b;
  if (any === 0) throw new RangeError('X25519: peer public key is of low order (shared secret is all zeros)');
  return shared;
}

export function portableKeyAgreement(): KeyAgreement {
  return {
    implementation: '@noble/curves',
    generateKeyPair() {
      const secretKey = x25519.utils.randomSecretKey();
      return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
    },
    publicKeyOf(secretKey) {
      checkKey(secretKey, 'secret key');
      return x25519.getPublicKey(secretKey);
    },
    agree(secretKey, peerPublicKey) {
      checkKey(secretKey, 'secret key');
      checkKey(peerPublicKey, 'peer public key');
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(secretKey, peerPublicKey);
      } catch (e) {
        throw new RangeError(`X25519: key agreement failed: ${(e as Error).message}`);
      }
      return checkSharedSecret(shared);
    },
  };
}

/**
 * X25519 through node:crypto (OpenSSL), ~40x faster here than the pure-JS one. Node only.
 * Raw keys travel as JWK (base64url), the cheapest import path node offers for X25519.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { checkKey, checkSharedSecret, type KeyAgreement } from 'edgefl/internal/privacy/secagg/key-agreement';

const b64url = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
const fromB64url = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

// PKCS#8 header of an X25519 private key (RFC 8410); node imports a private JWK only with its
// public half, which the server rebuilding a dropped client's key does not compute cheaply.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function nodeKeyAgreement(): KeyAgreement {
  // Keys this instance generated keep their KeyObject, so agreeing never re-imports them.
  const privateObjects = new WeakMap<Uint8Array, KeyObject>();

  const privateObject = (secretKey: Uint8Array): KeyObject => {
    let key = privateObjects.get(secretKey);
    if (!key) {
      key = createPrivateKey({
        key: Buffer.concat([PKCS8_X25519_PREFIX, secretKey]),
        format: 'der',
        type: 'pkcs8',
      });
      privateObjects.set(secretKey, key);
    }
    return key;
  };

  return {
    implementation: 'node:crypto',
    generateKeyPair() {
      const { privateKey } = generateKeyPairSync('x25519');
      const jwk = privateKey.export({ format: 'jwk' });
      const secretKey = fromB64url(jwk.d as string);
      privateObjects.set(secretKey, privateKey);
      return { secretKey, publicKey: fromB64url(jwk.x as string) };
    },
    publicKeyOf(secretKey) {
      checkKey(secretKey, 'secret key');
      return fromB64url(privateObject(secretKey).export({ format: 'jwk' }).x as string);
    },
    agree(secretKey, peerPublicKey) {
      checkKey(secretKey, 'secret key');
      checkKey(peerPublicKey, 'peer public key');
      let shared: Buffer;
      try {
        const publicKey = createPublicKey({
          key: { kty: 'OKP', crv: 'X25519', x: b64url(peerPublicKey) },
          format: 'jwk',
        });
        shared = diffieHellman({ privateKey: privateObject(secretKey), publicKey });
      } catch (e) {
        throw new RangeError(`X25519: key agreement failed: ${(e as Error).message}`);
      }
      return checkSharedSecret(new Uint8Array(shared));
    },
  };
}

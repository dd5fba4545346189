import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import {
  authChallengeBytes,
  fromBase64Url,
  generateIdentity,
  identityFromSecretKey,
  randomHex,
  randomNonce,
  toBase64Url,
  updateSigningBytes,
  verifySignature,
} from './identity.js';

const utf8 = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

// Node's own Ed25519 (OpenSSL), as an independent reference for @noble/curves.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const nodePrivateKey = (secret: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, secret]), format: 'der', type: 'pkcs8' });
const nodePublicKey = (pub: Uint8Array) =>
  createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, pub]), format: 'der', type: 'spki' });
const nodeRawPublicKey = (secret: Uint8Array) =>
  new Uint8Array(
    createPublicKey(nodePrivateKey(secret)).export({ format: 'der', type: 'spki' }).subarray(12),
  );

test('RFC 8032 test vectors: the public key and signature of known secret keys', () => {
  const vectors = [
    {
      secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature:
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature:
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
  ];
  for (const v of vectors) {
    const id = identityFromSecretKey(fromHex(v.secret));
    assert.equal(hex(id.publicKey), v.publicKey);
    assert.equal(hex(id.sign(fromHex(v.message))), v.signature);
    assert.equal(verifySignature(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), true);
  }
});

test('generateIdentity makes a fresh 32-byte key whose identity signs and verifies', () => {
  const { identity, secretKey } = generateIdentity();
  const other = generateIdentity();
  assert.equal(secretKey.length, 32);
  assert.equal(identity.publicKey.length, 32);
  assert.notDeepEqual(secretKey, other.secretKey);
  assert.notDeepEqual(identity.publicKey, other.identity.publicKey);
  // The stored secret key gives back the same identity.
  assert.deepEqual(identityFromSecretKey(secretKey).publicKey, identity.publicKey);
  assert.deepEqual(nodeRawPublicKey(secretKey), identity.publicKey);
  const message = utf8.encode('hello');
  const signature = identity.sign(message);
  assert.equal(signature.length, 64);
  assert.equal(verifySignature(identity.publicKey, message, signature), true);
  assert.equal(verifySignature(other.identity.publicKey, message, signature), false);
  // Ed25519 is deterministic: the same message, the same signature, and Node's the same too.
  assert.deepEqual(identityFromSecretKey(secretKey).sign(message), signature);
  assert.deepEqual(new Uint8Array(sign(null, message, nodePrivateKey(secretKey))), signature);
});

test('signatures agree with Node crypto both ways, for messages of many lengths', () => {
  for (let i = 0; i < 20; i++) {
    const { identity, secretKey } = generateIdentity();
    const message = new Uint8Array(randomBytes(i * 37));
    const ours = identity.sign(message);
    assert.equal(verify(null, message, nodePublicKey(identity.publicKey), ours), true);
    const theirs = new Uint8Array(sign(null, message, nodePrivateKey(secretKey)));
    assert.equal(verifySignature(identity.publicKey, message, theirs), true);
  }
});

test('identityFromSecretKey refuses a key that is not 32 bytes and keeps its own copy', () => {
  for (const n of [0, 31, 33, 64])
    assert.throws(() => identityFromSecretKey(new Uint8Array(n)), {
      message: `an Ed25519 secret key is 32 bytes, got ${n}`,
    });
  const secret = new Uint8Array(randomBytes(32));
  const id = identityFromSecretKey(secret);
  secret.fill(0); // the caller wipes its buffer
  const m = utf8.encode('still mine');
  assert.equal(verifySignature(id.publicKey, m, id.sign(m)), true);
});

test('authChallengeBytes and updateSigningBytes are the documented strings', () => {
  const nonce = new Uint8Array(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(
    new TextDecoder().decode(authChallengeBytes(nonce, 'dev-1')),
    `edgefl-auth-v1\ndev-1\n${hex(nonce)}`,
  );
  const payload = utf8.encode('update bytes');
  const sha = createHash('sha256').update(payload).digest('hex');
  assert.equal(
    new TextDecoder().decode(updateSigningBytes('dev-1', 12, 'ab'.repeat(8), 'fit', payload)),
    `edgefl-update-v1\ndev-1\n12\n${'ab'.repeat(8)}\nfit\n${sha}`,
  );
  // The payload enters as its SHA-256: an empty payload still binds (the hash of nothing).
  assert.equal(
    new TextDecoder().decode(updateSigningBytes('c', 1, 't', 'mask', new Uint8Array(0))),
    'edgefl-update-v1\nc\n1\nt\nmask\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
});

test('an update signature is bound to client, round, task, kind and payload', () => {
  const { identity } = generateIdentity();
  const payload = new Uint8Array(randomBytes(1000));
  const base = { clientId: 'dev-1', round: 12, task: '0123456789abcdef', kind: 'fit', payload };
  const bytes = (o: typeof base) => updateSigningBytes(o.clientId, o.round, o.task, o.kind, o.payload);
  const signature = identity.sign(bytes(base));
  assert.equal(verifySignature(identity.publicKey, bytes(base), signature), true);
  const flipped = Uint8Array.from(payload);
  flipped[999] ^= 1;
  const variants: [string, typeof base][] = [
    ['another client', { ...base, clientId: 'dev-2' }],
    ['another round', { ...base, round: 13 }],
    ['another task', { ...base, task: '0123456789abcdee' }],
    ['another kind', { ...base, kind: 'mask' }],
    ['a payload with one bit flipped', { ...base, payload: flipped }],
    ['a shorter payload', { ...base, payload: payload.subarray(0, 999) }],
    ['an empty payload', { ...base, payload: new Uint8Array(0) }],
    // Moving a boundary between fields changes the bytes too.
    ['client/round boundary moved', { ...base, clientId: 'dev-11', round: 2 }],
    ['round/task boundary moved', { ...base, round: 1, task: '20123456789abcdef' }],
    ['task/kind boundary moved', { ...base, task: '0123456789abcde', kind: 'ffit' }],
  ];
  for (const [what, v] of variants) {
    assert.notDeepEqual(bytes(v), bytes(base), what);
    assert.equal(verifySignature(identity.publicKey, bytes(v), signature), false, what);
  }
  // A valid signature by another key for the same bytes does not pass as this client's.
  const other = generateIdentity().identity;
  assert.equal(verifySignature(identity.publicKey, bytes(base), other.sign(bytes(base))), false);
});

test('an auth challenge is bound to its nonce and client', () => {
  const { identity } = generateIdentity();
  const nonce = randomNonce();
  const signature = identity.sign(authChallengeBytes(nonce, 'dev-1'));
  assert.equal(verifySignature(identity.publicKey, authChallengeBytes(nonce, 'dev-1'), signature), true);
  assert.equal(verifySignature(identity.publicKey, authChallengeBytes(nonce, 'dev-2'), signature), false);
  const otherNonce = Uint8Array.from(nonce);
  otherNonce[0] ^= 0x80;
  assert.equal(
    verifySignature(identity.publicKey, authChallengeBytes(otherNonce, 'dev-1'), signature),
    false,
  );
});

test('domain separation: an auth signature is never an update signature, nor the other way round', () => {
  const { identity } = generateIdentity();
  const nonce = randomNonce();
  const payload = new Uint8Array(0);
  const auth = authChallengeBytes(nonce, 'dev-1');
  const update = updateSigningBytes('dev-1', 1, hex(nonce), 'fit', payload);
  assert.equal(new TextDecoder().decode(auth).split('\n')[0], 'edgefl-auth-v1');
  assert.equal(new TextDecoder().decode(update).split('\n')[0], 'edgefl-update-v1');
  const authSignature = identity.sign(auth);
  const updateSignature = identity.sign(update);
  assert.equal(verifySignature(identity.publicKey, update, authSignature), false);
  assert.equal(verifySignature(identity.publicKey, auth, updateSignature), false);
  // Even a "client id" crafted to look like the rest of an update message cannot make them coincide.
  const crafted = `dev-1\n1\n${hex(nonce)}\nfit`;
  assert.ok(!new TextDecoder().decode(authChallengeBytes(nonce, crafted)).startsWith('edgefl-update-v1'));
});

test('malformed keys and signatures make verifySignature return false, never throw', () => {
  const { identity } = generateIdentity();
  const m = utf8.encode('m');
  const s = identity.sign(m);
  const cases: [string, Uint8Array, Uint8Array][] = [
    ['empty key', new Uint8Array(0), s],
    ['31-byte key', identity.publicKey.subarray(1), s],
    ['33-byte key', Uint8Array.from([...identity.publicKey, 0]), s],
    ['64-byte key', Uint8Array.from([...identity.publicKey, ...identity.publicKey]), s],
    ['key not on the curve', fromHex('02' + '00'.repeat(31)), s],
    ['key of all 0xff', new Uint8Array(32).fill(0xff), s],
    ['empty signature', identity.publicKey, new Uint8Array(0)],
    ['63-byte signature', identity.publicKey, s.subarray(1)],
    ['65-byte signature', identity.publicKey, Uint8Array.from([...s, 0])],
    ['signature of zeros', identity.publicKey, new Uint8Array(64)],
    ['signature of all 0xff (S >= L)', identity.publicKey, new Uint8Array(64).fill(0xff)],
    // S + L: the same signature made non-canonical, which must not verify (malleability).
    ['non-canonical S', identity.publicKey, withSPlusL(s)],
  ];
  for (const [what, key, sig] of cases) {
    let result: boolean | undefined;
    assert.doesNotThrow(() => (result = verifySignature(key, m, sig)), what);
    assert.equal(result, false, what);
  }
  // Flipping any single bit of a good signature breaks it.
  for (let bit = 0; bit < 512; bit += 7) {
    const bad = Uint8Array.from(s);
    bad[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(verifySignature(identity.publicKey, m, bad), false, `bit ${bit}`);
  }
});

/** A signature whose scalar half is S + L (the group order): same value mod L, different bytes. */
function withSPlusL(signature: Uint8Array): Uint8Array {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let S = 0n;
  for (let i = 31; i >= 0; i--) S = (S << 8n) | BigInt(signature[32 + i]);
  S += L;
  const out = Uint8Array.from(signature);
  for (let i = 0; i < 32; i++) {
    out[32 + i] = Number(S & 0xffn);
    S >>= 8n;
  }
  return out;
}

test('a small-order public key does not verify arbitrary messages', () => {
  // The identity point's encoding (y = 1), and the signature R = identity, S = 0.
  const identityPoint = new Uint8Array(32);
  identityPoint[0] = 1;
  const forged = new Uint8Array(64);
  forged[0] = 1;
  for (const text of ['any message', 'another one'])
    assert.equal(verifySignature(identityPoint, utf8.encode(text), forged), false, text);
});

test('toBase64Url matches Node Buffer base64url for random bytes of many lengths, and round-trips', () => {
  const lengths = [...Array.from({ length: 70 }, (_, i) => i), 127, 128, 129, 255, 256, 1000, 4095, 65_537];
  for (const n of lengths) {
    const bytes = new Uint8Array(randomBytes(n));
    const reference = Buffer.from(bytes).toString('base64url');
    const ours = toBase64Url(bytes);
    assert.equal(ours, reference, `length ${n}`);
    assert.match(ours, /^[A-Za-z0-9_-]*$/, `length ${n}: no padding, no + or /`);
    assert.deepEqual(fromBase64Url(reference), bytes, `length ${n}`);
    assert.deepEqual(fromBase64Url(ours), bytes, `length ${n}`);
  }
  // Every byte value, and the characters that differ from standard base64.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(toBase64Url(all), Buffer.from(all).toString('base64url'));
  assert.equal(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf])), '-_-_');
  assert.deepEqual([...fromBase64Url('-_-_')], [0xfb, 0xff, 0xbf]);
  // A subarray encodes only its own bytes.
  assert.equal(toBase64Url(all.subarray(10, 13)), Buffer.from([10, 11, 12]).toString('base64url'));
});

test('randomNonce and randomHex give fresh values of the asked size', () => {
  assert.equal(randomNonce().length, 32);
  assert.equal(randomNonce(16).length, 16);
  assert.notDeepEqual(randomNonce(), randomNonce());
  assert.match(randomHex(), /^[0-9a-f]{32}$/);
  assert.match(randomHex(8), /^[0-9a-f]{16}$/);
  assert.notEqual(randomHex(), randomHex());
});

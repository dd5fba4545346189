import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage } from 'edgefl/internal/privacy/secagg/codec';
import { generateIdentity, toBase64Url, type DeviceIdentity } from './identity.js';
import { connectClient } from './client.js';
import {
  KEY_ATTESTATION_BYTES,
  advertisedKeys,
  attachKeyAttestations,
  checkKeyDirectory,
  keySigningBytes,
  type KeyAttestation,
} from './secagg-keys.js';

const FEDERATION = 'clinic-trial';
const ROUND = 7;
const participants = ['alice', 'bob', 'carol'];

function randomKey(seed: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

/** Three devices, each with an identity and this round's two advertised keys. */
const devices = participants.map((id, k) => ({
  id,
  identity: generateIdentity().identity as DeviceIdentity,
  encryptionKey: randomKey(2 * k + 1),
  maskKey: randomKey(2 * k + 2),
}));

function signed(k: number, round = ROUND, federation = FEDERATION): KeyAttestation {
  const d = devices[k];
  return {
    id: k,
    identityKey: d.identity.publicKey,
    signature: d.identity.sign(keySigningBytes(federation, d.id, round, d.encryptionKey, d.maskKey)),
  };
}

/** Alice's directory (her neighbours bob and carol), with the given attestations. */
function directoryFor(records: KeyAttestation[], peers = [1, 2]) {
  const directory = encodeMessage({
    type: 'key-directory',
    to: 0,
    peers: peers.map((k) => ({
      id: k,
      encryptionKey: devices[k].encryptionKey,
      maskKey: devices[k].maskKey,
    })),
  });
  return { payload: attachKeyAttestations(directory, records), directoryBytes: directory.length, directory };
}

const check = (
  d: ReturnType<typeof directoryFor>,
  extra: Partial<Parameters<typeof checkKeyDirectory>[0]> = {},
) =>
  checkKeyDirectory({
    payload: d.payload,
    directoryBytes: d.directoryBytes,
    federation: FEDERATION,
    round: ROUND,
    participants,
    ...extra,
  });

test('a directory whose every key is signed by its owner passes, and the session gets the directory alone', () => {
  const d = directoryFor([signed(1), signed(2)]);
  assert.equal(d.payload.length, d.directoryBytes + 2 * KEY_ATTESTATION_BYTES);
  assert.deepEqual(check(d), d.directory);
  // With the devices pinned by the operator, the same directory passes too.
  const pinned = new Map(devices.map((x) => [x.id, x.identity.publicKey]));
  assert.deepEqual(check(d, { pinned }), d.directory);
});

test('an unsigned directory, a neighbour without a signature, or a signature over other keys is refused, naming the neighbour', () => {
  const d = directoryFor([signed(1), signed(2)]);
  assert.throws(() => check(d, { directoryBytes: undefined }), /came without signatures/);
  assert.throws(() => check(directoryFor([signed(1)])), /the keys of 'carol' are not signed/);
  // The server swaps carol's mask key for one of its own, keeping carol's signature.
  const swapped = encodeMessage({
    type: 'key-directory',
    to: 0,
    peers: [
      { id: 1, encryptionKey: devices[1].encryptionKey, maskKey: devices[1].maskKey },
      { id: 2, encryptionKey: devices[2].encryptionKey, maskKey: randomKey(99) },
    ],
  });
  assert.throws(
    () =>
      check({
        payload: attachKeyAttestations(swapped, [signed(1), signed(2)]),
        directoryBytes: swapped.length,
        directory: swapped,
      }),
    /the keys given for 'carol' are not the keys it signed/,
  );
  // A signature from another round or another federation vouches for nothing now.
  assert.throws(
    () => check(directoryFor([signed(1), signed(2, ROUND - 1)])),
    /'carol' are not the keys it signed/,
  );
  assert.throws(
    () => check(directoryFor([signed(1, ROUND, 'other-federation'), signed(2)])),
    /'bob' are not the keys it signed/,
  );
});

test('with pinned identity keys, a neighbour vouched for with another key, or one not pinned at all, is refused', () => {
  // The server enrolled an impostor as 'carol' and signs carol's slot with the impostor's key.
  const impostor = generateIdentity().identity;
  const c = devices[2];
  const forged: KeyAttestation = {
    id: 2,
    identityKey: impostor.publicKey,
    signature: impostor.sign(keySigningBytes(FEDERATION, c.id, ROUND, c.encryptionKey, c.maskKey)),
  };
  const d = directoryFor([signed(1), forged]);
  // Without pins the impostor's signature is valid: the server's enrollment is what is trusted.
  assert.deepEqual(check(d), d.directory);
  const pinned = new Map(devices.map((x) => [x.id, x.identity.publicKey]));
  assert.throws(
    () => check(d, { pinned }),
    new RegExp(`'carol' with identity key ${toBase64Url(impostor.publicKey)}, not the pinned`),
  );
  const withoutCarol = new Map([...pinned].filter(([id]) => id !== 'carol'));
  assert.throws(
    () => check(directoryFor([signed(1), signed(2)]), { pinned: withoutCarol }),
    /'carol' is not among the devices this client was told to trust/,
  );
});

test('malformed attestations and directories are refused with the reason', () => {
  const d = directoryFor([signed(1), signed(2)]);
  assert.throws(
    () => check({ ...d, payload: d.payload.subarray(0, -1) }),
    /does not leave whole attestations/,
  );
  assert.throws(
    () => check({ ...d, directoryBytes: d.payload.length + 1 }),
    /does not leave whole attestations/,
  );
  // A position outside the round's participants.
  assert.throws(() => check(d, { participants: ['alice', 'bob'] }), /lists position 2, not a participant/);
  // An advertise-keys message where the directory should be.
  const advert = encodeMessage({
    type: 'advertise-keys',
    from: 1,
    encryptionKey: randomKey(1),
    maskKey: randomKey(2),
  });
  assert.throws(
    () => check({ payload: advert, directoryBytes: advert.length, directory: advert }),
    /carries 'advertise-keys', not a key directory/,
  );
  assert.deepEqual(advertisedKeys(advert).maskKey, randomKey(2));
  assert.throws(() => advertisedKeys(d.directory), /must be an advertise-keys message/);
});

test('connectClient refuses a trustedPeers entry that is not an identity key, before connecting', () => {
  let opened = false;
  assert.throws(
    () =>
      connectClient({
        url: 'ws://127.0.0.1:1/federation',
        clientId: 'alice',
        identity: devices[0].identity,
        data: undefined as never,
        runtime: undefined as never,
        trustedPeers: { bob: toBase64Url(devices[1].identity.publicKey), carol: 'not-a-key' },
        webSocket: () => {
          opened = true;
          throw new Error('no network in this test');
        },
      }),
    /trustedPeers\['carol'\] is not a base64url Ed25519 public key/,
  );
  assert.equal(opened, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateMaskedVector, decodeMessage, encodeMessage } from './codec.js';
import { SecAggError } from './errors.js';
import type { SecAggMessage } from './messages.js';

const key = (v: number) => new Uint8Array(32).fill(v);

const samples: SecAggMessage[] = [
  { type: 'advertise-keys', from: 7, encryptionKey: key(1), maskKey: key(2) },
  {
    type: 'key-directory',
    to: 3,
    peers: [
      { id: 1, encryptionKey: key(3), maskKey: key(4) },
      { id: 4294967295, encryptionKey: key(5), maskKey: key(6) },
    ],
  },
  {
    type: 'share-keys',
    from: 2,
    boxes: [
      { to: 5, box: Uint8Array.of(1, 2, 3) },
      { to: 9, box: new Uint8Array(116) },
    ],
  },
  { type: 'forwarded-shares', to: 5, boxes: [{ from: 2, box: Uint8Array.of(9, 8) }] },
  { type: 'masked-input', from: 4, masked: Uint32Array.of(0, 1, 0xffffffff, 123456789) },
  { type: 'unmask-request', to: 1, survivors: [1, 2, 3], selfMaskSharesOf: [1, 2], keySharesOf: [4] },
  {
    type: 'unmask-response',
    from: 1,
    selfMaskShares: [{ of: 2, share: Uint32Array.of(1, 2, 3) }],
    keyShares: [{ of: 4, share: Uint32Array.of(67108858) }],
  },
];

test('every message type round-trips through the binary codec', () => {
  for (const m of samples) {
    const decoded = decodeMessage(encodeMessage(m));
    assert.deepEqual(decoded, m, m.type);
  }
});

test('a masked vector built with header room is encoded without copying it', () => {
  const masked = allocateMaskedVector(1000);
  masked.fill(0xdeadbeef);
  const bytes = encodeMessage({ type: 'masked-input', from: 3, masked });
  assert.equal(bytes.buffer, masked.buffer, 'encoding reuses the vector memory');
  assert.equal(bytes.length, 12 + 4000);
  const decoded = decodeMessage(bytes);
  assert.equal(decoded.type, 'masked-input');
  if (decoded.type === 'masked-input') {
    assert.equal(decoded.from, 3);
    assert.deepEqual(decoded.masked, masked);
  }
  // An ordinary Uint32Array is copied into a fresh buffer instead.
  const plain = Uint32Array.of(5, 6);
  assert.notEqual(encodeMessage({ type: 'masked-input', from: 1, masked: plain }).buffer, plain.buffer);
});

test('malformed bytes are refused with a bad-message error that says what is wrong', () => {
  const good = encodeMessage(samples[1]);
  const expectBad = (bytes: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => decodeMessage(bytes),
      (e: unknown) => e instanceof SecAggError && e.code === 'bad-message' && pattern.test(e.message),
    );
  expectBad(good.subarray(0, good.length - 3), /truncated/);
  expectBad(Uint8Array.of(...good, 0), /1 unexpected trailing bytes/);
  expectBad(Uint8Array.of(0, 0, 1, 1), /bad magic/);
  expectBad(Uint8Array.of(0x53, 0x41, 9, 1), /unsupported message version 9/);
  expectBad(Uint8Array.of(0x53, 0x41, 1, 42), /unknown message type tag 42/);
  // A count claiming billions of entries is rejected before any allocation.
  const huge = Uint8Array.of(0x53, 0x41, 1, 2, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f);
  expectBad(huge, /peers count 2147483647 exceeds the message size/);
});

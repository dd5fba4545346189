import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { float16Codec } from './float16.js';
import { float32Codec } from './float32.js';
import { halfToNumber } from './half.js';

test('float32 is lossless, NaN and infinities included, at 4 bytes a value + 8', () => {
  const codec = float32Codec();
  const delta = new Float32Array([1.5, -0, NaN, Infinity, 3.4e38, 1e-45, -7]);
  const { bytes, bytesSent, compression, state } = codec.encode(delta);
  assert.equal(bytesSent, 8 + 4 * 7);
  assert.equal(bytes.length, bytesSent);
  assert.equal(codec.maxEncodedBytes(7), bytesSent);
  assert.ok(Math.abs(compression - 28 / 36) < 1e-12);
  assert.equal(state, undefined);
  const back = codec.decode(bytes, 7);
  assert.deepEqual(Array.from(back), Array.from(delta)); // deepEqual treats NaN as equal and -0 as -0
  assert.ok(Object.is(back[1], -0));
});

test('float32 decodes bytes at an odd offset (a slice of a larger message) and into a given buffer', () => {
  const codec = float32Codec();
  const delta = Float32Array.from({ length: 100 }, (_, i) => i / 7);
  const { bytes } = codec.encode(delta);
  const message = new Uint8Array(bytes.length + 3);
  message.set(bytes, 3);
  const out = new Float32Array(100);
  assert.equal(codec.decode(message.subarray(3), 100, out), out);
  assert.deepEqual(out, delta);
});

test('float16 round trip: exact on representable values, within half an ulp otherwise', () => {
  const codec = float16Codec();
  const representable = new Float32Array([
    0,
    -0,
    1,
    -2,
    0.5,
    65504,
    -65504,
    2 ** -14,
    2 ** -24,
    1365 * 2 ** -12,
  ]);
  assert.deepEqual(codec.decode(codec.encode(representable).bytes, representable.length), representable);

  const rng = new Rng(3);
  const delta = Float32Array.from({ length: 10000 }, () => rng.normal() * 0.01);
  const { bytes, compression } = codec.encode(delta);
  assert.equal(bytes.length, 8 + 2 * 10000);
  assert.ok(compression > 1.99);
  const back = codec.decode(bytes, delta.length);
  for (let i = 0; i < delta.length; i++) {
    const x = delta[i];
    const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
    assert.ok(Math.abs(back[i] - x) <= 2 ** (e - 11), `x = ${x}, decoded ${back[i]}`);
  }
});

test('float16 clamps finite values beyond the half range to ±65504; Inf and NaN pass through', () => {
  const codec = float16Codec();
  const delta = new Float32Array([1e5, -3e38, 65520, Infinity, -Infinity, NaN]);
  const back = codec.decode(codec.encode(delta).bytes, delta.length);
  assert.deepEqual(Array.from(back), [65504, -65504, 65504, Infinity, -Infinity, NaN]);
});

test('float16 decodes every bit pattern the way halfToNumber does, from an odd offset too', () => {
  const codec = float16Codec();
  const bytes = new Uint8Array(1 + 8 + 2 * 65536);
  bytes.set([0x45, 0x55, 2, 1, 0, 0, 1, 0], 1); // header: codec float16, version 1, 65536 values
  for (let h = 0; h < 65536; h++) {
    bytes[1 + 8 + 2 * h] = h & 0xff;
    bytes[1 + 8 + 2 * h + 1] = h >>> 8;
  }
  const out = codec.decode(bytes.subarray(1), 65536);
  for (let h = 0; h < 65536; h++)
    assert.ok(Object.is(out[h], Math.fround(halfToNumber(h))), `0x${h.toString(16)}`);
});

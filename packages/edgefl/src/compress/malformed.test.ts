import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { CodecError, type UpdateCodec } from './codec.js';
import { float16Codec } from './float16.js';
import { float32Codec } from './float32.js';
import { qsgd8Codec } from './qsgd8.js';
import { topKCodec } from './topk.js';

const codecs: [string, UpdateCodec][] = [
  ['float32', float32Codec()],
  ['float16', float16Codec()],
  ['qsgd8', qsgd8Codec({ blockSize: 16 })],
  ['topk', topKCodec({ fraction: 0.25 })],
];
const delta = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));

function encode(codec: UpdateCodec): Uint8Array {
  return codec.encode(delta, { rng: new Rng(1) }).bytes;
}

function refuses(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CodecError && message.test(e.message));
}

for (const [family, codec] of codecs) {
  test(`${family}: refuses a truncated header, foreign bytes, another version`, () => {
    const bytes = encode(codec);
    refuses(
      () => codec.decode(bytes.subarray(0, 5), 40),
      new RegExp(`^${family}: 5 bytes is shorter than the 8-byte header`),
    );
    refuses(
      () => codec.decode(new TextEncoder().encode('{"not": "an update"}'), 40),
      /not an edgefl update \(bad magic bytes\)/,
    );
    const future = bytes.slice();
    future[3] = 2;
    refuses(() => codec.decode(future, 40), /format version 2 is not supported \(expected 1\)/);
  });

  test(`${family}: refuses another codec's bytes and an update of another length`, () => {
    for (const [otherFamily, other] of codecs)
      if (otherFamily !== family)
        refuses(
          () => codec.decode(encode(other), 40),
          new RegExp(`encoded by ${otherFamily}, not ${family}`),
        );
    const unknown = encode(codec).slice();
    unknown[2] = 99;
    refuses(() => codec.decode(unknown, 40), /encoded by an unknown codec \(id 99\)/);
    refuses(() => codec.decode(encode(codec), 41), /the update holds 40 values, expected 41/);
    assert.throws(
      () => codec.decode(encode(codec), 40, new Float32Array(39)),
      /output buffer holds 39 values, expected 40/,
    );
  });

  test(`${family}: refuses a truncated payload and trailing bytes`, () => {
    const bytes = encode(codec);
    for (const cut of [1, 4, 9])
      assert.throws(() => codec.decode(bytes.subarray(0, bytes.length - cut), 40), CodecError);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.throws(() => codec.decode(longer, 40), CodecError);
    assert.ok(bytes.length <= codec.maxEncodedBytes(40));
  });
}

test('error messages name the problem precisely for fixed-size payloads', () => {
  const codec = float16Codec();
  const bytes = codec.encode(delta).bytes;
  refuses(
    () => codec.decode(bytes.subarray(0, bytes.length - 2), 40),
    /float16: 86 bytes, expected 88 for 40 float16 values \(truncated\)/,
  );
  const longer = new Uint8Array(bytes.length + 2);
  longer.set(bytes);
  refuses(() => codec.decode(longer, 40), /90 bytes, expected 88 .*\(trailing bytes\)/);
});

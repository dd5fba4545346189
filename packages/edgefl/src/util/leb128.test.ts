import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signedLeb128, unsignedLeb128, writeSignedLeb128, writeUnsignedLeb128 } from './leb128.js';
import { Rng } from './rng.js';

/** Reference decoder, in BigInt so that no 32-bit operator can hide an encoding error. */
function decode(bytes: readonly number[], signed: boolean): bigint {
  let value = 0n;
  let shift = 0n;
  for (const [i, b] of bytes.entries()) {
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) {
      assert.equal(i, bytes.length - 1, 'the last byte, and only it, has the high bit clear');
      return signed && (b & 0x40) !== 0 ? value - (1n << shift) : value;
    }
  }
  throw new Error('unterminated');
}

test('LEB128 of known values (the WebAssembly and DWARF specifications give these)', () => {
  assert.deepEqual(unsignedLeb128(0), [0x00]);
  assert.deepEqual(unsignedLeb128(127), [0x7f]);
  assert.deepEqual(unsignedLeb128(128), [0x80, 0x01]);
  assert.deepEqual(unsignedLeb128(624_485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(unsignedLeb128(2 ** 32 - 1), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(signedLeb128(0), [0x00]);
  assert.deepEqual(signedLeb128(-1), [0x7f]);
  assert.deepEqual(signedLeb128(63), [0x3f]);
  assert.deepEqual(signedLeb128(64), [0xc0, 0x00], 'a lone 0x40 would read as -64');
  assert.deepEqual(signedLeb128(-64), [0x40]);
  assert.deepEqual(signedLeb128(-65), [0xbf, 0x7f]);
  assert.deepEqual(signedLeb128(-123_456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(signedLeb128(2 ** 31 - 1), [0xff, 0xff, 0xff, 0xff, 0x07]);
  assert.deepEqual(signedLeb128(-(2 ** 31)), [0x80, 0x80, 0x80, 0x80, 0x78]);
});

test('LEB128 decodes back to every value, in the fewest bytes', () => {
  const rng = new Rng(2);
  for (let k = 0; k < 2000; k++) {
    const bits = rng.int(33);
    const u = Math.floor(rng.uniform() * 2 ** bits);
    const bytes = unsignedLeb128(u);
    assert.equal(decode(bytes, false), BigInt(u));
    assert.equal(bytes.length, Math.max(1, Math.ceil(u.toString(2).length / 7)), `${u}`);
    const s = Math.floor((rng.uniform() - 0.5) * 2 ** bits); // in [-2^31, 2^31)
    assert.equal(decode(signedLeb128(s), true), BigInt(s), `${s}`);
  }
});

test('LEB128 writes at an offset into a Uint8Array and returns the offset after it', () => {
  const bytes = new Uint8Array(8).fill(0xaa);
  assert.equal(writeUnsignedLeb128(bytes, 1, 300), 3);
  assert.equal(writeSignedLeb128(bytes, 3, -300), 5);
  assert.deepEqual([...bytes], [0xaa, 0xac, 0x02, 0xd4, 0x7d, 0xaa, 0xaa, 0xaa]);
});

test('LEB128 refuses values outside its range rather than encode something else', () => {
  for (const v of [-1, 2 ** 32, 1.5, NaN, Infinity])
    assert.throws(
      () => unsignedLeb128(v),
      new RegExp(`unsigned LEB128: ${v} is not an integer in \\[0, 2\\^32\\)`),
    );
  for (const v of [2 ** 31, -(2 ** 31) - 1, 0.5, NaN])
    assert.throws(() => signedLeb128(v), new RegExp(`signed LEB128: ${v} is not an integer`));
});

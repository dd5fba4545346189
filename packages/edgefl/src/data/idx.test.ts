import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeIdx, isGzip, parseIdx } from './idx.js';

// Files written byte by byte from the format's definition, independently of encodeIdx.
const header = (type: number, dims: number[]) => [
  0,
  0,
  type,
  dims.length,
  ...dims.flatMap((d) => [(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255]),
];

test('parseIdx reads uint8 dims and values, as a view without copying', () => {
  const bytes = new Uint8Array([...header(0x08, [2, 3]), 0, 1, 2, 253, 254, 255]);
  const t = parseIdx(bytes);
  assert.deepEqual(t.dims, [2, 3]);
  assert.equal(t.type, 'uint8');
  assert.ok(t.data instanceof Uint8Array);
  assert.deepEqual([...t.data], [0, 1, 2, 253, 254, 255]);
  bytes[bytes.length - 1] = 7;
  assert.equal(t.data[5], 7, 'uint8 data is a view of the input');
});

test('parseIdx converts every wider type from big-endian', () => {
  const int8 = parseIdx(new Uint8Array([...header(0x09, [3]), 0xff, 0x80, 0x7f]));
  assert.ok(int8.data instanceof Int8Array);
  assert.deepEqual([...int8.data], [-1, -128, 127]);

  const int16 = parseIdx(new Uint8Array([...header(0x0b, [2]), 0xff, 0xfe, 0x01, 0x02]));
  assert.ok(int16.data instanceof Int16Array);
  assert.deepEqual([...int16.data], [-2, 258]);

  const int32 = parseIdx(
    new Uint8Array([...header(0x0c, [2]), 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04]),
  );
  assert.ok(int32.data instanceof Int32Array);
  assert.deepEqual([...int32.data], [-1, 0x01020304]);

  // 1.5 = 0x3fc00000 and -0.25 = 0xbe800000 in IEEE 754 single precision.
  const f32 = parseIdx(new Uint8Array([...header(0x0d, [1, 2]), 0x3f, 0xc0, 0, 0, 0xbe, 0x80, 0, 0]));
  assert.ok(f32.data instanceof Float32Array);
  assert.deepEqual(f32.dims, [1, 2]);
  assert.deepEqual([...f32.data], [1.5, -0.25]);

  // -2 = 0xc000000000000000 in double precision.
  const f64 = parseIdx(new Uint8Array([...header(0x0e, [1]), 0xc0, 0, 0, 0, 0, 0, 0, 0]));
  assert.ok(f64.data instanceof Float64Array);
  assert.deepEqual([...f64.data], [-2]);
});

test('parseIdx honours the byte offset of a view into a larger buffer, even an odd one', () => {
  const file = [...header(0x0b, [2]), 0x00, 0x05, 0x80, 0x00];
  const padded = new Uint8Array([9, 9, 9, ...file, 9]);
  const t = parseIdx(padded.subarray(3, 3 + file.length));
  assert.deepEqual([...t.data], [5, -32768]);
  const i8 = parseIdx(new Uint8Array([1, ...header(0x09, [1]), 0xfe]).subarray(1));
  assert.deepEqual([...i8.data], [-2]);
});

test('parseIdx reads the first MNIST-like header exactly', () => {
  // 0x00000803 then 3 x 4 bytes: the magic of train-images-idx3-ubyte with 0 images of 28x28.
  const t = parseIdx(new Uint8Array(header(0x08, [0, 28, 28])));
  assert.deepEqual(t.dims, [0, 28, 28]);
  assert.equal(t.data.length, 0);
});

test('parseIdx refuses bad files with errors that name the problem', () => {
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0])),
    /truncated: 2 bytes is shorter than the 4-byte magic/,
  );
  assert.throws(
    () => parseIdx(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), 'x.idx'),
    /x\.idx: wrong magic: .*got 0x50 0x4b/,
  );
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 0])), /unknown IDX type code 0x0a/);
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1])),
    /declares 3 dimensions \(16 bytes\)/,
  );
  assert.throws(
    () => parseIdx(new Uint8Array([...header(0x0c, [2, 2]), 1, 2, 3, 4, 5])),
    /truncated: dims \[2,2\] of int32 need 16 bytes of data, got 5/,
  );
  assert.throws(
    () => parseIdx(new Uint8Array([...header(0x08, [2]), 1, 2, 3])),
    /need 2 bytes of data, but 1 bytes follow them; the dims do not match/,
  );
  assert.throws(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0])), /gzip-compressed; decompress it first/);
});

test('isGzip looks only at the two magic bytes', () => {
  assert.equal(isGzip(new Uint8Array([0x1f, 0x8b])), true);
  assert.equal(isGzip(new Uint8Array([0x1f])), false);
  assert.equal(isGzip(new Uint8Array([0, 0, 8, 1])), false);
});

test('encodeIdx writes the bytes of the format and round-trips every type', () => {
  assert.deepEqual(
    [...encodeIdx({ dims: [2], type: 'int16', data: new Int16Array([-2, 258]) })],
    [...header(0x0b, [2]), 0xff, 0xfe, 0x01, 0x02],
  );
  const cases = [
    { type: 'uint8', data: new Uint8Array([0, 128, 255, 1, 2, 3]) },
    { type: 'int8', data: new Int8Array([-128, 0, 127, 1, 2, 3]) },
    { type: 'int16', data: new Int16Array([-32768, 32767, 0, 1, -1, 9]) },
    { type: 'int32', data: new Int32Array([-2147483648, 2147483647, 0, 1, -1, 9]) },
    { type: 'float32', data: new Float32Array([0.1, -1e30, 3.5, 0, -0, 1]) },
    { type: 'float64', data: new Float64Array([0.1, -1e300, Math.PI, 0, 2, 1]) },
  ] as const;
  for (const c of cases) {
    const back = parseIdx(encodeIdx({ dims: [3, 2], type: c.type, data: c.data }));
    assert.deepEqual(back.dims, [3, 2]);
    assert.equal(back.type, c.type);
    assert.deepEqual([...back.data], [...c.data], c.type);
  }
});

test('encodeIdx refuses values the type cannot hold and data that does not fill the dims', () => {
  assert.throws(
    () => encodeIdx({ dims: [2], type: 'uint8', data: new Int32Array([1, 256]) }),
    /value 1 is 256, not a uint8/,
  );
  assert.throws(
    () => encodeIdx({ dims: [2], type: 'int8', data: new Float32Array([0.5, 0]) }),
    /value 0 is 0.5, not a int8/,
  );
  assert.throws(
    () => encodeIdx({ dims: [2, 2], type: 'uint8', data: new Uint8Array(3) }),
    /hold 4 values, but data has 3/,
  );
});

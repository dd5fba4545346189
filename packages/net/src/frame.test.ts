import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Assembler,
  MAX_HEADER_BYTES,
  ProtocolError,
  decodeFrame,
  encodeFrame,
  float32View,
  float32Bytes,
  float32Values,
  frameMessage,
  type Frame,
  type ProtocolErrorCode,
} from './frame.js';

/** Asserts that `fn` throws a ProtocolError with this code and exactly this message (or matching it). */
function refused(fn: () => unknown, code: ProtocolErrorCode, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${String(e)}`);
    assert.equal(e.name, 'ProtocolError');
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

/** Deterministic, non-repeating-looking bytes (so a misplaced chunk cannot go unnoticed). */
function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A frame's bytes from a raw header text (which need not be JSON) and a payload. */
function rawFrame(headerText: string | Uint8Array, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = typeof headerText === 'string' ? new TextEncoder().encode(headerText) : headerText;
  const out = new Uint8Array(4 + h.length + payload.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  out.set(payload, 4 + h.length);
  return out;
}

function u32le(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

const frame = (header: Record<string, unknown>, payload: Uint8Array = new Uint8Array(0)): Frame => ({
  header,
  payload,
});

// ---- encodeFrame / decodeFrame ---------------------------------------------------------------

test('a frame with an empty payload is exactly [u32 LE header length][JSON header] and round-trips', () => {
  const bytes = encodeFrame({ type: 'evaluate', round: 2 });
  const json = '{"type":"evaluate","round":2}';
  // The header is padded with spaces to a multiple of 4 bytes (29 -> 32).
  const padded = `${json}   `;
  assert.equal(bytes.length, 4 + padded.length);
  assert.deepEqual([...bytes.subarray(0, 4)], [padded.length, 0, 0, 0]);
  assert.equal(new TextDecoder().decode(bytes.subarray(4)), padded);
  const back = decodeFrame(bytes);
  assert.deepEqual(back.header, { type: 'evaluate', round: 2 });
  assert.equal(back.payload.length, 0);
  // encodeFrame's payload argument defaults to empty.
  assert.deepEqual(encodeFrame({ type: 'x' }, new Uint8Array(0)), encodeFrame({ type: 'x' }));
});

test('a frame with a large payload round-trips byte for byte, the payload after the header', () => {
  const payload = pattern(5 * 2 ** 20 + 3, 7);
  const bytes = encodeFrame({ type: 'fit', round: 1 }, payload);
  const h = '{"type":"fit","round":1}'.length; // 24: no padding needed
  assert.equal(bytes.length, 4 + h + payload.length);
  const back = decodeFrame(bytes);
  assert.deepEqual(back.header, { type: 'fit', round: 1 });
  assert.equal(back.payload.length, payload.length);
  assert.equal(Buffer.compare(back.payload, payload), 0);
  assert.equal(back.payload[0], payload[0]);
  assert.equal(back.payload[payload.length - 1], payload[payload.length - 1]);
});

test('a unicode header counts its UTF-8 bytes (not UTF-16 units) and round-trips', () => {
  const header = { type: 'done', reason: 'naïve — 日本語 🚀 \u0000 "quoted" \\ end' };
  const payload = new Uint8Array([1, 2, 3]);
  const bytes = encodeFrame(header, payload);
  const utf8Length = Buffer.byteLength(JSON.stringify(header), 'utf8');
  assert.notEqual(utf8Length, JSON.stringify(header).length, 'the example has multi-byte characters');
  const paddedLength = Math.ceil(utf8Length / 4) * 4;
  assert.equal(new DataView(bytes.buffer).getUint32(0, true), paddedLength);
  assert.equal(bytes.length, 4 + paddedLength + 3);
  const back = decodeFrame(bytes);
  assert.deepEqual(back.header, header);
  assert.deepEqual([...back.payload], [1, 2, 3]);
});

test('decodeFrame reads a frame that sits at an odd offset inside a larger buffer', () => {
  const inner = encodeFrame({ type: 'stage', stage: 'mask' }, new Uint8Array([9, 8, 7, 6, 5]));
  const outer = new Uint8Array(inner.length + 10).fill(0xee);
  outer.set(inner, 3);
  const back = decodeFrame(outer.subarray(3, 3 + inner.length));
  assert.deepEqual(back.header, { type: 'stage', stage: 'mask' });
  assert.deepEqual([...back.payload], [9, 8, 7, 6, 5]);
});

test('encodeFrame accepts a header of exactly MAX_HEADER_BYTES and refuses one byte more', () => {
  const wrapper = '{"p":""}'.length;
  const atLimit = { p: 'x'.repeat(MAX_HEADER_BYTES - wrapper) };
  const bytes = encodeFrame(atLimit);
  assert.equal(bytes.length, 4 + MAX_HEADER_BYTES);
  assert.deepEqual(decodeFrame(bytes).header, atLimit);
  refused(
    () => encodeFrame({ p: 'x'.repeat(MAX_HEADER_BYTES - wrapper + 1) }),
    'too-large',
    // One byte over, padded to the next multiple of 4.
    `frame header of ${MAX_HEADER_BYTES + 4} bytes exceeds ${MAX_HEADER_BYTES}`,
  );
});

test('every frame puts its payload 4-byte aligned (headers padded with spaces); unpadded headers are read too', () => {
  for (let extra = 0; extra < 8; extra++) {
    const header = { type: 'fit', note: 'x'.repeat(extra) };
    const values = new Float32Array([0.5, -0.25, 3]);
    const bytes = encodeFrame(header, new Uint8Array(values.buffer));
    const back = decodeFrame(bytes);
    assert.equal(back.payload.byteOffset % 4, 0, `header ${JSON.stringify(header)}`);
    assert.deepEqual([...float32View(back.payload, 'values')], [0.5, -0.25, 3]);
    assert.equal(float32View(back.payload, 'values').buffer, bytes.buffer, 'read in place, not copied');
  }
  // A sender that does not pad is still read (padding is for speed, not for meaning), and its
  // unaligned float32 payload is copied rather than refused.
  const json = new TextEncoder().encode('{"type":"xy"}'); // 13 bytes: the payload starts at 17
  const odd = decodeFrame(new Uint8Array([...u32le(json.length), ...json, 0, 0, 0x80, 0x3f]));
  assert.deepEqual(odd.header, { type: 'xy' });
  assert.equal(odd.payload.byteOffset % 4, 1);
  assert.deepEqual([...float32View(odd.payload, 'values')], [1]);
});

test('decodeFrame refuses a frame shorter than its 4-byte header length', () => {
  for (const n of [0, 1, 2, 3])
    refused(
      () => decodeFrame(new Uint8Array(n)),
      'bad-frame',
      `frame of ${n} bytes is shorter than its 4-byte header length`,
    );
});

test('decodeFrame refuses a header length that runs past the end of the frame', () => {
  const bytes = new Uint8Array([...u32le(10), ...new TextEncoder().encode('{}')]);
  refused(() => decodeFrame(bytes), 'bad-frame', "frame header length 10 runs past the frame's 6 bytes");
  refused(() => decodeFrame(u32le(1)), 'bad-frame', "frame header length 1 runs past the frame's 4 bytes");
  refused(
    () => decodeFrame(u32le(MAX_HEADER_BYTES)),
    'bad-frame',
    `frame header length ${MAX_HEADER_BYTES} runs past the frame's 4 bytes`,
  );
});

test('decodeFrame refuses a header length over the limit before looking any further', () => {
  refused(
    () => decodeFrame(u32le(MAX_HEADER_BYTES + 1)),
    'bad-frame',
    `frame header length ${MAX_HEADER_BYTES + 1} exceeds ${MAX_HEADER_BYTES}`,
  );
  refused(
    () => decodeFrame(u32le(0xffffffff)),
    'bad-frame',
    `frame header length 4294967295 exceeds ${MAX_HEADER_BYTES}`,
  );
  // Even when the frame really is that long (a header over the limit, well-formed otherwise).
  const big = rawFrame(JSON.stringify({ p: 'x'.repeat(MAX_HEADER_BYTES) }));
  refused(
    () => decodeFrame(big),
    'bad-frame',
    `frame header length ${MAX_HEADER_BYTES + 8} exceeds ${MAX_HEADER_BYTES}`,
  );
});

test('decodeFrame refuses a header that is not UTF-8 JSON', () => {
  for (const text of ['{"type":', '', '{type: "x"}', "{'a':1}", '{"a":1}{}'])
    refused(() => decodeFrame(rawFrame(text)), 'bad-frame', /^frame header is not UTF-8 JSON: .+/);
  // Not UTF-8 at all (a lone continuation byte inside a string): the decoder is fatal, not lenient.
  const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]); // {"a":"\x80"}
  refused(() => decodeFrame(rawFrame(invalidUtf8)), 'bad-frame', /^frame header is not UTF-8 JSON: .+/);
});

test('decodeFrame refuses a JSON header that is not an object', () => {
  for (const text of ['[]', '[{"type":"hello"}]', 'null', '1', '"hello"', 'true'])
    refused(() => decodeFrame(rawFrame(text)), 'bad-frame', 'frame header is not a JSON object');
});

test('decodeFrame keeps every byte after the header as the payload, however it looks', () => {
  const payload = new TextEncoder().encode('{"type":"not a header"}');
  const back = decodeFrame(rawFrame('{"type":"x"}', payload));
  assert.deepEqual(back.header, { type: 'x' });
  assert.equal(new TextDecoder().decode(back.payload), '{"type":"not a header"}');
});

// ---- frameMessage + Assembler ------------------------------------------------------------------

/** Feeds frames' bytes through decodeFrame and an Assembler; returns every whole message in order. */
function assemble(assembler: Assembler, frames: Uint8Array[]): Frame[] {
  const out: Frame[] = [];
  for (const f of frames) {
    const whole = assembler.push(decodeFrame(f));
    if (whole) out.push(whole);
  }
  return out;
}

test('frameMessage sends a message that fits as one frame, identical to encodeFrame', () => {
  const header = { type: 'fit', round: 1 };
  const payload = pattern(3000);
  const single = encodeFrame(header, payload);
  assert.deepEqual(frameMessage(header, payload, single.length), [single]);
  assert.deepEqual(frameMessage(header, payload, single.length + 1000), [single]);
  // One byte less and it no longer fits: chunked, in pieces of maxFrameBytes - 64 (room for a chunk header).
  const maxFrameBytes = single.length - 1;
  const piece = maxFrameBytes - 64;
  const frames = frameMessage(header, payload, maxFrameBytes);
  assert.equal(frames.length, 3);
  assert.deepEqual(decodeFrame(frames[0]).header, { type: 'fit', round: 1, chunks: 2, payloadBytes: 3000 });
  assert.equal(decodeFrame(frames[0]).payload.length, 0);
  assert.deepEqual(decodeFrame(frames[1]).header, { type: 'chunk', seq: 0 });
  assert.equal(Buffer.compare(decodeFrame(frames[1]).payload, payload.subarray(0, piece)), 0);
  assert.deepEqual(decodeFrame(frames[2]).header, { type: 'chunk', seq: 1 });
  assert.equal(Buffer.compare(decodeFrame(frames[2]).payload, payload.subarray(piece)), 0);
});

test('a chunked message reassembles byte-identically at several frame sizes, between other messages', () => {
  const header = { type: 'fit', round: 7, task: 'ab'.repeat(8), config: { epochs: 2, note: 'é' } };
  for (const payloadLength of [0, 1, 1024, 100_000, 262_144, 1_000_003]) {
    const payload = pattern(payloadLength, payloadLength + 11);
    for (const maxFrameBytes of [1088, 1089, 1500, 4096, 65_536, 1 << 20]) {
      const what = `payload ${payloadLength}, frames of ${maxFrameBytes}`;
      const frames = frameMessage(header, payload, maxFrameBytes);
      const single = encodeFrame(header, payload);
      if (single.length <= maxFrameBytes) assert.deepEqual(frames, [single], what);
      else {
        const piece = maxFrameBytes - 64;
        const chunks = Math.ceil(payloadLength / piece);
        assert.equal(frames.length, 1 + chunks, what);
        assert.deepEqual(
          decodeFrame(frames[0]).header,
          { ...header, chunks, payloadBytes: payloadLength },
          what,
        );
        for (let k = 0; k < chunks; k++) {
          const f = decodeFrame(frames[1 + k]);
          assert.deepEqual(f.header, { type: 'chunk', seq: k }, what);
          assert.equal(f.payload.length, Math.min(piece, payloadLength - k * piece), what);
        }
      }
      for (const f of frames) assert.ok(f.length <= maxFrameBytes, `${what}: a frame of ${f.length} bytes`);

      const assembler = new Assembler(payloadLength + 10);
      const before = encodeFrame({ type: 'evaluate', round: 6 }, new Uint8Array([1, 2, 3]));
      const after = encodeFrame({ type: 'done', reason: 'end' });
      const out = assemble(assembler, [before, ...frames, after]);
      assert.equal(out.length, 3, what);
      assert.deepEqual(out[0].header, { type: 'evaluate', round: 6 });
      assert.deepEqual([...out[0].payload], [1, 2, 3]);
      assert.deepEqual(out[1].header, header, `${what}: the header comes back without chunks/payloadBytes`);
      assert.equal(out[1].payload.length, payloadLength, what);
      assert.equal(Buffer.compare(out[1].payload, payload), 0, what);
      assert.deepEqual(out[2].header, { type: 'done', reason: 'end' });
      assert.equal(assembler.busy, false, what);
    }
  }
});

test('the Assembler is busy exactly while a chunked message is part-way received', () => {
  const payload = pattern(5000);
  const frames = frameMessage({ type: 'fit' }, payload, 2048);
  assert.equal(frames.length, 4);
  const assembler = new Assembler(5000);
  const seen: boolean[] = [];
  for (const f of frames) {
    assert.equal(assembler.push(decodeFrame(f)) !== undefined, f === frames[frames.length - 1]);
    seen.push(assembler.busy);
  }
  assert.deepEqual(seen, [true, true, true, false]);
});

test('two chunked messages back to back reassemble separately', () => {
  const a = pattern(3000, 1);
  const b = pattern(4500, 2);
  const out = assemble(new Assembler(10_000), [
    ...frameMessage({ type: 'fit', n: 1 }, a, 1088),
    ...frameMessage({ type: 'fit', n: 2 }, b, 1088),
  ]);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0].header, { type: 'fit', n: 1 });
  assert.equal(Buffer.compare(out[0].payload, a), 0);
  assert.deepEqual(out[1].header, { type: 'fit', n: 2 });
  assert.equal(Buffer.compare(out[1].payload, b), 0);
});

test('frameMessage refuses a frame size too small to chunk with', () => {
  assert.throws(
    () => frameMessage({ type: 'fit' }, pattern(5000), 1087),
    (e: unknown) =>
      e instanceof RangeError && e.message === 'maxFrameBytes 1087 is too small to chunk a payload',
  );
  assert.equal(frameMessage({ type: 'fit' }, pattern(5000), 1088).length, 6);
});

test('frameMessage keeps every frame within maxFrameBytes (or refuses) when the header alone is large', () => {
  // A header bigger than the frame size: with a payload, the first frame exceeds maxFrameBytes;
  // with an empty payload it announces chunks: 0, which every Assembler refuses.
  const header = { type: 'welcome', model: { spec: 'x'.repeat(3000) } };
  for (const payload of [pattern(5000), new Uint8Array(0)]) {
    let frames: Uint8Array[];
    try {
      frames = frameMessage(header, payload, 2048);
    } catch (e) {
      assert.ok(e instanceof RangeError || e instanceof ProtocolError, `refusing is fine, not ${String(e)}`);
      continue;
    }
    for (const f of frames) assert.ok(f.length <= 2048, `a frame of ${f.length} bytes exceeds 2048`);
    const out = assemble(new Assembler(10_000), frames);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0].header, header);
  }
});

// ---- Assembler refusals ----------------------------------------------------------------------

test('the Assembler refuses a chunk with no chunked message begun', () => {
  const a = new Assembler(100);
  refused(
    () => a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(4))),
    'bad-frame',
    'a chunk frame arrived with no chunked message begun',
  );
  // Also after a chunked message has completed.
  assert.equal(a.push(frame({ type: 'fit', chunks: 1, payloadBytes: 2 })), undefined);
  assert.ok(a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(2))));
  refused(
    () => a.push(frame({ type: 'chunk', seq: 1 }, new Uint8Array(0))),
    'bad-frame',
    'a chunk frame arrived with no chunked message begun',
  );
});

test('the Assembler refuses chunks out of order, repeated, or without a seq', () => {
  const begin = () => {
    const a = new Assembler(100);
    assert.equal(a.push(frame({ type: 'fit', chunks: 3, payloadBytes: 6 })), undefined);
    return a;
  };
  refused(
    () => begin().push(frame({ type: 'chunk', seq: 1 }, new Uint8Array(2))),
    'bad-frame',
    'chunk 1 arrived where chunk 0 was due',
  );
  const a = begin();
  a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(2)));
  refused(
    () => a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(2))),
    'bad-frame',
    'chunk 0 arrived where chunk 1 was due',
  );
  refused(
    () => a.push(frame({ type: 'chunk', seq: 2 }, new Uint8Array(2))),
    'bad-frame',
    'chunk 2 arrived where chunk 1 was due',
  );
  refused(
    () => begin().push(frame({ type: 'chunk' }, new Uint8Array(2))),
    'bad-frame',
    'chunk undefined arrived where chunk 0 was due',
  );
  // A seq that only looks right is still not the number due.
  refused(
    () => begin().push(frame({ type: 'chunk', seq: '0' }, new Uint8Array(2))),
    'bad-frame',
    /^chunk '0' arrived where chunk 0 was due$/,
  );
});

test('a chunk seq or message type that cannot be made a string is refused as bad-frame, not a TypeError', () => {
  // Any peer can send these: JSON objects whose "toString" is not a function.
  const raw = (text: string) => decodeFrame(rawFrame(text));
  const begun = () => {
    const a = new Assembler(100);
    a.push(raw('{"type":"fit","chunks":2,"payloadBytes":0}'));
    return a;
  };
  refused(
    () => begun().push(raw('{"type":"chunk","seq":{"toString":""}}')),
    'bad-frame',
    /^chunk .* was due$/,
  );
  refused(() => begun().push(raw('{"type":{"toString":1}}')), 'bad-frame', /arrived inside a chunked 'fit'/);
  // A chunked message whose own type is such an object: refused at once or later, but as a ProtocolError.
  const odd = new Assembler(100);
  refused(
    () => {
      odd.push(raw('{"type":{"valueOf":1,"toString":1},"chunks":1,"payloadBytes":0}'));
      odd.push(raw('{"type":"done"}'));
    },
    'bad-frame',
    /.+/,
  );
});

test('the Assembler refuses chunks carrying more bytes than announced, as soon as they overflow', () => {
  const a = new Assembler(100);
  a.push(frame({ type: 'fit', chunks: 2, payloadBytes: 4 }));
  a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(3)));
  refused(
    () => a.push(frame({ type: 'chunk', seq: 1 }, new Uint8Array(2))),
    'bad-frame',
    'chunks carry more than the 4 payload bytes announced',
  );
  const b = new Assembler(100);
  b.push(frame({ type: 'fit', chunks: 1, payloadBytes: 0 }));
  refused(
    () => b.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(1))),
    'bad-frame',
    'chunks carry more than the 0 payload bytes announced',
  );
  // More chunks than announced: the extra one finds no message begun.
  const c = new Assembler(100);
  c.push(frame({ type: 'fit', chunks: 1, payloadBytes: 4 }));
  assert.ok(c.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(4))));
  refused(
    () => c.push(frame({ type: 'chunk', seq: 1 }, new Uint8Array(0))),
    'bad-frame',
    'a chunk frame arrived with no chunked message begun',
  );
});

test('the Assembler refuses chunks carrying fewer bytes than announced, then takes the next message', () => {
  const a = new Assembler(100);
  a.push(frame({ type: 'fit', chunks: 2, payloadBytes: 4 }));
  assert.equal(a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(1))), undefined);
  refused(
    () => a.push(frame({ type: 'chunk', seq: 1 }, new Uint8Array(1))),
    'bad-frame',
    'chunks carried 2 of the 4 payload bytes announced',
  );
  assert.equal(a.busy, false);
  const next = a.push(frame({ type: 'done', reason: 'r' }));
  assert.deepEqual(next?.header, { type: 'done', reason: 'r' });
});

test('the Assembler refuses a new message inside a chunked one', () => {
  const a = new Assembler(100);
  a.push(frame({ type: 'fit', chunks: 2, payloadBytes: 4 }));
  a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(2)));
  refused(
    () => a.push(frame({ type: 'evaluate', round: 1 })),
    'bad-frame',
    "a 'evaluate' message arrived inside a chunked 'fit' message",
  );
  // Another chunked message's first frame is a new message too.
  refused(
    () => a.push(frame({ type: 'stage', chunks: 1, payloadBytes: 1 })),
    'bad-frame',
    "a 'stage' message arrived inside a chunked 'fit' message",
  );
});

test('the Assembler refuses a chunked message whose chunks/payloadBytes are not sensible counts', () => {
  const message = 'a chunked message needs integer chunks >= 1 and payloadBytes >= 0';
  for (const counts of [
    { chunks: 0, payloadBytes: 0 },
    { chunks: -1, payloadBytes: 4 },
    { chunks: 1.5, payloadBytes: 4 },
    { chunks: '2', payloadBytes: 4 },
    { chunks: null, payloadBytes: 4 },
    { chunks: 2 },
    { chunks: 2, payloadBytes: -1 },
    { chunks: 2, payloadBytes: 3.5 },
    { chunks: 2, payloadBytes: '4' },
    { chunks: 2, payloadBytes: Infinity },
  ]) {
    const a = new Assembler(100);
    refused(() => a.push(frame({ type: 'fit', ...counts })), 'bad-frame', message);
    assert.equal(a.busy, false, JSON.stringify(counts));
  }
});

test('the Assembler refuses a single-frame message over maxMessageBytes, and takes one at the limit', () => {
  const a = new Assembler(100);
  assert.equal(a.push(frame({ type: 'fit' }, new Uint8Array(100)))?.payload.length, 100);
  refused(
    () => a.push(frame({ type: 'fit' }, new Uint8Array(101))),
    'too-large',
    'a message of 101 payload bytes exceeds the limit of 100',
  );
  refused(
    () => new Assembler(0).push(frame({ type: 'fit' }, new Uint8Array(1))),
    'too-large',
    'a message of 1 payload bytes exceeds the limit of 0',
  );
});

test('the Assembler refuses a chunked message over maxMessageBytes from its first frame, allocating nothing', () => {
  const a = new Assembler(1 << 20);
  refused(
    () => a.push(frame({ type: 'fit', chunks: 1, payloadBytes: 2 ** 40 })),
    'too-large',
    `a message of ${2 ** 40} payload bytes exceeds the limit of ${1 << 20}`,
  );
  assert.equal(a.busy, false);
  // An announced size that could be allocated (512 MiB) must not be, before the limit is checked.
  const buffersBefore = process.memoryUsage().arrayBuffers;
  refused(
    () => a.push(frame({ type: 'fit', chunks: 4, payloadBytes: 512 * 2 ** 20 })),
    'too-large',
    `a message of ${512 * 2 ** 20} payload bytes exceeds the limit of ${1 << 20}`,
  );
  const grown = process.memoryUsage().arrayBuffers - buffersBefore;
  assert.ok(grown < 16 * 2 ** 20, `array buffers grew by ${grown} bytes`);
  assert.equal(a.busy, false);
  // One byte over the limit is refused; exactly the limit is taken.
  refused(
    () => a.push(frame({ type: 'fit', chunks: 1, payloadBytes: (1 << 20) + 1 })),
    'too-large',
    `a message of ${(1 << 20) + 1} payload bytes exceeds the limit of ${1 << 20}`,
  );
  assert.equal(a.push(frame({ type: 'fit', chunks: 1, payloadBytes: 1 << 20 })), undefined);
  assert.equal(a.push(frame({ type: 'chunk', seq: 0 }, new Uint8Array(1 << 20)))?.payload.length, 1 << 20);
});

test('a chunked message over the limit is refused through the whole decode path too', () => {
  const frames = frameMessage({ type: 'fit' }, pattern(5000), 1088);
  const a = new Assembler(4999);
  refused(
    () => a.push(decodeFrame(frames[0])),
    'too-large',
    'a message of 5000 payload bytes exceeds the limit of 4999',
  );
  // Its chunks then find no message begun.
  refused(
    () => a.push(decodeFrame(frames[1])),
    'bad-frame',
    'a chunk frame arrived with no chunked message begun',
  );
});

// ---- float32 helpers ----------------------------------------------------------------------------

test('float32Bytes/float32Values round-trip every kind of value, as little-endian IEEE 754', () => {
  const values = new Float32Array([
    0,
    -0,
    1,
    -1.5,
    Math.PI,
    3.4028234663852886e38,
    -3.4028234663852886e38,
    1.401298464324817e-45,
    1.1754943508222875e-38,
    Infinity,
    -Infinity,
    NaN,
  ]);
  const bytes = float32Bytes(values);
  assert.equal(bytes.length, values.length * 4);
  const reference = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => reference.setFloat32(i * 4, v, true));
  assert.deepEqual([...bytes], [...new Uint8Array(reference.buffer)]);
  const back = float32Values(bytes, 'weights');
  assert.equal(back.length, values.length);
  for (let i = 0; i < values.length; i++) assert.ok(Object.is(back[i], values[i]), `value ${i}: ${back[i]}`);
});

test('float32Bytes of a subarray covers only that subarray', () => {
  const all = new Float32Array([1, 2, 3, 4, 5]);
  const bytes = float32Bytes(all.subarray(1, 3));
  assert.equal(bytes.length, 8);
  assert.deepEqual([...float32Values(bytes, 'x')], [2, 3]);
});

test('float32Values copies (the frame buffer is not kept) and reads bytes at any offset', () => {
  const bytes = float32Bytes(new Float32Array([1.25, -2.5, 7]));
  const framed = new Uint8Array(bytes.length + 1);
  framed.set(bytes, 1); // an odd byte offset: a Float32Array view there would be impossible
  const values = float32Values(framed.subarray(1), 'global parameters');
  assert.deepEqual([...values], [1.25, -2.5, 7]);
  framed.fill(0);
  assert.deepEqual([...values], [1.25, -2.5, 7]);
  assert.equal(float32Values(new Uint8Array(0), 'none').length, 0);
});

test('float32Values refuses a byte length that is not a multiple of 4, naming what it was', () => {
  for (const n of [1, 2, 3, 5, 4099])
    refused(
      () => float32Values(new Uint8Array(n), 'global parameters'),
      'bad-message',
      `global parameters: ${n} bytes is not a whole number of float32 values`,
    );
});

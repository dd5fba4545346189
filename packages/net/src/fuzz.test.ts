/**
 * Property-based tests of the protocol's parsers: whatever bytes or headers a peer sends, the
 * receiving side either accepts them or refuses them with a ProtocolError, never another error,
 * and never holds or returns more than its limit.
 *
 * EDGEFL_FUZZ_RUNS sets the number of runs per property (default 200, about a second in all);
 * EDGEFL_FUZZ_SEED replays a failure fast-check reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Assembler,
  MAX_HEADER_BYTES,
  ProtocolError,
  decodeFrame,
  encodeFrame,
  frameMessage,
  type Frame,
} from './frame.js';
import { parseClientMessage, parseServerMessage } from './messages.js';

function envInteger(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < (name === 'EDGEFL_FUZZ_RUNS' ? 1 : -(2 ** 31)))
    throw new Error(`${name} must be an integer${name === 'EDGEFL_FUZZ_RUNS' ? ' >= 1' : ''}, got '${raw}'`);
  return n;
}

const RUNS = envInteger('EDGEFL_FUZZ_RUNS', 200)!;
const SEED = envInteger('EDGEFL_FUZZ_SEED', undefined);
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };

/** Asserts `e` is a ProtocolError with one of these codes and a non-empty message. */
function assertProtocolError(e: unknown, codes: string[]): void {
  if (!(e instanceof ProtocolError))
    throw new Error(`expected a ProtocolError, got ${String(e)}`, { cause: e });
  assert.ok(codes.includes(e.code), `code ${e.code}`);
  assert.ok(e.message.length > 0);
}

const utf8 = new TextEncoder();

function withLength(h: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + rest.length);
  new DataView(out.buffer).setUint32(0, h, true);
  out.set(rest, 4);
  return out;
}

// ---- decodeFrame --------------------------------------------------------------------------------

/** Bytes that reach every check of decodeFrame: random, a plausible length, JSON or not-quite JSON. */
const frameBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .tuple(fc.oneof(fc.nat({ max: 80 }), fc.nat()), fc.uint8Array({ maxLength: 80 }))
    .map(([h, rest]) => withLength(h, rest)),
  fc
    .tuple(
      fc.oneof(
        fc.json({ maxDepth: 2 }),
        fc.string({ maxLength: 20, unit: 'binary' }),
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v).slice(0, -1)),
      ),
      fc.uint8Array({ maxLength: 16 }),
      fc.integer({ min: -3, max: 3 }),
    )
    .map(([text, payload, skew]) => {
      const h = utf8.encode(text);
      const rest = new Uint8Array(h.length + payload.length);
      rest.set(h);
      rest.set(payload, h.length);
      return withLength(Math.max(0, h.length + skew), rest);
    }),
  fc
    .tuple(
      fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
      fc.nat(),
    )
    .map(([header, at]) => {
      const bytes = encodeFrame(header);
      bytes[at % bytes.length] ^= 1 << (at % 8);
      return bytes;
    }),
);

test('decodeFrame returns a well-formed frame or throws a bad-frame ProtocolError, for any bytes', () => {
  fc.assert(
    fc.property(frameBytes, (bytes) => {
      let frame: Frame;
      try {
        frame = decodeFrame(bytes);
      } catch (e) {
        assertProtocolError(e, ['bad-frame']);
        return;
      }
      const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
      assert.ok(h <= MAX_HEADER_BYTES);
      assert.ok(typeof frame.header === 'object' && frame.header !== null && !Array.isArray(frame.header));
      assert.equal(frame.payload.length, bytes.length - 4 - h);
      assert.equal(Buffer.compare(frame.payload, bytes.subarray(4 + h)), 0);
    }),
    params,
  );
});

test('any JSON object header round-trips through encodeFrame/decodeFrame with any payload', () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string({ maxLength: 8, unit: 'grapheme' }),
        fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }),
        {
          maxKeys: 6,
        },
      ),
      fc.uint8Array({ maxLength: 256 }),
      (header, payload) => {
        const back = decodeFrame(encodeFrame(header, payload));
        assert.deepEqual(back.header, JSON.parse(JSON.stringify(header)));
        assert.equal(Buffer.compare(back.payload, payload), 0);
      },
    ),
    params,
  );
});

// ---- message schemas ----------------------------------------------------------------------------

const KEY = Buffer.alloc(32, 3).toString('base64url');
const SIG = Buffer.alloc(64, 5).toString('base64url');
const TASK = '00112233445566778899aabbccddeeff';

const examples: Record<string, unknown>[] = [
  { type: 'hello', protocol: 1, clientId: 'dev-1', publicKey: KEY, token: 't', numExamples: 60 },
  { type: 'auth', signature: SIG },
  {
    type: 'fit-result',
    round: 1,
    task: TASK,
    upload: { kind: 'encoded', codec: 'q8', auxiliary: [1] },
    numExamples: 5,
    metrics: { loss: 0.5 },
    seconds: 1,
    signature: SIG,
  },
  { type: 'stage-result', round: 1, task: TASK, stage: 'mask', seconds: 1, signature: SIG },
  { type: 'evaluate-result', round: 1, task: TASK, numExamples: 2, loss: 1, accuracy: 0.5, seconds: 1 },
  { type: 'task-error', round: 1, task: TASK, message: 'm' },
  { type: 'challenge', protocol: 1, nonce: KEY },
  {
    type: 'welcome',
    clientId: 'dev-1',
    federation: 'f',
    model: { layers: [] },
    trainer: { loss: 'mse', optimizer: { lr: 1 }, classWeights: [1] },
    parameters: 3,
    limits: { maxFrameBytes: 2 ** 20, maxMessageBytes: 12 },
  },
  { type: 'fit', round: 1, task: TASK, config: {}, seed: 1 },
  { type: 'stage', round: 1, task: TASK, stage: 'unmask' },
  { type: 'evaluate', round: 1, task: TASK },
  { type: 'error', code: 'busy', message: 'm', fatal: true },
  { type: 'done', reason: 'r' },
];
const fieldNames = [...new Set(examples.flatMap((e) => Object.keys(e))), 'kind', 'chunks', 'extra'];

/** Values that probe the schemas: special numbers, near-miss strings, nested JSON. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    -1,
    1.5,
    2 ** 32,
    2 ** 53,
    -(2 ** 53),
    1e308,
    null,
    '',
    true,
  ),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 70 }),
  fc.nat({ max: 100 }).map((n) => Buffer.alloc(n, 9).toString('base64url')),
  fc.nat({ max: 70 }).map((n) => 'a'.repeat(n)),
  fc.array(fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity)), { maxLength: 70 }),
  fc.dictionary(fc.string({ maxLength: 70 }), fc.oneof(fc.double(), fc.string()), { maxKeys: 40 }),
  fc.constantFrom(...examples.map((e) => e.type)),
  fc.record(
    {
      kind: fc.constantFrom('delta', 'encoded', 'secure', 'x'),
      codec: fc.string(),
      auxiliary: fc.array(fc.double()),
    },
    { requiredKeys: ['kind'] },
  ),
);

/** Headers: arbitrary objects, objects made of the schemas' own field names, valid messages mutated. */
const headers: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.object({ maxDepth: 2, maxKeys: 6 }),
  fc.dictionary(fc.constantFrom(...fieldNames), fieldValue, { maxKeys: 10 }),
  fc
    .tuple(
      fc.constantFrom(...examples),
      fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom(...fieldNames), fc.string({ maxLength: 6 })),
          fc.option(fieldValue),
        ),
        {
          minLength: 0,
          maxLength: 3,
        },
      ),
    )
    .map(([example, changes]) => {
      const out: Record<string, unknown> = { ...example };
      for (const [key, value] of changes) {
        if (value === null) delete out[key];
        else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }),
);

test('parseClientMessage/parseServerMessage accept a header or refuse it with a bad-message ProtocolError', () => {
  const payload = new Uint8Array([1, 2]);
  fc.assert(
    fc.property(headers, (header) => {
      for (const [side, parse] of [
        ['client', parseClientMessage],
        ['server', parseServerMessage],
      ] as const) {
        let r;
        try {
          r = parse({ header, payload });
        } catch (e) {
          assertProtocolError(e, ['bad-message']);
          assert.match((e as Error).message, new RegExp(`^${side} message( '[^]{0,32}')? refused: [^]+`));
          continue;
        }
        // Accepted: it is the header's own type, with no field the header lacks, and stable.
        assert.equal(r.message.type, header.type);
        assert.equal(r.payload, payload);
        for (const key of Object.keys(r.message)) assert.ok(Object.hasOwn(header, key), key);
        assert.deepEqual(parse({ header: r.message, payload }).message, r.message);
        // And through JSON, the way it travels (where -0 becomes 0).
        assert.deepEqual(
          parse(decodeFrame(encodeFrame(r.message))).message,
          JSON.parse(JSON.stringify(r.message)),
        );
      }
    }),
    params,
  );
});

// ---- Assembler ----------------------------------------------------------------------------------

const LIMIT = 2048;
const FRAME = 1088; // the smallest frame size frameMessage chunks with

// Any JSON value, objects with a "toString" or "valueOf" key included (the Assembler once threw a
// TypeError formatting those).
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.constantFrom(null, '1', 1.5, -1, 0, true, [], {}, 2 ** 40, 2 ** 53, 1e300),
);

/**
 * Bytes of any length up to `max`, spread over the whole range: pseudo-random bytes from a length
 * and a seed, so that a failure shrinks in a few steps (shrinking a large byte array one element
 * at a time would take minutes).
 */
const bytesUpTo = (max: number) =>
  fc.tuple(fc.integer({ min: 0, max }), fc.integer()).map(([length, seed]) => {
    const out = new Uint8Array(length);
    let x = seed | 1;
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  });

/** Frames and what an Assembler that is between messages must make of them. */
interface Op {
  frames: Uint8Array[];
  /** The message it returns whole; 'too-large' refused from the first frame; 'refused' at some frame. */
  expect?: { header: unknown; payload: Uint8Array } | 'too-large' | 'refused';
}

const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

const ops: fc.Arbitrary<Op> = fc.oneof(
  // A message in one frame, sometimes over the limit.
  fc.tuple(fc.constantFrom('fit', 'evaluate', 'x'), bytesUpTo(LIMIT + 200)).map(([type, payload]): Op => ({
    frames: [encodeFrame({ type }, payload)],
    expect: payload.length > LIMIT ? 'too-large' : { header: { type }, payload },
  })),
  // A whole message as frameMessage sends it (chunked when it does not fit one frame).
  fc.tuple(bytesUpTo(2 * LIMIT), fc.nat()).map(([payload, n]): Op => ({
    frames: frameMessage({ type: 'fit', n }, payload, FRAME),
    expect: payload.length > LIMIT ? 'too-large' : { header: { type: 'fit', n }, payload },
  })),
  // A chunked message by hand: pieces that may carry a few bytes more or fewer, or come swapped.
  fc
    .record({
      payload: bytesUpTo(LIMIT + 64),
      cuts: fc.array(fc.nat(), { minLength: 0, maxLength: 4 }),
      skew: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.integer({ min: -3, max: 3 })),
      swap: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, fc.constant(true)),
    })
    .map(({ payload, cuts, skew, swap }): Op => {
      const at = [...new Set(cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
      const bounds = [0, ...at, payload.length];
      const pieces = bounds.slice(1).map((end, i) => payload.subarray(bounds[i], end));
      const last = pieces.length - 1;
      if (skew > 0) pieces[last] = concat([pieces[last], new Uint8Array(skew).fill(0xab)]);
      if (skew < 0) pieces[last] = pieces[last].subarray(0, Math.max(0, pieces[last].length + skew));
      const seqs = pieces.map((_, k) => k);
      const swapped = swap && pieces.length > 1;
      if (swapped) [seqs[0], seqs[1]] = [1, 0];
      const frames = [
        encodeFrame({ type: 'fit', hand: true, chunks: pieces.length, payloadBytes: payload.length }),
        ...pieces.map((piece, k) => encodeFrame({ type: 'chunk', seq: seqs[k] }, piece)),
      ];
      const whole = concat(pieces);
      const ok = !swapped && whole.length === payload.length;
      return {
        frames,
        expect:
          payload.length > LIMIT
            ? 'too-large'
            : ok
              ? { header: { type: 'fit', hand: true }, payload: whole }
              : 'refused',
      };
    }),
  // The first frame of a chunked message with sensible or odd counts, perhaps a stray payload.
  fc
    .tuple(
      fc.oneof(fc.integer({ min: -2, max: 6 }), oddValue),
      fc.oneof(fc.integer({ min: -1, max: 2 * LIMIT }), oddValue),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([chunks, payloadBytes, payload]): Op => ({
      frames: [encodeFrame({ type: 'fit', chunks, payloadBytes }, payload)],
    })),
  // A chunk frame with any seq.
  fc
    .tuple(fc.oneof(fc.integer({ min: -1, max: 7 }), oddValue), bytesUpTo(LIMIT))
    .map(([seq, payload]): Op => ({ frames: [encodeFrame({ type: 'chunk', seq }, payload)] })),
  // Noise.
  fc.uint8Array({ maxLength: 40 }).map((bytes): Op => ({ frames: [bytes] })),
);

test('an Assembler fed any sequence of frames throws only ProtocolErrors and never exceeds its limit', () => {
  fc.assert(
    fc.property(fc.array(ops, { maxLength: 12 }), (sequence) => {
      const assembler = new Assembler(LIMIT);
      for (const op of sequence) {
        const wasBusy = assembler.busy;
        const out: (Frame | undefined)[] = [];
        const errors: ProtocolError[] = [];
        for (const bytes of op.frames) {
          try {
            const whole = assembler.push(decodeFrame(bytes));
            out.push(whole);
            if (whole) {
              assert.ok(whole.payload.length <= LIMIT, `a message of ${whole.payload.length} bytes`);
              const header = whole.header as Record<string, unknown>;
              assert.notEqual(header.type, 'chunk');
              assert.ok(!('chunks' in header) && !('payloadBytes' in header));
            }
          } catch (e) {
            assertProtocolError(e, ['bad-frame', 'too-large']);
            errors.push(e as ProtocolError);
          }
        }
        // Between messages, a well-formed one is taken whole, one too large refused at its first frame.
        if (wasBusy || op.expect === undefined) continue;
        const taken = out.filter((f): f is Frame => f !== undefined);
        if (op.expect === 'too-large') {
          assert.equal(errors[0]?.code, 'too-large');
          assert.equal(out.length, 0, 'refused from its first frame');
          assert.equal(taken.length, 0);
          assert.equal(assembler.busy, false);
        } else if (op.expect === 'refused') {
          assert.ok(errors.length > 0, 'refused');
          assert.ok(errors.every((e) => e.code === 'bad-frame'));
          assert.equal(taken.length, 0);
        } else {
          assert.deepEqual(errors, []);
          assert.equal(taken.length, 1);
          assert.equal(out[out.length - 1], taken[0], 'whole at its last frame');
          assert.deepEqual(taken[0].header, op.expect.header);
          assert.equal(Buffer.compare(taken[0].payload, op.expect.payload), 0);
          assert.equal(assembler.busy, false);
        }
      }
    }),
    params,
  );
});

test('frameMessage then Assembler gives back any message byte for byte, at any frame size', () => {
  const header = fc
    .tuple(
      fc.string({ minLength: 1, maxLength: 12 }).filter((t) => t !== 'chunk'),
      fc.dictionary(
        fc.string({ maxLength: 8 }).filter((k) => !['type', 'chunks', 'payloadBytes'].includes(k)),
        fc.jsonValue({ maxDepth: 2 }),
        { maxKeys: 4 },
      ),
    )
    .map(([type, rest]) => ({ ...rest, type }));
  fc.assert(
    fc.property(
      header,
      bytesUpTo(20_000),
      fc.integer({ min: FRAME, max: 30_000 }),
      (h, payload, maxFrameBytes) => {
        // A header that leaves no room for the chunking fields is the sender's mistake (see frame.test.ts).
        fc.pre(encodeFrame(h).length + 64 <= maxFrameBytes);
        const frames = frameMessage(h, payload, maxFrameBytes);
        const single = encodeFrame(h, payload).length <= maxFrameBytes;
        assert.equal(frames.length, single ? 1 : 1 + Math.ceil(payload.length / (maxFrameBytes - 64)));
        for (const f of frames)
          assert.ok(f.length <= maxFrameBytes, `a frame of ${f.length} > ${maxFrameBytes}`);
        const assembler = new Assembler(payload.length);
        const out: Frame[] = [];
        for (const f of frames) {
          const whole = assembler.push(decodeFrame(f));
          if (whole) out.push(whole);
        }
        assert.equal(out.length, 1);
        assert.deepEqual(out[0].header, JSON.parse(JSON.stringify(h)));
        assert.equal(Buffer.compare(out[0].payload, payload), 0);
        assert.equal(assembler.busy, false);
      },
    ),
    params,
  );
});

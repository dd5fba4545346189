import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, decodeFrame, encodeFrame, type Frame } from './frame.js';
import {
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  clientIdSchema,
  parseClientMessage,
  parseServerMessage,
  type Received,
} from './messages.js';

const b64 = (n: number, fill = 7) => Buffer.alloc(n, fill).toString('base64url');
const KEY = b64(32);
const SIG = b64(64);
const TASK = '0123456789abcdef';

type Header = Record<string, unknown>;
type Parse = (frame: Frame) => Received<unknown>;
type Side = { name: 'client' | 'server'; parse: Parse };
const client: Side = { name: 'client', parse: parseClientMessage };
const server: Side = { name: 'server', parse: parseServerMessage };

/** One valid header of every type, with its optional fields where it has any. */
const clientExamples: Record<string, Header> = {
  hello: {
    type: 'hello',
    protocol: 1,
    clientId: 'device-01.a_B',
    publicKey: KEY,
    token: 'enroll-me',
    numExamples: 6000,
  },
  auth: { type: 'auth', signature: SIG },
  'fit-result': {
    type: 'fit-result',
    round: 3,
    task: TASK,
    upload: { kind: 'delta', auxiliary: [0.5, -1, 0] },
    numExamples: 100,
    metrics: { accuracy: 0.9, loss: 0.25 },
    seconds: 1.25,
    signature: SIG,
  },
  'stage-result': { type: 'stage-result', round: 1, task: TASK, stage: 'mask', seconds: 0, signature: SIG },
  'evaluate-result': {
    type: 'evaluate-result',
    round: 2,
    task: TASK,
    numExamples: 10,
    loss: -0.3,
    accuracy: 0.8,
    seconds: 2,
  },
  'task-error': { type: 'task-error', round: 1, task: TASK, message: 'out of memory' },
};

const serverExamples: Record<string, Header> = {
  challenge: { type: 'challenge', protocol: 1, nonce: b64(32, 1) },
  welcome: {
    type: 'welcome',
    clientId: 'device-01',
    federation: 'mnist',
    model: { layers: [{ dense: 10 }], input: [784] },
    trainer: { loss: 'cross-entropy', optimizer: { name: 'sgd', lr: 0.1 }, classWeights: [1, 2.5] },
    parameters: 7850,
    limits: { maxFrameBytes: 1_179_648, maxMessageBytes: 1_080_976 },
  },
  fit: { type: 'fit', round: 1, task: TASK, config: { epochs: 1, batchSize: 32 }, seed: 0xffffffff },
  stage: { type: 'stage', round: 4, task: TASK, stage: 'unmask' },
  evaluate: { type: 'evaluate', round: 9, task: 'f'.repeat(64) },
  error: { type: 'error', code: 'busy', message: 'try later', fatal: false },
  done: { type: 'done', reason: 'the run is over' },
};

const frameOf = (header: unknown, payload = new Uint8Array([1, 2, 3])): Frame => ({ header, payload });

/** Asserts the header is refused as bad-message with exactly this message, or one matching. */
function refuses(side: Side, header: unknown, message: string | RegExp, what = JSON.stringify(header)): void {
  assert.throws(
    () => side.parse(frameOf(header)),
    (e: unknown) => {
      assert.ok(e instanceof ProtocolError, `${what}: expected a ProtocolError, got ${String(e)}`);
      assert.equal(e.code, 'bad-message', what);
      if (typeof message === 'string') assert.equal(e.message, message, what);
      else assert.match(e.message, message, what);
      return true;
    },
    what,
  );
}

test('the protocol version and WebSocket subprotocol', () => {
  assert.equal(PROTOCOL_VERSION, 1);
  assert.equal(SUBPROTOCOL, 'edgefl.1');
});

test('a valid message of every client type parses to itself, with its payload passed through', () => {
  assert.deepEqual(Object.keys(clientExamples).sort(), [
    'auth',
    'evaluate-result',
    'fit-result',
    'hello',
    'stage-result',
    'task-error',
  ]);
  for (const [type, header] of Object.entries(clientExamples)) {
    const frame = frameOf(header);
    const r = parseClientMessage(frame);
    assert.deepEqual(r.message, header, type);
    assert.equal(r.payload, frame.payload, type);
    // Through the wire format as well.
    assert.deepEqual(parseClientMessage(decodeFrame(encodeFrame(header))).message, header, type);
  }
});

test('a valid message of every server type parses to itself, with its payload passed through', () => {
  assert.deepEqual(Object.keys(serverExamples).sort(), [
    'challenge',
    'done',
    'error',
    'evaluate',
    'fit',
    'stage',
    'welcome',
  ]);
  for (const [type, header] of Object.entries(serverExamples)) {
    const frame = frameOf(header);
    const r = parseServerMessage(frame);
    assert.deepEqual(r.message, header, type);
    assert.equal(r.payload, frame.payload, type);
    assert.deepEqual(parseServerMessage(decodeFrame(encodeFrame(header))).message, header, type);
  }
});

test('optional fields may be left out, and every upload kind parses', () => {
  const variants: Header[] = [
    { type: 'hello', protocol: 1, clientId: 'x', publicKey: KEY, numExamples: 0 },
    { ...clientExamples['fit-result'], upload: { kind: 'delta' } },
    { ...clientExamples['fit-result'], upload: { kind: 'encoded', codec: 'topk-8bit' } },
    { ...clientExamples['fit-result'], upload: { kind: 'encoded', codec: 'q', auxiliary: [1, 2] } },
    { ...clientExamples['fit-result'], upload: { kind: 'secure' }, metrics: {} },
    { ...clientExamples['fit-result'], numExamples: 0, seconds: 0 },
    { type: 'evaluate-result', round: 1, task: TASK, numExamples: 1, loss: 0, seconds: 0 },
    { ...clientExamples['evaluate-result'], accuracy: 0 },
    { ...clientExamples['evaluate-result'], accuracy: 1 },
    { ...clientExamples['task-error'], message: '' },
  ];
  for (const h of variants) assert.deepEqual(parseClientMessage(frameOf(h)).message, h, JSON.stringify(h));
  for (const h of [
    { ...serverExamples.welcome, trainer: { loss: 'mse', optimizer: {} } },
    { ...serverExamples.welcome, federation: '', model: {} },
    { ...serverExamples.fit, seed: 0, config: {} },
    { ...serverExamples.error, fatal: true, code: '', message: '' },
    { ...serverExamples.challenge, protocol: 99 },
  ])
    assert.deepEqual(parseServerMessage(frameOf(h)).message, h);
});

test('a client id is 1 to 64 letters, digits, dots, dashes or underscores', () => {
  for (const ok of ['a', 'A-z_0.9', 'x'.repeat(64), '...', '_-'])
    assert.equal(clientIdSchema.safeParse(ok).success, true, ok);
  for (const bad of [
    '',
    'x'.repeat(65),
    'a b',
    'a/b',
    'a\\b',
    'é',
    'a\nb',
    'a\n',
    'name@host',
    'ü',
    'a:b',
    5,
  ])
    assert.equal(clientIdSchema.safeParse(bad).success, false, JSON.stringify(bad));
});

test('each side refuses the other side’s messages, and unknown or missing types', () => {
  const clientTypes = "'hello' | 'auth' | 'fit-result' | 'stage-result' | 'evaluate-result' | 'task-error'";
  const serverTypes = "'challenge' | 'welcome' | 'fit' | 'stage' | 'evaluate' | 'error' | 'done'";
  for (const [type, header] of Object.entries(serverExamples))
    refuses(
      client,
      header,
      `client message '${type}' refused: type: Invalid discriminator value. Expected ${clientTypes}`,
    );
  for (const [type, header] of Object.entries(clientExamples))
    refuses(
      server,
      header,
      `server message '${type}' refused: type: Invalid discriminator value. Expected ${serverTypes}`,
    );
  refuses(client, {}, `client message refused: type: Invalid discriminator value. Expected ${clientTypes}`);
  refuses(
    client,
    { type: 7, signature: SIG },
    `client message refused: type: Invalid discriminator value. Expected ${clientTypes}`,
  );
  refuses(
    server,
    { type: 'HELLO' },
    `server message 'HELLO' refused: type: Invalid discriminator value. Expected ${serverTypes}`,
  );
  // A long type is cut to 32 characters in the message.
  refuses(
    client,
    { type: 'x'.repeat(500) },
    new RegExp(`^client message '${'x'.repeat(32)}' refused: type: `),
  );
  refuses(client, [], 'client message refused: (header): Invalid input: expected object, received array');
});

test('a refusal names at most the first three problems', () => {
  const header = { type: 'evaluate-result', round: 0, task: 'X', numExamples: 0, loss: 'l', seconds: -1 };
  assert.throws(
    () => parseClientMessage(frameOf(header)),
    (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      const issues = e.message.replace("client message 'evaluate-result' refused: ", '').split('; ');
      assert.equal(issues.length, 3, e.message);
      assert.deepEqual(
        issues.map((i) => i.split(':')[0]),
        ['round', 'task', 'numExamples'],
      );
      return true;
    },
  );
});

// ---- field by field --------------------------------------------------------------------------

interface Case {
  /** The change to the type's valid example (a value of undefined deletes the field). */
  change: Header;
  /** The refusal message after "<side> message '<type>' refused: ", exactly or as a pattern. */
  expect: string | RegExp;
}

const NOT_FINITE_NAN = 'Invalid input: expected number, received NaN';
const NOT_FINITE_INF = 'Invalid input: expected number, received Infinity';
const TASK_MSG = 'task: a task id is 16 to 64 lowercase hex digits';
const CLIENT_ID_MSG = 'a client id is 1 to 64 letters, digits, dots, dashes or underscores';

/** Cases every message with a round and a task shares. */
const roundAndTask: Case[] = [
  { change: { round: 0 }, expect: /^round: Too small: expected number to be >=1$/ },
  { change: { round: -3 }, expect: /^round: Too small/ },
  { change: { round: 1.5 }, expect: 'round: Invalid input: expected int, received number' },
  { change: { round: '1' }, expect: 'round: Invalid input: expected number, received string' },
  { change: { round: NaN }, expect: `round: ${NOT_FINITE_NAN}` },
  { change: { round: Infinity }, expect: /^round: / },
  { change: { round: 2 ** 53 }, expect: /^round: Too big/ },
  { change: { round: undefined }, expect: 'round: Invalid input: expected number, received undefined' },
  { change: { task: 'abc' }, expect: TASK_MSG },
  { change: { task: '0123456789abcde' }, expect: TASK_MSG },
  { change: { task: 'a'.repeat(65) }, expect: TASK_MSG },
  { change: { task: '0123456789ABCDEF' }, expect: TASK_MSG },
  { change: { task: '0123456789abcdeg' }, expect: TASK_MSG },
  { change: { task: '0123456789abcdef\n' }, expect: TASK_MSG },
  { change: { task: ' 0123456789abcdef' }, expect: TASK_MSG },
  { change: { task: 1234567890123456 }, expect: 'task: Invalid input: expected string, received number' },
  { change: { task: undefined }, expect: 'task: Invalid input: expected string, received undefined' },
];

const signatureCases: Case[] = [
  { change: { signature: b64(63) }, expect: 'signature: must encode 64 bytes' },
  { change: { signature: b64(65) }, expect: 'signature: must encode 64 bytes' },
  { change: { signature: '' }, expect: /^signature: must be base64url/ },
  {
    change: { signature: Buffer.alloc(64, 0xfb).toString('base64') },
    expect: /^signature: must be base64url/,
  },
  { change: { signature: SIG + '==' }, expect: /^signature: must be base64url/ },
  { change: { signature: 64 }, expect: 'signature: Invalid input: expected string, received number' },
  {
    change: { signature: undefined },
    expect: 'signature: Invalid input: expected string, received undefined',
  },
];

const secondsCases: Case[] = [
  { change: { seconds: -1 }, expect: /^seconds: Too small: expected number to be >=0$/ },
  { change: { seconds: NaN }, expect: `seconds: ${NOT_FINITE_NAN}` },
  { change: { seconds: Infinity }, expect: /^seconds: / },
  { change: { seconds: '1' }, expect: 'seconds: Invalid input: expected number, received string' },
];

const extraKey: Case = { change: { isAdmin: true }, expect: '(header): Unrecognized key: "isAdmin"' };

const clientCases: Record<string, Case[]> = {
  hello: [
    { change: { protocol: '1' }, expect: 'protocol: Invalid input: expected number, received string' },
    { change: { protocol: 1.5 }, expect: 'protocol: Invalid input: expected int, received number' },
    {
      change: { protocol: undefined },
      expect: 'protocol: Invalid input: expected number, received undefined',
    },
    {
      change: { clientId: undefined },
      expect: 'clientId: Invalid input: expected string, received undefined',
    },
    { change: { clientId: '' }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { clientId: 'x'.repeat(65) }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { clientId: 'a b' }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { clientId: '../etc' }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { clientId: 'dev\nice' }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { clientId: 'appareil-é' }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { publicKey: b64(31) }, expect: 'publicKey: must encode 32 bytes' },
    { change: { publicKey: b64(33) }, expect: 'publicKey: must encode 32 bytes' },
    { change: { publicKey: b64(64) }, expect: 'publicKey: must encode 32 bytes' },
    {
      change: { publicKey: Buffer.alloc(32, 0xfb).toString('base64') },
      expect: /^publicKey: must be base64url/,
    },
    { change: { publicKey: KEY.slice(0, 42) + '.' }, expect: /^publicKey: must be base64url/ },
    { change: { publicKey: [1, 2] }, expect: 'publicKey: Invalid input: expected string, received array' },
    { change: { token: '' }, expect: /^token: Too small: expected string to have >=1 characters$/ },
    {
      change: { token: 't'.repeat(513) },
      expect: /^token: Too big: expected string to have <=512 characters$/,
    },
    { change: { token: null }, expect: /^token: Invalid input: expected string, received null$/ },
    {
      change: { numExamples: undefined },
      expect: 'numExamples: Invalid input: expected number, received undefined',
    },
    { change: { numExamples: -1 }, expect: /^numExamples: Too small: expected number to be >=0$/ },
    { change: { numExamples: 0.5 }, expect: 'numExamples: Invalid input: expected int, received number' },
    { change: { numExamples: NaN }, expect: `numExamples: ${NOT_FINITE_NAN}` },
    { change: { numExamples: Infinity }, expect: /^numExamples: / },
    { change: { numExamples: '10' }, expect: 'numExamples: Invalid input: expected number, received string' },
    extraKey,
  ],
  auth: [
    ...signatureCases,
    extraKey,
    { change: { nonce: KEY }, expect: '(header): Unrecognized key: "nonce"' },
  ],
  'fit-result': [
    ...roundAndTask,
    ...signatureCases,
    ...secondsCases,
    extraKey,
    { change: { upload: undefined }, expect: /^upload: / },
    { change: { upload: 'delta' }, expect: /^upload: / },
    {
      change: { upload: { kind: 'plain' } },
      expect: "upload.kind: Invalid discriminator value. Expected 'delta' | 'encoded' | 'secure'",
    },
    { change: { upload: { kind: 'encoded' } }, expect: /^upload\.codec: / },
    { change: { upload: { kind: 'encoded', codec: '' } }, expect: /^upload\.codec: Too small/ },
    { change: { upload: { kind: 'encoded', codec: 'c'.repeat(65) } }, expect: /^upload\.codec: Too big/ },
    {
      change: { upload: { kind: 'secure', auxiliary: [1] } },
      expect: 'upload: Unrecognized key: "auxiliary"',
    },
    { change: { upload: { kind: 'delta', codec: 'x' } }, expect: 'upload: Unrecognized key: "codec"' },
    {
      change: { upload: { kind: 'delta', auxiliary: [1, NaN] } },
      expect: `upload.auxiliary.1: ${NOT_FINITE_NAN}`,
    },
    { change: { upload: { kind: 'delta', auxiliary: [-Infinity] } }, expect: /^upload\.auxiliary\.0: / },
    {
      change: { upload: { kind: 'encoded', codec: 'q', auxiliary: [Infinity] } },
      expect: `upload.auxiliary.0: ${NOT_FINITE_INF}`,
    },
    {
      change: { upload: { kind: 'delta', auxiliary: new Array(65).fill(0) } },
      expect: /^upload\.auxiliary: Too big/,
    },
    { change: { upload: { kind: 'delta', auxiliary: ['1'] } }, expect: /^upload\.auxiliary\.0: / },
    { change: { numExamples: -1 }, expect: /^numExamples: Too small/ },
    { change: { numExamples: 2.5 }, expect: 'numExamples: Invalid input: expected int, received number' },
    { change: { numExamples: NaN }, expect: `numExamples: ${NOT_FINITE_NAN}` },
    { change: { metrics: { accuracy: NaN } }, expect: `metrics.accuracy: ${NOT_FINITE_NAN}` },
    { change: { metrics: { loss: Infinity } }, expect: `metrics.loss: ${NOT_FINITE_INF}` },
    { change: { metrics: { loss: '0.1' } }, expect: /^metrics\.loss: / },
    { change: { metrics: { ['k'.repeat(65)]: 1 } }, expect: /^metrics(\.k+)?: / },
    {
      change: { metrics: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, i])) },
      expect: 'metrics: at most 32 metrics',
    },
    { change: { metrics: [1, 2] }, expect: /^metrics: / },
    { change: { metrics: undefined }, expect: /^metrics: / },
  ],
  'stage-result': [
    ...roundAndTask,
    ...signatureCases,
    ...secondsCases,
    extraKey,
    { change: { stage: '' }, expect: /^stage: Too small/ },
    { change: { stage: 's'.repeat(33) }, expect: /^stage: Too big/ },
    { change: { stage: undefined }, expect: /^stage: / },
  ],
  'evaluate-result': [
    ...roundAndTask,
    ...secondsCases,
    extraKey,
    { change: { numExamples: 0 }, expect: /^numExamples: Too small: expected number to be >=1$/ },
    { change: { numExamples: 1.5 }, expect: 'numExamples: Invalid input: expected int, received number' },
    { change: { loss: NaN }, expect: `loss: ${NOT_FINITE_NAN}` },
    { change: { loss: Infinity }, expect: `loss: ${NOT_FINITE_INF}` },
    { change: { loss: -Infinity }, expect: /^loss: / },
    { change: { loss: null }, expect: 'loss: Invalid input: expected number, received null' },
    { change: { loss: undefined }, expect: 'loss: Invalid input: expected number, received undefined' },
    { change: { accuracy: 1.01 }, expect: /^accuracy: Too big: expected number to be <=1$/ },
    { change: { accuracy: -0.01 }, expect: /^accuracy: Too small: expected number to be >=0$/ },
    { change: { accuracy: NaN }, expect: `accuracy: ${NOT_FINITE_NAN}` },
    { change: { signature: SIG }, expect: '(header): Unrecognized key: "signature"' },
  ],
  'task-error': [
    ...roundAndTask,
    extraKey,
    {
      change: { message: 'm'.repeat(2001) },
      expect: /^message: Too big: expected string to have <=2000 characters$/,
    },
    { change: { message: undefined }, expect: 'message: Invalid input: expected string, received undefined' },
    {
      change: { message: { text: 'x' } },
      expect: 'message: Invalid input: expected string, received object',
    },
  ],
};

const serverCases: Record<string, Case[]> = {
  challenge: [
    extraKey,
    { change: { nonce: b64(31) }, expect: 'nonce: must encode 32 bytes' },
    { change: { nonce: b64(33) }, expect: 'nonce: must encode 32 bytes' },
    { change: { nonce: Buffer.alloc(32, 0xff).toString('base64') }, expect: /^nonce: must be base64url/ },
    { change: { nonce: undefined }, expect: 'nonce: Invalid input: expected string, received undefined' },
    {
      change: { protocol: undefined },
      expect: 'protocol: Invalid input: expected number, received undefined',
    },
    { change: { protocol: 1.1 }, expect: 'protocol: Invalid input: expected int, received number' },
  ],
  welcome: [
    extraKey,
    { change: { clientId: 'a b' }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { clientId: 'x'.repeat(65) }, expect: `clientId: ${CLIENT_ID_MSG}` },
    { change: { federation: 'f'.repeat(201) }, expect: /^federation: Too big/ },
    { change: { model: [] }, expect: 'model: Invalid input: expected record, received array' },
    { change: { model: 'mlp' }, expect: 'model: Invalid input: expected record, received string' },
    { change: { model: null }, expect: 'model: Invalid input: expected record, received null' },
    { change: { trainer: { loss: 'mse', optimizer: {}, lr: 1 } }, expect: 'trainer: Unrecognized key: "lr"' },
    { change: { trainer: { loss: 'l'.repeat(65), optimizer: {} } }, expect: /^trainer\.loss: Too big/ },
    { change: { trainer: { loss: 'mse' } }, expect: /^trainer\.optimizer: / },
    {
      change: { trainer: { loss: 'mse', optimizer: {}, classWeights: [1, NaN] } },
      expect: `trainer.classWeights.1: ${NOT_FINITE_NAN}`,
    },
    {
      change: { trainer: { loss: 'mse', optimizer: {}, classWeights: [Infinity] } },
      expect: `trainer.classWeights.0: ${NOT_FINITE_INF}`,
    },
    { change: { parameters: 0 }, expect: /^parameters: Too small: expected number to be >=1$/ },
    { change: { parameters: 1.5 }, expect: 'parameters: Invalid input: expected int, received number' },
    { change: { parameters: 2 ** 53 }, expect: /^parameters: Too big/ },
  ],
  fit: [
    ...roundAndTask,
    extraKey,
    { change: { seed: -1 }, expect: /^seed: Too small: expected number to be >=0$/ },
    { change: { seed: 2 ** 32 }, expect: /^seed: Too big: expected number to be <=4294967295$/ },
    { change: { seed: 0.5 }, expect: 'seed: Invalid input: expected int, received number' },
    { change: { seed: NaN }, expect: `seed: ${NOT_FINITE_NAN}` },
    { change: { seed: undefined }, expect: 'seed: Invalid input: expected number, received undefined' },
    { change: { config: undefined }, expect: /^config: / },
    { change: { config: [1] }, expect: 'config: Invalid input: expected record, received array' },
  ],
  stage: [
    ...roundAndTask,
    extraKey,
    { change: { stage: '' }, expect: /^stage: Too small/ },
    { change: { stage: 's'.repeat(33) }, expect: /^stage: Too big/ },
  ],
  evaluate: [...roundAndTask, extraKey],
  error: [
    extraKey,
    { change: { fatal: 'yes' }, expect: 'fatal: Invalid input: expected boolean, received string' },
    { change: { fatal: undefined }, expect: 'fatal: Invalid input: expected boolean, received undefined' },
    { change: { code: 'c'.repeat(65) }, expect: /^code: Too big/ },
    { change: { message: 'm'.repeat(2001) }, expect: /^message: Too big/ },
  ],
  done: [
    extraKey,
    { change: { reason: 5 }, expect: 'reason: Invalid input: expected string, received number' },
    { change: { reason: undefined }, expect: 'reason: Invalid input: expected string, received undefined' },
    { change: { reason: 'r'.repeat(2001) }, expect: /^reason: Too big/ },
  ],
};

function applyChange(example: Header, change: Header): Header {
  const out: Header = { ...example };
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function checkCases(side: Side, examples: Record<string, Header>, cases: Record<string, Case[]>): void {
  assert.deepEqual(Object.keys(cases).sort(), Object.keys(examples).sort(), 'a case list for every type');
  for (const [type, list] of Object.entries(cases)) {
    for (const { change, expect } of list) {
      const header = applyChange(examples[type], change);
      const prefix = `${side.name} message '${type}' refused: `;
      const what = `${type} with ${Object.entries(change)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? String(v) : JSON.stringify(v)?.slice(0, 40)}`)
        .join(', ')}`;
      refuses(
        side,
        header,
        typeof expect === 'string'
          ? prefix + expect
          : new RegExp(escape(prefix) + expect.source.replace(/^\^/, ''), expect.flags),
        what,
      );
    }
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('every client message type refuses wrong, missing, extra and non-finite fields, naming the field', () => {
  checkCases(client, clientExamples, clientCases);
});

test('every server message type refuses wrong, missing, extra and non-finite fields, naming the field', () => {
  checkCases(server, serverExamples, serverCases);
});

test('boundary values that are allowed are allowed', () => {
  const accept = (side: Side, type: string, examples: Record<string, Header>, change: Header) =>
    assert.doesNotThrow(
      () => side.parse(frameOf(applyChange(examples[type], change))),
      JSON.stringify(change),
    );
  accept(client, 'fit-result', clientExamples, { task: 'a'.repeat(64) });
  accept(client, 'fit-result', clientExamples, { round: 2 ** 53 - 1 });
  accept(client, 'fit-result', clientExamples, {
    metrics: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`m${i}`, -i])),
  });
  accept(client, 'fit-result', clientExamples, {
    upload: { kind: 'delta', auxiliary: new Array(64).fill(-0) },
  });
  accept(client, 'stage-result', clientExamples, { stage: 's'.repeat(32) });
  accept(client, 'hello', clientExamples, { token: 't'.repeat(512), clientId: 'x'.repeat(64) });
  accept(client, 'task-error', clientExamples, { message: 'm'.repeat(2000) });
  accept(server, 'fit', serverExamples, { seed: 0 });
  accept(server, 'welcome', serverExamples, { federation: 'f'.repeat(200), parameters: 1 });
});

test('a header that is not an object at all is refused as bad-message, not a TypeError', () => {
  // Frame.header is `unknown` (decodeFrame never yields these, but the exported parsers accept any Frame).
  for (const header of [null, undefined, 5, 'hello', true]) {
    refuses(client, header, /^client message refused: \(header\): /, String(header));
    refuses(server, header, /^server message refused: \(header\): /, String(header));
  }
});

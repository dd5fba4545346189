import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { SecAggClient } from './client.js';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';
import { portableSecAggCrypto, type SecAggCrypto } from './crypto-suite.js';
import { SecAggAbortError, SecAggError, SecAggRefusalError, type SecAggErrorCode } from './errors.js';
import { runSecAggInProcess, type InProcessReport } from './in-process.js';
import type { UnmaskRequestMessage, UnmaskResponseMessage } from './messages.js';
import { createSecAggParams, type SecAggOptions, type SecAggParams } from './params.js';
import { combineShares, type Share } from './shamir.js';
import { SecAggServer } from './server.js';
import { RoundTopology } from './topology.js';

const nodeCrypto = nodeSecAggCrypto();
const portableCrypto = portableSecAggCrypto();
const RANGE = 2;
const LENGTH = 1000;

function inputs(n: number, length: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length }, () => rng.normal() * 0.8));
}

/** Assert the report's sum is the sum of exactly `expectedSurvivors`' clipped inputs, within its bound. */
function assertSum(
  report: InProcessReport | { sum: Float32Array; survivors: readonly number[]; errorBound: number },
  vectors: Float32Array[],
  expectedSurvivors: number[],
  range = RANGE,
) {
  assert.deepEqual([...report.survivors], expectedSurvivors);
  let worst = 0;
  for (let i = 0; i < report.sum.length; i++) {
    let exact = 0;
    for (const id of expectedSurvivors) exact += Math.max(-range, Math.min(range, vectors[id][i]));
    worst = Math.max(worst, Math.abs(report.sum[i] - exact));
  }
  assert.ok(worst <= report.errorBound, `max error ${worst} exceeds the bound ${report.errorBound}`);
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);
const except = (n: number, gone: number[]) => ids(n).filter((i) => !gone.includes(i));

function isError(
  code: SecAggErrorCode,
  kind: abstract new (...args: never[]) => SecAggError,
  pattern: RegExp,
) {
  return (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
    assert.equal((e as SecAggError).code, code, (e as Error).message);
    assert.match((e as Error).message, pattern);
    return true;
  };
}

// ---- correctness ---------------------------------------------------------------------------

test('classic SecAgg (every client a neighbour): the sum equals the plain sum within the bound', async () => {
  const vectors = inputs(10, LENGTH, 1);
  const report = await runSecAggInProcess({
    vectors,
    range: RANGE,
    neighbours: 9,
    seed: 1,
    crypto: nodeCrypto,
  });
  assert.equal(report.params.threshold, 6);
  assertSum(report, vectors, ids(10));
  assert.ok(report.bytes.upPerClient > 4 * LENGTH, 'the masked vector dominates the upload');
});

test('SecAgg+ with a sparse graph, ChaCha20 masks and stochastic rounding', async () => {
  const vectors = inputs(20, LENGTH, 2);
  const report = await runSecAggInProcess({
    vectors,
    range: RANGE,
    neighbours: 6,
    prg: 'chacha20',
    rounding: 'stochastic',
    seed: 2,
    crypto: nodeCrypto,
  });
  assertSum(report, vectors, ids(20));
});

test('the portable suite (browser path) computes the same protocol', async () => {
  const vectors = inputs(8, 300, 3);
  const report = await runSecAggInProcess({
    vectors,
    range: RANGE,
    neighbours: 4,
    prg: 'chacha20',
    seed: 3,
    crypto: portableCrypto,
  });
  assertSum(report, vectors, ids(8));
});

test('clients on the portable suite and a server on node:crypto interoperate (both PRGs)', () => {
  for (const prg of ['aes-256-ctr', 'chacha20'] as const) {
    const vectors = inputs(6, 200, 4);
    const h = new Harness({ clientIds: ids(6), vectorLength: 200, range: RANGE, neighbours: 4, prg }, (id) =>
      id % 2 === 0 ? portableCrypto : nodeCrypto,
    );
    h.advertise();
    h.share();
    const requests = h.mask(vectors);
    h.answer(requests);
    assertSum(h.server.finish(), vectors, ids(6));
  }
});

test('the in-process runner gives the same result with or without the binary codec', async () => {
  const vectors = inputs(6, 100, 13);
  for (const encode of [true, false]) {
    const report = await runSecAggInProcess({
      vectors,
      range: RANGE,
      neighbours: 4,
      seed: 13,
      encode,
      crypto: nodeCrypto,
    });
    assertSum(report, vectors, ids(6));
    assert.equal(report.bytes.totalUp > 0, encode, 'bytes are counted only when messages are encoded');
  }
});

test('a weighted sum is each client pre-multiplying its vector by its weight', async () => {
  const vectors = inputs(6, 100, 5);
  const weights = [1, 2, 3, 4, 5, 6];
  const weighted = vectors.map((v, i) => v.map((x) => x * weights[i]));
  const report = await runSecAggInProcess({
    vectors: weighted,
    range: 6 * RANGE,
    neighbours: 5,
    seed: 5,
    crypto: nodeCrypto,
  });
  assertSum(report, weighted, ids(6), 6 * RANGE);
});

// ---- dropouts -------------------------------------------------------------------------------

test('dropouts before and after advertising keys: those clients are simply not in the sum', async () => {
  const vectors = inputs(12, LENGTH, 6);
  const report = await runSecAggInProcess({
    vectors,
    range: RANGE,
    neighbours: 11,
    seed: 6,
    crypto: nodeCrypto,
    dropouts: { beforeAdvertise: [0], afterAdvertise: [5, 7] },
  });
  assertSum(report, vectors, except(12, [0, 5, 7]));
  assert.deepEqual(report.recoveredDropouts, []);
});

test('dropouts after sharing keys: their pairwise masks are rebuilt and removed', async () => {
  const vectors = inputs(12, LENGTH, 7);
  for (const neighbours of [11, 6]) {
    const report = await runSecAggInProcess({
      vectors,
      range: RANGE,
      neighbours,
      seed: 7,
      crypto: nodeCrypto,
      dropouts: { afterShareKeys: [2, 9] },
    });
    assertSum(report, vectors, except(12, [2, 9]));
    assert.deepEqual(report.recoveredDropouts, [2, 9]);
  }
});

test('dropouts after sending the masked input: their input still counts (self-mask rebuilt by others)', async () => {
  const vectors = inputs(12, LENGTH, 8);
  const report = await runSecAggInProcess({
    vectors,
    range: RANGE,
    neighbours: 11,
    seed: 8,
    crypto: nodeCrypto,
    dropouts: { afterMaskedInput: [1, 4, 10] },
  });
  assertSum(report, vectors, ids(12));
});

test('dropouts at every stage in one round', async () => {
  const vectors = inputs(20, LENGTH, 9);
  const report = await runSecAggInProcess({
    vectors,
    range: RANGE,
    neighbours: 12,
    seed: 9,
    crypto: nodeCrypto,
    dropouts: { beforeAdvertise: [3], afterAdvertise: [8], afterShareKeys: [11, 15], afterMaskedInput: [0] },
  });
  assertSum(report, vectors, except(20, [3, 8, 11, 15]));
  assert.deepEqual(report.recoveredDropouts, [11, 15]);
});

// ---- aborts ---------------------------------------------------------------------------------

test('fewer than t clients advertising keys aborts the round, saying why', async () => {
  await assert.rejects(
    runSecAggInProcess({
      vectors: inputs(8, 10, 1),
      range: 1,
      neighbours: 7,
      seed: 1,
      crypto: nodeCrypto,
      dropouts: { beforeAdvertise: [0, 1, 2, 3] },
    }),
    isError(
      'too-few-clients',
      SecAggAbortError,
      /advertise-keys.*only 4 clients advertised keys.*fewer than the threshold 5/,
    ),
  );
});

test('fewer than t masked inputs aborts before anything is unmasked', async () => {
  await assert.rejects(
    runSecAggInProcess({
      vectors: inputs(8, 10, 1),
      range: 1,
      neighbours: 7,
      seed: 1,
      crypto: nodeCrypto,
      dropouts: { afterShareKeys: [0, 1, 2, 3] },
    }),
    isError(
      'too-few-clients',
      SecAggAbortError,
      /masked-input.*only 4 clients sent masked inputs, fewer than the threshold 5/,
    ),
  );
});

test('fewer than t answers in unmasking aborts: a secret cannot be rebuilt', async () => {
  await assert.rejects(
    runSecAggInProcess({
      vectors: inputs(8, 10, 1),
      range: 1,
      neighbours: 7,
      seed: 1,
      crypto: nodeCrypto,
      dropouts: { afterMaskedInput: [0, 1, 2, 3] },
    }),
    isError(
      'reconstruction-failed',
      SecAggAbortError,
      /only 4 shares of client 0's self-mask seed arrived, 5 needed/,
    ),
  );
});

test("a neighbourhood too thin to rebuild a dropped client's key aborts", () => {
  // 12 clients, 4 neighbours, t = 3: a client and two of its neighbours drop after sharing keys.
  const h = new Harness({ clientIds: ids(12), vectorLength: 10, range: 1, neighbours: 4 });
  assert.equal(h.params.threshold, 3);
  h.advertise();
  h.share();
  const victim = 0;
  const [a, b] = h.topology.neighbourIds(victim);
  assert.throws(
    () => h.mask(inputs(12, 10, 1), [victim, a, b]),
    isError('neighbourhood-too-small', SecAggAbortError, /fewer than the threshold 3/),
  );
});

test('survivors split into separately masked groups: the server aborts instead of revealing partial sums', () => {
  // A ring (k = 2, t = 2): two dropped clients opposite each other cut it into two arcs of five.
  const h = new Harness({ clientIds: ids(12), vectorLength: 10, range: 1, neighbours: 2 });
  h.advertise();
  h.share();
  assert.throws(
    () => h.mask(inputs(12, 10, 1), [0, oppositeOnRing(h.topology, 0)]),
    isError(
      'disconnected-survivors',
      SecAggAbortError,
      /survivors fall into 2 groups with no mask between them \(sizes 5, 5\)/,
    ),
  );
});

// ---- a malicious server ----------------------------------------------------------------------

test('an honest client refuses a request for both shares of one client', () => {
  const h = new Harness({ clientIds: ids(10), vectorLength: 50, range: 1, neighbours: 9 });
  h.advertise();
  h.share();
  const requests = h.mask(inputs(10, 50, 1), [4]);
  const to3 = requests.get(3)!;
  // Ask client 3 for client 7's self-mask share and its mask-key share: together they unmask x_7.
  const malicious: UnmaskRequestMessage = { ...to3, keySharesOf: [...to3.keySharesOf, 7] };
  assert.throws(
    () => h.clients.get(3)!.unmask(malicious),
    isError(
      'double-share-request',
      SecAggRefusalError,
      /client 3 refuses: .*both the self-mask share and the mask-key share of client 7/,
    ),
  );
});

test('an honest client refuses requests about clients outside its neighbourhood, and a second request', () => {
  const h = new Harness({ clientIds: ids(12), vectorLength: 50, range: 1, neighbours: 4 });
  h.advertise();
  h.share();
  const requests = h.mask(inputs(12, 50, 1));
  const stranger = ids(12).find((v) => v !== 5 && !h.topology.neighbourIds(5).includes(v))!;
  const to5 = requests.get(5)!;
  assert.throws(
    () => h.clients.get(5)!.unmask({ ...to5, selfMaskSharesOf: [...to5.selfMaskSharesOf, stranger] }),
    isError(
      'outside-neighbourhood',
      SecAggRefusalError,
      new RegExp(`client ${stranger} is not in its neighbourhood`),
    ),
  );
  const to6 = requests.get(6)!;
  h.clients.get(6)!.unmask(to6);
  const sneaky = h.topology.neighbourIds(6)[0];
  assert.throws(
    () =>
      h.clients.get(6)!.unmask({
        ...to6,
        selfMaskSharesOf: [6],
        keySharesOf: [sneaky],
        survivors: to6.survivors.filter((v) => v !== sneaky),
      }),
    isError('already-answered', SecAggRefusalError, /already answered an unmasking request/),
  );
});

test('an honest client refuses requests that contradict what it saw', () => {
  const cases: [string, (r: UnmaskRequestMessage) => UnmaskRequestMessage, RegExp][] = [
    [
      'key share of a survivor',
      (r) => ({ ...r, selfMaskSharesOf: r.selfMaskSharesOf.filter((v) => v !== 1), keySharesOf: [1] }),
      /mask-key share asked for client 1, listed as a survivor/,
    ],
    [
      'its own key share',
      (r) => ({
        ...r,
        survivors: r.survivors.filter((v) => v !== 0),
        keySharesOf: [0],
        selfMaskSharesOf: [],
      }),
      /its own mask-key share/,
    ],
    [
      'not listed as a survivor',
      (r) => ({ ...r, survivors: r.survivors.filter((v) => v !== 0), selfMaskSharesOf: [] }),
      /not listed among the survivors/,
    ],
    [
      'a survivor that never shared keys',
      (r) => ({ ...r, survivors: [...r.survivors, 5] }),
      /client 5 is listed as a survivor but never shared keys with it/,
    ],
    [
      'a self-mask share of a dropped client',
      (r) => ({ ...r, selfMaskSharesOf: [...r.selfMaskSharesOf, 5] }),
      /client 5, not listed as a survivor/,
    ],
  ];
  for (const [name, tamper, pattern] of cases) {
    const h = new Harness({ clientIds: ids(6), vectorLength: 10, range: 1, neighbours: 5 });
    h.advertise();
    h.share([5]); // client 5 never shares keys
    const requests = h.mask(inputs(6, 10, 1));
    assert.throws(
      () => h.clients.get(0)!.unmask(tamper(requests.get(0)!)),
      isError('inconsistent-request', SecAggRefusalError, pattern),
      name,
    );
  }
});

test('an honest client refuses to unmask over a survivor set that is cut in two', () => {
  const h = new Harness({ clientIds: ids(12), vectorLength: 10, range: 1, neighbours: 2 });
  h.advertise();
  h.share();
  const requests = h.mask(inputs(12, 10, 1));
  // The server pretends two non-adjacent clients dropped, which would cut the ring into two arcs.
  const a = 0;
  const b = oppositeOnRing(h.topology, a);
  const victim = ids(12).find(
    (v) => ![a, b].includes(v) && !h.topology.neighbourIds(v).some((w) => [a, b].includes(w)),
  )!;
  const honest = requests.get(victim)!;
  assert.throws(
    () =>
      h.clients
        .get(victim)!
        .unmask({ ...honest, survivors: honest.survivors.filter((v) => v !== a && v !== b) }),
    isError('disconnected-survivors', SecAggRefusalError, /fall into 2 groups/),
  );
});

test('a server that asks half the neighbours for self-mask shares and half for key shares cannot get t of both', () => {
  // Each honest client gives at most one kind of share per client, and t is a strict majority of the
  // k + 1 shares: two disjoint groups of answerers cannot both reach t.
  const h = new Harness({ clientIds: ids(9), vectorLength: 10, range: 1, neighbours: 8 });
  h.advertise();
  h.share();
  const requests = h.mask(inputs(9, 10, 1));
  const target = 0;
  const t = h.params.threshold;
  const selfShares: Share[] = [];
  const keyShares: Share[] = [];
  for (const [id, honest] of requests) {
    if (id === target) continue;
    const askKey = id % 2 === 0;
    const survivors = askKey ? honest.survivors.filter((v) => v !== target) : honest.survivors;
    const request: UnmaskRequestMessage = askKey
      ? {
          ...honest,
          survivors,
          selfMaskSharesOf: honest.selfMaskSharesOf.filter((v) => v !== target),
          keySharesOf: [target],
        }
      : honest;
    const response: UnmaskResponseMessage = h.clients.get(id)!.unmask(request);
    const x = h.topology.sharePoint(id);
    for (const s of response.selfMaskShares) if (s.of === target) selfShares.push({ x, y: s.share });
    for (const s of response.keyShares) if (s.of === target) keyShares.push({ x, y: s.share });
  }
  // Every honest client answered (one kind each), yet neither kind reaches t.
  assert.deepEqual([selfShares.length, keyShares.length, t], [4, 4, 5]);
  assert.throws(() => combineShares(selfShares, t, 32), /4 shares given, 5 needed/);
  assert.throws(() => combineShares(keyShares, t, 32), /4 shares given, 5 needed/);
});

test('a box tampered with by the server does not authenticate and is refused', () => {
  const h = new Harness({ clientIds: ids(5), vectorLength: 10, range: 1, neighbours: 4 });
  h.advertise();
  const forwarded = h.share();
  const bundle = forwarded.get(2)!;
  const box = bundle.boxes[0].box.slice();
  box[box.length - 1] ^= 1;
  assert.throws(
    () =>
      h.clients
        .get(2)!
        .maskInput(
          { ...bundle, boxes: [{ from: bundle.boxes[0].from, box }, ...bundle.boxes.slice(1)] },
          new Float32Array(10),
        ),
    isError('bad-message', SecAggRefusalError, /does not authenticate/),
  );
  // Redirecting a box meant for client 2 to client 3 fails too: the ids are bound in the associated data.
  const to3 = forwarded.get(3)!;
  const stolen = bundle.boxes.find((b) => b.from !== 3)!;
  assert.throws(
    () =>
      h.clients
        .get(3)!
        .maskInput(
          { ...to3, boxes: to3.boxes.map((b) => (b.from === stolen.from ? stolen : b)) },
          new Float32Array(10),
        ),
    /does not authenticate/,
  );
});

// ---- privacy of a single masked vector ---------------------------------------------------------

/** Chi-square statistic of the top and bottom bytes of the words over 256 bins each. */
function chiSquare(words: Uint32Array): { high: number; low: number } {
  const high = new Float64Array(256);
  const low = new Float64Array(256);
  for (const w of words) {
    high[w >>> 24]++;
    low[w & 0xff]++;
  }
  const expected = words.length / 256;
  const stat = (bins: Float64Array) => bins.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  return { high: stat(high), low: stat(low) };
}

test('each masked vector alone looks uniform (chi-square), while the unmasked encoding does not', () => {
  // 255 degrees of freedom: mean 255, sd 22.6. 400 is 6.4 sd out: a false alarm about once in 10^9 runs.
  const CRITICAL = 400;
  const length = 16384;
  const vectors = inputs(6, length, 12);
  const h = new Harness({ clientIds: ids(6), vectorLength: length, range: RANGE, neighbours: 5 });
  h.advertise();
  const forwarded = h.share();
  for (const id of ids(6)) {
    const message = h.clients.get(id)!.maskInput(forwarded.get(id)!, vectors[id]);
    const { high, low } = chiSquare(message.masked);
    assert.ok(
      high < CRITICAL && low < CRITICAL,
      `client ${id}: chi-square ${high.toFixed(1)} / ${low.toFixed(1)}`,
    );
  }
  // The same statistic on the quantized input without masks is far beyond the critical value.
  const p = createSecAggParams({ clientIds: ids(6), vectorLength: length, range: RANGE });
  const unmasked = new Uint32Array(length);
  const step = (2 * RANGE) / (2 ** p.quantization.bits - 1);
  vectors[0].forEach(
    (x, i) => (unmasked[i] = Math.round((Math.max(-RANGE, Math.min(RANGE, x)) + RANGE) / step)),
  );
  assert.ok(chiSquare(unmasked).high > 100 * CRITICAL);
});

// ---- bad input and misuse ---------------------------------------------------------------------

test('NaN in an update or a wrong length is refused with a clear error', () => {
  const h = new Harness({ clientIds: ids(4), vectorLength: 10, range: 1, neighbours: 3 });
  h.advertise();
  const forwarded = h.share();
  const bad = new Float32Array(10);
  bad[7] = NaN;
  assert.throws(
    () => h.clients.get(0)!.maskInput(forwarded.get(0)!, bad),
    isError('invalid-input', SecAggError, /index 7 is NaN/),
  );
  assert.throws(
    () => h.clients.get(1)!.maskInput(forwarded.get(1)!, new Float32Array(9)),
    /Float32Array of length 10/,
  );
});

test('a dropout schedule with an unknown stage or client is refused', async () => {
  const vectors = inputs(4, 10, 1);
  await assert.rejects(
    runSecAggInProcess({
      vectors,
      range: 1,
      neighbours: 3,
      crypto: nodeCrypto,
      dropouts: { afterShare: [1] } as never,
    }),
    /unknown dropout stage 'afterShare'/,
  );
  await assert.rejects(
    runSecAggInProcess({
      vectors,
      range: 1,
      neighbours: 3,
      crypto: nodeCrypto,
      dropouts: { afterShareKeys: [9] },
    }),
    /dropout of unknown client 9/,
  );
});

test('parameters that would weaken the protocol are refused', () => {
  const base: SecAggOptions = { clientIds: ids(10), vectorLength: 10, range: 1 };
  assert.throws(
    () => createSecAggParams({ ...base, neighbours: 9, threshold: 5 }),
    /threshold must be an integer in \[6, 10\].*strict majority/,
  );
  assert.throws(
    () => createSecAggParams({ ...base, clientIds: ids(9), neighbours: 3 }),
    /n \* k must be even/,
  );
  assert.throws(() => createSecAggParams({ ...base, bits: 30 }), /does not fit the ring/);
  assert.throws(() => createSecAggParams({ ...base, clientIds: [1, 2, 2] }), /appears twice/);
  assert.throws(
    () => createSecAggParams({ ...base, roundId: new Uint8Array(5) }),
    /roundId must be 32 bytes/,
  );
  const plan = createSecAggParams({ ...base, plan: { dropoutRate: 0 } });
  assert.equal(plan.neighbours, 4);
  assert.equal(plan.threshold, 3);
});

test('messages out of order, twice, or from strangers are refused without disturbing the round', () => {
  const vectors = inputs(5, 20, 3);
  const h = new Harness({ clientIds: ids(5), vectorLength: 20, range: RANGE, neighbours: 4 });
  assert.throws(
    () => h.server.closeKeySharing(),
    isError('out-of-order', SecAggError, /server is at 'advertise-keys'/),
  );
  assert.throws(
    () =>
      h.clients
        .get(0)!
        .unmask({ type: 'unmask-request', to: 0, survivors: [], selfMaskSharesOf: [], keySharesOf: [] }),
    /out-of-order|is at 'new'/,
  );
  const adverts = h.advertise();
  assert.throws(() => h.server.receiveAdvertisedKeys(adverts[0]), /out-of-order|server is at 'share-keys'/);
  const forwarded = h.share();
  const m0 = h.clients.get(0)!.maskInput(forwarded.get(0)!, vectors[0]);
  h.server.receiveMaskedInput(m0);
  assert.throws(
    () => h.server.receiveMaskedInput(m0),
    isError('bad-message', SecAggError, /sent its masked input twice/),
  );
  assert.throws(
    () => h.server.receiveMaskedInput({ type: 'masked-input', from: 99, masked: new Uint32Array(20) }),
    /client 99 is not part of this round/,
  );
  assert.throws(
    () => h.server.receiveMaskedInput({ type: 'masked-input', from: 1, masked: new Uint32Array(3) }),
    /must be 20 32-bit words/,
  );
  for (const id of [1, 2, 3, 4])
    h.server.receiveMaskedInput(h.clients.get(id)!.maskInput(forwarded.get(id)!, vectors[id]));
  const requests = new Map(h.server.closeMaskedInputs().map((r) => [r.to, r]));
  h.answer(requests);
  assertSum(h.server.finish(), vectors, ids(5));
});

// ---- helpers -----------------------------------------------------------------------------------

/** The client farthest from `from` in the graph (for a ring: the one opposite). */
function oppositeOnRing(topology: RoundTopology, from: number): number {
  const distance = new Map([[from, 0]]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    for (const next of topology.neighbourIds(queue[i])) {
      if (!distance.has(next)) {
        distance.set(next, distance.get(queue[i])! + 1);
        queue.push(next);
      }
    }
  }
  return queue[queue.length - 1];
}

/** A hand-driven round, for tests that play the server's part or inspect messages. */
class Harness {
  readonly params: SecAggParams;
  readonly topology: RoundTopology;
  readonly server: SecAggServer;
  readonly clients = new Map<number, SecAggClient>();
  private directories: ReturnType<SecAggServer['closeAdvertising']> = [];
  private forwarded = new Map<number, ReturnType<SecAggServer['closeKeySharing']>[number]>();

  constructor(options: SecAggOptions, cryptoOf: (id: number) => SecAggCrypto = () => nodeCrypto) {
    this.params = createSecAggParams({ roundId: new Uint8Array(32).fill(42), ...options });
    this.topology = new RoundTopology(this.params);
    this.server = new SecAggServer(this.params, nodeCrypto, { topology: this.topology });
    for (const id of this.params.clientIds) {
      this.clients.set(id, new SecAggClient(id, this.params, cryptoOf(id), { topology: this.topology }));
    }
  }

  advertise(dropped: number[] = []) {
    const adverts = [...this.clients]
      .filter(([id]) => !dropped.includes(id))
      .map(([, c]) => c.advertiseKeys());
    for (const m of adverts) this.server.receiveAdvertisedKeys(m);
    this.directories = this.server.closeAdvertising();
    return adverts;
  }

  share(dropped: number[] = []) {
    for (const d of this.directories) {
      if (!dropped.includes(d.to)) this.server.receiveSharedKeys(this.clients.get(d.to)!.shareKeys(d));
    }
    this.forwarded = new Map(this.server.closeKeySharing().map((f) => [f.to, f]));
    return this.forwarded;
  }

  mask(vectors: Float32Array[], dropped: number[] = []): Map<number, UnmaskRequestMessage> {
    for (const [id, f] of this.forwarded) {
      if (!dropped.includes(id))
        this.server.receiveMaskedInput(this.clients.get(id)!.maskInput(f, vectors[id]));
    }
    return new Map(this.server.closeMaskedInputs().map((r) => [r.to, r]));
  }

  answer(requests: Map<number, UnmaskRequestMessage>, dropped: number[] = []) {
    for (const [id, r] of requests) {
      if (!dropped.includes(id)) this.server.receiveUnmaskResponse(this.clients.get(id)!.unmask(r));
    }
  }
}

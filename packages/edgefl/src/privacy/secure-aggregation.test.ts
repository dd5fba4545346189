/**
 * Secure aggregation end to end: the server's layer (this strategy) driven by the real round
 * engine, and clients running the client pipeline's masking (federation/client-pipeline.ts) —
 * every message through the protocol's binary codec. Results are checked against the plain
 * strategies on the same updates, within the protocol's own error bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withSecureAggregation } from './secure-aggregation.js';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';
import { maxBitsFor, sumErrorBound } from './secagg/quantize.js';
import { secureInput } from './secagg/client-session.js';
import { FedAvg } from '../fl/strategies/fedavg.js';
import { FedAvgM } from '../fl/strategies/fedavgm.js';
import { FedAdam } from '../fl/strategies/fedadam.js';
import { FedMedian } from '../fl/strategies/fedmedian.js';
import { Krum } from '../fl/strategies/krum.js';
import { FedTrimmedAvg } from '../fl/strategies/fedtrimmedavg.js';
import { CenteredClipping } from '../fl/strategies/centered-clipping.js';
import type { ClientUpdate, FitConfig, Strategy } from '../fl/strategy.js';
import { UpdateRejected } from '../fl/update-check.js';
import { RoundEngine } from '../fl/engine.js';
import { protocolDropouts, type ProtocolDropouts } from '../fl/executors/protocol-dropouts.js';
import { LocalExecutor } from '../federation/local-executor.js';
import { SubsetDataset } from '../data/dataset.js';
import { dense, relu, sequential } from '../model/layers.js';
import { sgd } from '../autodiff/optimizers.js';
import { Trainer } from '../runtime/trainer.js';
import { nodeRuntime } from '@edgefl/node';
import { Rng } from '../util/rng.js';
import { blobsTrainTest } from '../../../../test/helpers/synthetic.js';
import { clientsWithUpdates } from '../../../../test/helpers/secure-clients.js';

const crypto = nodeSecAggCrypto();

/** n updates of length d, values ~ N(0, scale²), example counts in [1, 200]. */
function randomUpdates(n: number, d: number, seed: number, scale = 0.05): ClientUpdate[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    clientId: `c${i}`,
    delta: Float32Array.from({ length: d }, () => rng.normal() * scale),
    numExamples: 1 + rng.int(200),
  }));
}

function randomGlobal(d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: d }, () => rng.normal());
}

/** One round of a plain strategy from `global` over `updates`. */
function aggregate(
  strategy: Strategy,
  global: Float32Array,
  updates: ClientUpdate[],
  round = 1,
): Float32Array {
  const aggregator = strategy.beginRound({ round, global, rng: new Rng(1000 + round) });
  for (const u of updates) aggregator.add(u);
  return aggregator.finish().global;
}

interface SecureRunOptions {
  round?: number;
  dropouts?: ProtocolDropouts;
  fitConfig?: FitConfig;
  tamper?: (clientId: string, stage: string, payload: Uint8Array) => Uint8Array;
}

/** One round under secure aggregation through the engine: clients mask their own updates. */
async function secureRound(
  strategy: Strategy,
  global: Float32Array,
  updates: ClientUpdate[],
  o: SecureRunOptions = {},
) {
  const clients = clientsWithUpdates(updates, crypto, o.tamper);
  const engine = new RoundEngine({
    strategy,
    clients: updates.map((u) => ({ id: u.clientId, numExamples: u.numExamples })),
    executor: o.dropouts ? protocolDropouts(clients, o.dropouts, 7) : clients,
    fitConfig: o.fitConfig ?? { batchSize: 1, lr: 1 },
    seed: 1,
  });
  const { global: next, report } = await engine.runRound(o.round ?? 1, global);
  return { next, report, stats: report.statistics?.secureAggregation };
}

/** Asserts |actual − expected| ≤ bound + float32 slack per coordinate; returns the largest difference. */
function assertClose(actual: Float32Array, expected: Float32Array, bound: number, what: string): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    const allowed = bound + 2 ** -22 * Math.abs(expected[i]);
    assert.ok(diff <= allowed, `${what}: index ${i} differs by ${diff}, more than ${allowed}`);
    worst = Math.max(worst, diff);
  }
  return worst;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const sorted = (ids: readonly string[]) => [...ids].sort();

test('FedAvg under secure aggregation gives plain FedAvg (example-weighted) within the quantization bound', async () => {
  const d = 300;
  const updates = randomUpdates(8, d, 1);
  const global = randomGlobal(d, 2);
  const plain = aggregate(new FedAvg({ serverLearningRate: 0.7 }), global, updates);
  // The protocol's default bits (28 for 8 clients), both roundings; then 12 bits, where the
  // quantization error is far above float32 rounding, so the bound itself is what is tested.
  const cases = [
    { rounding: 'nearest', bits: undefined },
    { rounding: 'stochastic', bits: undefined },
    { rounding: 'nearest', bits: 12 },
  ] as const;
  for (const { rounding, bits } of cases) {
    const what = `secagg(fedavg), ${rounding}, ${bits ?? 'default'} bits`;
    const secure = withSecureAggregation(new FedAvg({ serverLearningRate: 0.7 }), { crypto, rounding, bits });
    assert.equal(secure.name, 'secagg(fedavg)');
    assert.equal(secure.aggregation, 'sum');
    const { next, report, stats: s } = await secureRound(secure, global, updates);
    assert.ok(s, what);
    assert.equal(report.aggregated, 8);
    assert.equal(s.clients, 8);
    assert.equal(s.survivors, 8);
    assert.deepEqual(sorted(s.survivorIds), sorted(updates.map((u) => u.clientId)));
    assert.equal(s.cryptoSuite, 'node');
    // The protocol's bound is sumErrorBound over the survivors, with the default range 1.
    assert.equal(s.range, 1);
    assert.equal(s.bits, bits ?? maxBitsFor(8));
    assert.equal(s.errorBound, sumErrorBound({ range: 1, bits: s.bits, rounding }, 8));
    const worst = assertClose(next, plain, 0.7 * s.meanErrorBound, what);
    if (bits === undefined) assert.ok(s.meanErrorBound < 1e-6, `${what}: mean bound ${s.meanErrorBound}`);
    // Below the bound, but of its order: the bound is neither violated nor vacuous.
    else
      assert.ok(worst > 0.7 * s.meanErrorBound * 0.05, `${what}: error ${worst}, bound ${s.meanErrorBound}`);
    // Every client uploads at least its masked vector of 4 bytes a value; the server sees only bytes.
    assert.ok(s.bytesUp > 8 * 4 * (d + 1), `bytes up ${s.bytesUp}`);
    assert.ok(report.bytesUp >= s.bytesUp, 'the round counts the protocol traffic');
    assert.ok(s.bytesDown > 0 && s.serverSeconds > 0);
    if (bits === undefined) {
      // The weights matter far beyond the bound: an unweighted mean would fail the check above.
      const unweighted = aggregate(
        new FedAvg({ serverLearningRate: 0.7 }),
        global,
        updates.map((u) => ({ ...u, numExamples: 1 })),
      );
      assert.ok(maxDifference(unweighted, plain) > 1000 * s.meanErrorBound);
    }
  }
});

test('FedAvgM (3 rounds) and FedAdam under secure aggregation match the plain strategies within the bound', async () => {
  const d = 200;
  // FedAvgM is linear in the mean delta: v ← βv + Δ, w ← w + ηv, so the errors add up round by round.
  const eta = 0.5;
  const beta = 0.9;
  const plainM = new FedAvgM({ serverLearningRate: eta, serverMomentum: beta });
  const secureM = withSecureAggregation(new FedAvgM({ serverLearningRate: eta, serverMomentum: beta }), {
    crypto,
  });
  let wPlain = randomGlobal(d, 3);
  let wSecure = wPlain;
  let vBound = 0;
  let wBound = 0;
  for (let round = 1; round <= 3; round++) {
    const updates = randomUpdates(6, d, 10 + round);
    wPlain = aggregate(plainM, wPlain, updates, round);
    const r = await secureRound(secureM, wSecure, updates, { round });
    wSecure = r.next;
    // + float32 storage of v (one rounding in each run, |v| ≤ 1 here).
    vBound = beta * vBound + r.stats!.meanErrorBound + 2 ** -23;
    wBound += eta * vBound;
    assertClose(wSecure, wPlain, wBound, `secagg(fedavgm) round ${round}`);
  }
  // State passes through: the wrapper's state is the inner strategy's.
  assert.deepEqual(secureM.getState!(), secureM.inner.getState!());
  const restored = withSecureAggregation(new FedAvgM(), { crypto });
  restored.setState!(plainM.getState());
  assert.deepEqual(restored.inner.getState!(), plainM.getState());
  assert.equal(withSecureAggregation(new FedAvg(), { crypto }).getState, undefined);

  // FedAdam's first step is η(1−β₁)Δ / (√(1−β₂)|Δ| + τ), whose slope in Δ is at most η(1−β₁)/τ.
  const adam = { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3, etaL: 0.05 };
  const global = randomGlobal(d, 4);
  const updates = randomUpdates(6, d, 20);
  const plainA = aggregate(new FedAdam(adam), global, updates);
  const secureA = withSecureAggregation(new FedAdam(adam), { crypto });
  const r = await secureRound(secureA, global, updates);
  const slope = (adam.eta * (1 - adam.beta1)) / adam.tau;
  // + float32 storage of m and v, each moving the step by about η·2^-23.
  assertClose(r.next, plainA, slope * r.stats!.meanErrorBound + 4 * adam.eta * 2 ** -23, 'secagg(fedadam)');
  // The inner configureFit still shapes the plan (FedAdam with etaL sends it as the clients' lr).
  const clients = [{ id: 'a' }, { id: 'b' }];
  const plan = secureA.configureFit({ round: 1, global, rng: new Rng(1) }, clients, { batchSize: 8, lr: 1 });
  assert.equal(plan.config.lr, 0.05);
  assert.deepEqual(plan.config.secureAggregation?.participants, ['a', 'b']);
});

test('refuses strategies that need individual updates, and invalid options, with errors that say why', () => {
  for (const inner of [new Krum({ f: 1 }), new FedMedian(), new FedTrimmedAvg(), new CenteredClipping()]) {
    assert.throws(
      () => withSecureAggregation(inner, { crypto }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`cannot wrap '${inner.name}'`));
        assert.match(e.message, /needs each client's update/);
        assert.match(e.message, /only sees the sum/);
        return true;
      },
    );
  }
  const fedavg = new FedAvg();
  assert.throws(
    () => withSecureAggregation(withSecureAggregation(fedavg, { crypto }), { crypto }),
    /already under secure aggregation/,
  );
  assert.throws(() => withSecureAggregation(fedavg, { crypto, clipNorm: -1 }), /clipNorm must be a positive/);
  assert.throws(() => withSecureAggregation(fedavg, { crypto, range: 0 }), /range must be a positive/);
  assert.throws(
    () => withSecureAggregation(fedavg, { crypto, neighbours: 4, threshold: 2 }),
    /threshold must be in \[3, 5\]/,
  );
  assert.throws(() => withSecureAggregation(fedavg, { crypto, bits: 32 }), /bits must be at most 31/);
  assert.throws(
    () => protocolDropouts(clientsWithUpdates([], crypto), { afterShareKeys: 0.6, afterMaskedInput: 0.5 }, 1),
    /add up to 1.1/,
  );
  assert.throws(
    () => protocolDropouts(clientsWithUpdates([], crypto), { beforeLunch: 0.1 } as never, 1),
    /unknown dropout point 'beforeLunch'/,
  );
});

test('an unmasked update, a forged, malformed or repeated message is refused with its reason; the sum is the others’', async () => {
  const d = 100;
  const updates = randomUpdates(10, d, 5);
  const global = randomGlobal(d, 6);
  const secure = withSecureAggregation(new FedAvg(), { crypto });
  // c2 sends garbage; c3 signs its first message as another client's; c5 answers the key directory
  // by repeating its first message.
  const first = new Map<string, Uint8Array>();
  const r = await secureRound(secure, global, updates, {
    tamper: (id, stage, payload) => {
      if (stage === 'fit') first.set(id, payload);
      if (stage === 'fit' && id === 'c2') return Uint8Array.of(1, 2, 3);
      if (stage === 'fit' && id === 'c3') {
        const forged = payload.slice();
        forged[4] ^= 1; // the sender's id, right after the 4-byte header
        return forged;
      }
      if (stage === 'share-keys' && id === 'c5') return first.get('c5')!;
      return payload;
    },
  });
  const reasons = Object.fromEntries(r.report.problems.map((p) => [p.clientId, `${p.kind}: ${p.reason}`]));
  assert.match(
    reasons.c2,
    /^excluded: secure aggregation \(setup\): not a secure-aggregation message \(bad magic\)/,
  );
  assert.match(reasons.c3, /^excluded: secure aggregation: a message signed as another client's/);
  assert.match(
    reasons.c5,
    /^excluded: secure aggregation: sent 'advertise-keys' where 'share-keys' was due \(at stage 'share-keys'\)/,
  );
  const s = r.stats;
  assert.ok(s, r.report.skippedReason);
  assert.equal(s.survivors, 7);
  assert.equal(r.report.aggregated, 7);
  const kept = updates.filter((u) => s.survivorIds.includes(u.clientId));
  assertClose(r.next, aggregate(new FedAvg(), global, kept), s.meanErrorBound, 'the others only');
  // An unmasked update never enters a secure round.
  const ctx = { round: 9, global, rng: new Rng(1) };
  secure.configureFit(ctx, [{ id: 'c0' }, { id: 'c1' }], { batchSize: 1, lr: 1 });
  const aggregator = secure.beginRound(ctx);
  assert.throws(
    () => aggregator.add(updates[0]),
    (e: unknown) => e instanceof UpdateRejected && /sent its update unmasked/.test(e.reason),
  );
});

test('clipping: norms above clipNorm are scaled down, values outside the range are cut, both counted by the client', async () => {
  const d = 50;
  const updates = randomUpdates(6, d, 8, 0.2); // norms around 0.2·√50 ≈ 1.4
  const global = new Float32Array(d);
  const clipNorm = 1.3;
  const norms = updates.map((u) => Math.hypot(...u.delta));
  const over = norms.filter((x) => x > clipNorm).length;
  assert.ok(over > 0 && over < updates.length, 'some updates above the norm, some below');
  const secure = withSecureAggregation(new FedAvg(), { crypto, clipNorm });
  const r = await secureRound(secure, global, updates);
  assert.equal(r.stats!.range, clipNorm, 'the range defaults to clipNorm');
  const clipped = updates.map((u, i) => ({
    ...u,
    delta: u.delta.map((v) => v * Math.min(1, (clipNorm / norms[i]) * (1 - 1e-7))),
  }));
  assertClose(
    r.next,
    aggregate(new FedAvg(), global, clipped),
    r.stats!.meanErrorBound,
    'FedAvg of the clipped',
  );

  // The client's own count of what its input lost, from the same instructions.
  const plan = secure.configureFit(
    { round: 1, global, rng: new Rng(1) },
    updates.map((u) => ({ id: u.clientId, numExamples: u.numExamples })),
    { batchSize: 1, lr: 1 },
  );
  const instructions = plan.config.secureAggregation!;
  const counted = updates.map((u) => secureInput(instructions, u.delta, u.numExamples, []).stats);
  assert.equal(
    counted.reduce((a, c) => a + c.clippedUpdate, 0),
    over,
  );
  assert.equal(
    counted.reduce((a, c) => a + c.clippedValues, 0),
    0,
    'an update of norm ≤ C has no value beyond C',
  );

  // A small range without norm clipping cuts values per coordinate (of the weighted update).
  const range = 0.1;
  const narrow = withSecureAggregation(new FedAvg(), { crypto, range });
  const narrowPlan = narrow.configureFit(
    { round: 1, global, rng: new Rng(1) },
    updates.map((u) => ({ id: u.clientId, numExamples: u.numExamples })),
    { batchSize: 1, lr: 1 },
  ).config.secureAggregation!;
  const most = Math.max(...updates.map((u) => u.numExamples));
  let expectedCut = 0;
  for (const u of updates)
    for (const v of u.delta) if (Math.abs(Math.fround((u.numExamples / most) * v)) > range) expectedCut++;
  const cut = updates.reduce(
    (a, u) => a + secureInput(narrowPlan, u.delta, u.numExamples, []).stats.clippedValues,
    0,
  );
  assert.ok(expectedCut > 0);
  assert.equal(cut, expectedCut);
  const narrowed = await secureRound(narrow, global, updates);
  // Every weighted value is within ±range, so the mean is within ±range/(Σu): finite and bounded.
  for (const v of narrowed.next) assert.ok(Number.isFinite(v));
});

test('k, t and bits follow the round: capped for a small round, n·k kept even, t a majority of k + 1', async () => {
  const d = 30;
  const global = randomGlobal(d, 13);
  const cases = [
    // 5 clients cannot have 11 neighbours: k = 4 (classic SecAgg), t = 7 capped at k + 1 = 5.
    { n: 5, options: { neighbours: 11, threshold: 7, bits: 31 }, k: 4, t: 5 },
    // 7 clients × 3 neighbours is odd: k = 4, and t = 3 (the option) is the majority of 5.
    { n: 7, options: { neighbours: 3, threshold: 3 }, k: 4, t: 3 },
  ];
  for (const { n, options, k, t } of cases) {
    const updates = randomUpdates(n, d, 14 + n);
    const secure = withSecureAggregation(new FedAvg(), { crypto, ...options });
    const r = await secureRound(secure, global, updates);
    const s = r.stats!;
    assert.deepEqual([s.neighbours, s.threshold, s.bits], [k, t, maxBitsFor(n)], `${n} clients`);
    assertClose(r.next, aggregate(new FedAvg(), global, updates), s.meanErrorBound, `${n} clients`);
  }
});

test('dropouts after sharing keys and after the masked input: the survivors’ weighted mean, each loss recorded, the same clients again', async () => {
  const d = 120;
  const updates = randomUpdates(10, d, 9);
  const global = randomGlobal(d, 10);
  const dropouts = { afterShareKeys: 0.2, afterMaskedInput: 0.2 };
  const run = () =>
    secureRound(withSecureAggregation(new FedAvg(), { crypto, neighbours: 9 }), global, updates, {
      round: 3,
      dropouts,
    });
  const { next, report, stats } = await run();
  const s = stats!;
  assert.equal(s.dropped.afterShareKeys.length, 2);
  assert.equal(s.dropped.afterMaskedInput.length, 2);
  assert.equal(s.dropped.afterAdvertise.length, 0);
  assert.equal(s.recoveredDropouts, 2);
  // Those that vanished after sending their masked input are in the sum; the others are not.
  const expectedSurvivors = updates
    .map((u) => u.clientId)
    .filter((id) => !s.dropped.afterShareKeys.includes(id));
  assert.deepEqual(sorted(s.survivorIds), sorted(expectedSurvivors));
  for (const id of s.dropped.afterMaskedInput) assert.ok(s.survivorIds.includes(id));
  // The round says so: 8 updates in the aggregate, 4 clients dropped, each with the stage.
  assert.equal(report.aggregated, 8);
  const dropped = report.problems.filter((p) => p.kind === 'dropped');
  assert.equal(dropped.length, 4);
  assert.equal(
    dropped.filter((p) =>
      /vanished after sharing its keys \(simulated\) \(at stage 'masked-input'\)/.test(p.reason),
    ).length,
    2,
  );
  const survivors = updates.filter((u) => expectedSurvivors.includes(u.clientId));
  assertClose(next, aggregate(new FedAvg(), global, survivors), s.meanErrorBound, 'survivors only');
  assert.ok(maxDifference(next, aggregate(new FedAvg(), global, updates)) > 100 * s.meanErrorBound);
  // The round's seed picks the same clients again.
  assert.deepEqual((await run()).stats!.dropped, s.dropped);
});

test('too many dropouts, or a single client, end the round with the protocol’s reason and leave the model', async () => {
  const d = 40;
  const updates = randomUpdates(10, d, 11);
  const global = randomGlobal(d, 12);
  // k = 9, t = 6: five masked inputs are one too few.
  const secure = withSecureAggregation(new FedAvg(), { crypto, neighbours: 9 });
  const r = await secureRound(secure, global, updates, { dropouts: { afterShareKeys: 0.5 } });
  assert.equal(r.report.updated, false);
  assert.match(r.report.skippedReason ?? '', /only 5 clients sent masked inputs, fewer than the threshold 6/);
  assert.equal(r.next, global);
  assert.equal(r.report.problems.filter((p) => p.kind === 'dropped').length, 5);

  const single = await secureRound(
    withSecureAggregation(new FedAvg(), { crypto }),
    global,
    updates.slice(0, 1),
  );
  assert.equal(single.report.updated, false);
  assert.match(
    single.report.problems[0]?.reason ?? '',
    /secure aggregation needs at least 2 clients in a round/,
  );
});

test('RoundEngine with the in-process executor: FedAvg under secure aggregation learns, each round plain FedAvg within the bound', async () => {
  const runtime = nodeRuntime();
  const spec = sequential([dense(12), relu(), dense(3)], { inputShape: [4], seed: 1 });
  const { train: data, test: heldOut } = blobsTrainTest(300, 150, 4, 3, 2, 0.3);
  // Six clients of different sizes, so the example weights matter.
  const sizes = [20, 35, 50, 60, 65, 70];
  const starts = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
  const parts = sizes.map((n, k) => Uint32Array.from({ length: n }, (_, i) => starts[k] + i));
  const clients = parts.map((p, k) => ({ id: `c${k}`, numExamples: p.length }));
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  const dataOf = (id: string) => new SubsetDataset(data, parts[Number(id.slice(1))]);
  const evaluate = async (g: Float32Array) => {
    trainer.setParameters(g);
    const r = await trainer.evaluate(heldOut);
    return { loss: r.loss, accuracy: r.accuracy };
  };
  const secure = withSecureAggregation(new FedAvg(), { crypto });
  const engineOptions = { clients, fitConfig: { localEpochs: 2, batchSize: 10, lr: 0.1 }, seed: 5 };
  const secureEngine = new RoundEngine({
    ...engineOptions,
    strategy: secure,
    executor: new LocalExecutor(trainer, dataOf, 1, undefined, { secaggCrypto: crypto }),
  });
  const plainEngine = new RoundEngine({
    ...engineOptions,
    strategy: new FedAvg(),
    executor: new LocalExecutor(trainer, dataOf, 1),
  });
  let global = trainer.getParameters().values;
  const first = await evaluate(global);
  for (let round = 1; round <= 6; round++) {
    // Both engines start each round from the same model, so their clients compute the same updates.
    const plain = await plainEngine.runRound(round, global);
    const next = await secureEngine.runRound(round, global);
    assert.equal(next.report.aggregated, 6);
    assert.ok(next.report.updated);
    const s = next.report.statistics!.secureAggregation!;
    assert.equal(s.round, round);
    assert.equal(s.survivors, 6);
    assert.equal(s.cryptoSuite, 'node');
    assertClose(next.global, plain.global, s.meanErrorBound, `round ${round}`);
    global = next.global;
  }
  const last = await evaluate(global);
  assert.ok(
    last.accuracy! > 0.85 && last.accuracy! > first.accuracy!,
    `accuracy ${first.accuracy} -> ${last.accuracy}`,
  );
  assert.ok(last.loss < first.loss / 2, `loss ${first.loss} -> ${last.loss}`);
});

test('auxiliary values (the adaptive-clipping indicator) ride in the secure sum, unweighted, over the survivors only', async () => {
  const d = 7;
  const updates = randomUpdates(6, d, 21);
  // Each client reports s·b, b = 1 when its update is within the clip norm: here c0..c2 are.
  const small = updates.map((u, k) => ({ ...u, delta: u.delta.map((v) => (k < 3 ? v * 0.01 : v * 100)) }));
  const fitConfig: FitConfig = {
    batchSize: 1,
    lr: 1,
    dp: { clipNorm: 0.5, noiseStd: 0, countScale: 0.25, countNoiseStd: 0, seeded: true },
  };
  const run = async (dropouts?: ProtocolDropouts) => {
    const strategy = withSecureAggregation(new FedAvg(), { crypto, range: 1 });
    const clients = clientsWithUpdates(small, crypto);
    const engine = new RoundEngine({
      strategy,
      clients: small.map((u) => ({ id: u.clientId, numExamples: u.numExamples })),
      executor: dropouts ? protocolDropouts(clients, dropouts, 7) : clients,
      fitConfig,
      seed: 1,
    });
    // Read the sum from the aggregator, as the DP layer above it does.
    let sum: readonly number[] | undefined;
    const begin = strategy.beginRound.bind(strategy);
    strategy.beginRound = (ctx) => {
      const agg = begin(ctx);
      const finish = agg.finish.bind(agg);
      agg.finish = () => {
        const r = finish();
        sum = agg.auxiliarySum!();
        return r;
      };
      return agg;
    };
    const { report } = await engine.runRound(1, new Float32Array(d));
    return { sum: sum!, stats: report.statistics!.secureAggregation! };
  };
  const all = await run();
  assert.ok(Math.abs(all.sum[0] - 0.75) <= all.stats.errorBound + 1e-7, `${all.sum[0]} vs 3 × 0.25`);
  // Vanished after sharing keys (before sending a masked input): their values are not in the sum.
  const lossy = await run({ afterShareKeys: 0.4 });
  const alive = new Set(lossy.stats.survivorIds);
  const exact = 0.25 * small.filter((u, k) => k < 3 && alive.has(u.clientId)).length;
  assert.ok(alive.size < 6);
  assert.ok(Math.abs(lossy.sum[0] - exact) <= lossy.stats.errorBound + 1e-7);
});

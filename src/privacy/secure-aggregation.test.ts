import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withSecureAggregation,
  SecureAggregationStrategy,
  type SecureAggregationRoundStats,
} from './secure-aggregation.js';
import { nodeSecAggCrypto } from './secagg/crypto-node.js';
import { maxBitsFor, sumErrorBound } from './secagg/quantize.js';
import { FedAvg } from '../fl/strategies/fedavg.js';
import { FedAvgM } from '../fl/strategies/fedavgm.js';
import { FedAdam } from '../fl/strategies/fedadam.js';
import { FedMedian } from '../fl/strategies/fedmedian.js';
import { Krum } from '../fl/strategies/krum.js';
import { FedTrimmedAvg } from '../fl/strategies/fedtrimmedavg.js';
import { CenteredClipping } from '../fl/strategies/centered-clipping.js';
import type { ClientUpdate, Strategy } from '../fl/strategy.js';
import { RoundAborted, UpdateRejected } from '../fl/update-check.js';
import { RoundEngine } from '../fl/engine.js';
import type { FitExecutor } from '../fl/executor.js';
import { LocalExecutor } from '../federation/local-executor.js';
import { SubsetDataset } from '../data/dataset.js';
import { dense, relu, sequential } from '../model/layers.js';
import { sgd } from '../autodiff/optimizers.js';
import { Trainer } from '../runtime/trainer.js';
import { nodeRuntime } from '../runtime/node.js';
import { Rng } from '../util/rng.js';
import { blobsTrainTest } from '../../test/helpers/synthetic.js';

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

/** One round of `strategy` from `global` over `updates`, with the round's seeded RNG. */
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

/**
 * Asserts |actual − expected| ≤ bound + float32 slack per coordinate; returns the largest difference.
 * The slack covers the two results' own float32 rounding (each within 2^-24 of its value).
 */
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

/**
 * Each strategy's last round's statistics: taken from the round's result, or for an aborted round
 * from the aggregator, by observing every SecureAggregationStrategy this file creates.
 */
const lastStats = new WeakMap<SecureAggregationStrategy, SecureAggregationRoundStats>();
const beginRound = SecureAggregationStrategy.prototype.beginRound;
SecureAggregationStrategy.prototype.beginRound = function (this: SecureAggregationStrategy, ctx) {
  const aggregator = beginRound.call(this, ctx);
  const finish = aggregator.finish.bind(aggregator);
  aggregator.finish = () => {
    try {
      const r = finish();
      lastStats.set(this, r.statistics.secureAggregation!);
      return r;
    } catch (e) {
      const aborted = (aggregator as { aborted?: SecureAggregationRoundStats }).aborted;
      if (aborted) lastStats.set(this, aborted);
      throw e;
    }
  };
  return aggregator;
};

function stats(s: SecureAggregationStrategy): SecureAggregationRoundStats {
  const r = lastStats.get(s);
  assert.ok(r, 'a round has finished');
  return r;
}

test('FedAvg under secure aggregation gives plain FedAvg (example-weighted) within the quantization bound', () => {
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
    const result = aggregate(secure, global, updates);
    const s = stats(secure);
    assert.equal(s.clients, 8);
    assert.equal(s.survivors, 8);
    assert.deepEqual(
      s.survivorIds,
      updates.map((u) => u.clientId),
    );
    assert.equal(s.cryptoSuite, 'given');
    // The protocol's bound is sumErrorBound over the survivors, with the default range 1.
    assert.equal(s.range, 1);
    assert.equal(s.bits, bits ?? maxBitsFor(8));
    assert.equal(s.errorBound, sumErrorBound({ range: 1, bits: s.bits, rounding }, 8));
    const worst = assertClose(result, plain, 0.7 * s.meanErrorBound, what);
    if (bits === undefined) {
      assert.ok(s.meanErrorBound < 1e-6, `${what}: mean bound ${s.meanErrorBound}`);
    } else {
      // Below the bound, but of its order: the bound is neither violated nor vacuous.
      assert.ok(worst > 0.7 * s.meanErrorBound * 0.05, `${what}: error ${worst}, bound ${s.meanErrorBound}`);
    }
    const examples = updates.reduce((a, u) => a + u.numExamples, 0);
    assert.ok(Math.abs(s.totalExamples - examples) < 1e-2 * examples, `Σn ${s.totalExamples} vs ${examples}`);
    assert.equal(s.clippedValues, 0);
    assert.equal(s.clippedUpdates, 0);
    // Every client uploads at least its masked vector of 4 bytes a value.
    assert.ok(s.bytesUp > 8 * 4 * (d + 1), `bytes up ${s.bytesUp}`);
    assert.ok(s.bytesDown > 0 && s.clientSeconds > 0 && s.serverSeconds > 0);
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

test('FedAvgM (3 rounds) and FedAdam under secure aggregation match the plain strategies within the bound', () => {
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
    wSecure = aggregate(secureM, wSecure, updates, round);
    // + float32 storage of v (one rounding in each run, |v| ≤ 1 here).
    vBound = beta * vBound + stats(secureM).meanErrorBound + 2 ** -23;
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
  const resultA = aggregate(secureA, global, updates);
  const slope = (adam.eta * (1 - adam.beta1)) / adam.tau;
  // + float32 storage of m and v, each moving the step by about η·2^-23.
  assertClose(
    resultA,
    plainA,
    slope * stats(secureA).meanErrorBound + 4 * adam.eta * 2 ** -23,
    'secagg(fedadam)',
  );
  // configureFit passes through (FedAdam with etaL sends it as the clients' learning rate).
  const clients = [{ id: 'a' }, { id: 'b' }];
  const plan = secureA.configureFit!({ round: 1, global, rng: new Rng(1) }, clients, { batchSize: 8, lr: 1 });
  assert.equal(plan.config.lr, 0.05);
  assert.equal(withSecureAggregation(new FedAvg(), { crypto }).configureFit, undefined);
});

test('refuses strategies that need individual updates, and invalid options, with errors that say why', () => {
  for (const inner of [new Krum({ f: 1 }), new FedMedian(), new FedTrimmedAvg(), new CenteredClipping()]) {
    assert.throws(
      () => withSecureAggregation(inner),
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
    () => withSecureAggregation(withSecureAggregation(fedavg)),
    /already under secure aggregation/,
  );
  assert.throws(() => withSecureAggregation(fedavg, { clipNorm: -1 }), /clipNorm must be a positive/);
  assert.throws(() => withSecureAggregation(fedavg, { range: 0 }), /range must be a positive/);
  assert.throws(
    () => withSecureAggregation(fedavg, { neighbours: 4, threshold: 2 }),
    /threshold must be in \[3, 5\]/,
  );
  assert.throws(
    () => withSecureAggregation(fedavg, { dropouts: { afterShareKeys: 0.6, afterMaskedInput: 0.5 } }),
    /add up to 1.1/,
  );
  assert.throws(
    () => withSecureAggregation(fedavg, { dropouts: { beforeLunch: 0.1 } as never }),
    /unknown dropout stage 'beforeLunch'/,
  );
  assert.throws(() => withSecureAggregation(fedavg, { bits: 32 }), /bits must be at most 31/);
});

test('a NaN, wrong-length or repeated update is refused with its reason and does not touch the sum', () => {
  const d = 100;
  const updates = randomUpdates(5, d, 5);
  const global = randomGlobal(d, 6);
  const secure = withSecureAggregation(new FedAvg(), { crypto });
  const aggregator = secure.beginRound({ round: 1, global, rng: new Rng(7) });
  aggregator.add(updates[0]);
  aggregator.add(updates[1]);
  const poisoned = { ...updates[2], delta: Float32Array.from(updates[2].delta) };
  poisoned.delta[17] = NaN;
  const rejected = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof UpdateRejected, String(e));
    assert.match(e.reason, pattern);
    return true;
  };
  assert.throws(() => aggregator.add(poisoned), rejected(/NaN at index 17/));
  assert.throws(
    () => aggregator.add({ ...updates[3], delta: new Float32Array(d - 1) }),
    rejected(/99 values, the model has 100/),
  );
  assert.throws(() => aggregator.add({ ...updates[4], numExamples: 0 }), rejected(/numExamples/));
  assert.throws(() => aggregator.add({ ...updates[0] }), rejected(/second update from the same client/));
  assert.equal(aggregator.count, 2);
  aggregator.add(updates[3]);
  aggregator.add(updates[4]);
  assert.equal(aggregator.count, 4);
  const result = aggregator.finish().global;
  const good = [updates[0], updates[1], updates[3], updates[4]];
  assertClose(
    result,
    aggregate(new FedAvg(), global, good),
    stats(secure).meanErrorBound,
    'good updates only',
  );
  assert.deepEqual(stats(secure).survivorIds, ['c0', 'c1', 'c3', 'c4']);
  // A second finish returns the same model without running the protocol again; add is closed.
  assert.deepEqual(aggregator.finish().global, result);
  assert.throws(() => aggregator.add(updates[2]), /already finished/);
});

test('clipping: norms above clipNorm are scaled down, values outside the range are cut, both counted', () => {
  const d = 50;
  const updates = randomUpdates(6, d, 8, 0.2); // norms around 0.2·√50 ≈ 1.4
  const global = new Float32Array(d);
  const clipNorm = 1.3;
  const norms = updates.map((u) => Math.hypot(...u.delta));
  const over = norms.filter((x) => x > clipNorm).length;
  assert.ok(over > 0 && over < updates.length, 'some updates above the norm, some below');
  const secure = withSecureAggregation(new FedAvg(), { crypto, clipNorm });
  const result = aggregate(secure, global, updates);
  const s = stats(secure);
  assert.equal(s.range, clipNorm, 'the range defaults to clipNorm');
  assert.equal(s.clippedUpdates, over);
  assert.equal(s.clippedValues, 0, 'an update of norm ≤ C has no value beyond C');
  const clipped = updates.map((u, i) => ({
    ...u,
    delta: u.delta.map((v) => v * Math.min(1, (clipNorm / norms[i]) * (1 - 1e-7))),
  }));
  assertClose(
    result,
    aggregate(new FedAvg(), global, clipped),
    s.meanErrorBound,
    'FedAvg of the clipped updates',
  );

  // A small range without norm clipping cuts values per coordinate (of the weighted update).
  const range = 0.1;
  const narrow = withSecureAggregation(new FedAvg(), { crypto, range });
  const narrowed = aggregate(narrow, global, updates);
  const most = Math.max(...updates.map((u) => u.numExamples));
  let expectedCut = 0;
  for (const u of updates)
    for (const v of u.delta) if (Math.abs(Math.fround((u.numExamples / most) * v)) > range) expectedCut++;
  assert.ok(expectedCut > 0);
  assert.equal(stats(narrow).clippedValues, expectedCut);
  assert.equal(stats(narrow).clippedUpdates, 0);
  // Every weighted value is within ±range, so the mean is within ±range/(Σu): finite and bounded.
  for (const v of narrowed) assert.ok(Number.isFinite(v));
});

test('k, t and bits follow the round: capped for a small round, n·k kept even, t a majority of k + 1', () => {
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
    const result = aggregate(secure, global, updates);
    const s = stats(secure);
    assert.deepEqual([s.neighbours, s.threshold, s.bits], [k, t, maxBitsFor(n)], `${n} clients`);
    assertClose(result, aggregate(new FedAvg(), global, updates), s.meanErrorBound, `${n} clients`);
  }
});

test('dropouts after sharing keys and after the masked input still give the survivors’ weighted mean', () => {
  const d = 120;
  const updates = randomUpdates(10, d, 9);
  const global = randomGlobal(d, 10);
  const options = { crypto, neighbours: 9, dropouts: { afterShareKeys: 0.2, afterMaskedInput: 0.2 } };
  const secure = withSecureAggregation(new FedAvg(), options);
  const result = aggregate(secure, global, updates, 3);
  const s = stats(secure);
  assert.equal(s.dropped.afterShareKeys.length, 2);
  assert.equal(s.dropped.afterMaskedInput.length, 2);
  assert.equal(s.dropped.afterAdvertise.length, 0);
  assert.equal(s.recoveredDropouts, 2);
  // Those that vanished after sending their masked input are in the sum; the others are not.
  const expectedSurvivors = updates
    .map((u) => u.clientId)
    .filter((id) => !s.dropped.afterShareKeys.includes(id));
  assert.deepEqual(s.survivorIds, expectedSurvivors);
  for (const id of s.dropped.afterMaskedInput) assert.ok(s.survivorIds.includes(id));
  const survivors = updates.filter((u) => expectedSurvivors.includes(u.clientId));
  assertClose(result, aggregate(new FedAvg(), global, survivors), s.meanErrorBound, 'survivors only');
  assert.ok(maxDifference(result, aggregate(new FedAvg(), global, updates)) > 100 * s.meanErrorBound);
  // The round's seeded RNG picks the same clients again.
  const again = withSecureAggregation(new FedAvg(), options);
  aggregate(again, global, updates, 3);
  assert.deepEqual(stats(again).dropped, s.dropped);
});

test('too many dropouts, or a single client, abort the round with the protocol’s reason', async () => {
  const d = 40;
  const updates = randomUpdates(10, d, 11);
  const global = randomGlobal(d, 12);
  // k = 9, t = 6: five masked inputs are one too few.
  const secure = withSecureAggregation(new FedAvg(), {
    crypto,
    neighbours: 9,
    dropouts: { afterShareKeys: 0.5 },
  });
  const aggregator = secure.beginRound({ round: 1, global, rng: new Rng(1) });
  for (const u of updates) aggregator.add(u);
  const aborted = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof RoundAborted, String(e));
    assert.match(e.reason, pattern);
    return true;
  };
  assert.throws(
    () => aggregator.finish().global,
    aborted(/only 5 clients sent masked inputs, fewer than the threshold 6/),
  );
  assert.throws(
    () => aggregator.finish().global,
    aborted(/fewer than the threshold/),
    'a second finish fails the same way',
  );
  assert.match(stats(secure).aborted ?? '', /threshold 6/);
  assert.equal(stats(secure).clients, 10);

  const single = withSecureAggregation(new FedAvg(), { crypto });
  assert.throws(() => aggregate(single, global, updates.slice(0, 1)), aborted(/at least 2 clients/));
  assert.throws(() => aggregate(single, global, []), aborted(/no update was accepted/));

  // The engine records the reason and keeps the global model.
  const scripted: FitExecutor = {
    async run(_round, _global, tasks, onOutcome) {
      for (const t of tasks) {
        const { delta, numExamples } = updates[Number(t.client.id.slice(1))];
        onOutcome({
          ok: true,
          clientId: t.client.id,
          upload: { kind: 'delta', delta },
          numExamples,
          seconds: 0,
          bytesUp: 0,
          bytesDown: 0,
        });
      }
    },
  };
  const engine = new RoundEngine({
    strategy: secure,
    clients: updates.map((u) => ({ id: u.clientId })),
    executor: scripted,
    fitConfig: { batchSize: 1, lr: 1 },
  });
  const { global: next, report } = await engine.runRound(1, global);
  assert.equal(report.updated, false);
  assert.match(report.skippedReason ?? '', /fewer than the threshold 6/);
  assert.equal(next, global);
});

test('RoundEngine: FedAvg under secure aggregation learns, and each round equals plain FedAvg within the bound', async () => {
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
  const secure = withSecureAggregation(new FedAvg()); // the runtime's crypto suite
  await secure.ready;
  const engineOptions = {
    clients,
    fitConfig: { localEpochs: 2, batchSize: 10, lr: 0.1 },
    seed: 5,
  };
  const secureEngine = new RoundEngine({
    ...engineOptions,
    strategy: secure,
    executor: new LocalExecutor(trainer, dataOf, 1),
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
    const s = stats(secure);
    assert.equal(s.round, round);
    assert.equal(s.survivors, 6);
    assert.equal(s.cryptoSuite, 'runtime');
    assert.equal(s.clippedValues, 0);
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

test('auxiliary values ride in the secure sum, unweighted, and their sum is the survivors’ only', () => {
  const secure = withSecureAggregation(new FedAvg(), { crypto, range: 1 });
  const d = 7;
  const updates = randomUpdates(6, d, 21).map((u, k) => ({ ...u, auxiliary: [0.1 * k, -0.05 * k] }));
  const agg = secure.beginRound({ round: 1, global: new Float32Array(d), rng: new Rng(2) });
  for (const u of updates) agg.add(u);
  assert.throws(
    () => agg.add({ ...randomUpdates(1, d, 5)[0], clientId: 'odd', auxiliary: [1] }),
    (e: unknown) =>
      e instanceof UpdateRejected && /1 auxiliary values where this round's updates carry 2/.test(e.reason),
  );
  agg.finish();
  const sum = agg.auxiliarySum!()!;
  const bound = stats(secure).errorBound;
  assert.ok(Math.abs(sum[0] - 1.5) <= bound + 1e-7, `${sum[0]} vs 1.5 (bound ${bound})`);
  assert.ok(Math.abs(sum[1] + 0.75) <= bound + 1e-7, `${sum[1]} vs -0.75`);

  // Vanished after sharing keys (before sending a masked input): their values are not in the sum.
  const lossy = withSecureAggregation(new FedAvg(), {
    crypto,
    range: 1,
    dropouts: { afterShareKeys: 0.4 },
  });
  const agg2 = lossy.beginRound({ round: 1, global: new Float32Array(d), rng: new Rng(2) });
  for (const u of updates) agg2.add(u);
  agg2.finish();
  const alive = new Set(stats(lossy).survivorIds);
  const exact = updates.filter((u) => alive.has(u.clientId)).reduce((a, u) => a + u.auxiliary[0], 0);
  assert.ok(alive.size < 6);
  assert.ok(Math.abs(agg2.auxiliarySum!()![0] - exact) <= stats(lossy).errorBound + 1e-7);
});

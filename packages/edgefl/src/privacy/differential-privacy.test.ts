import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNoiseClients, withDifferentialPrivacy } from './differential-privacy.js';
import { withSecureAggregation } from './secure-aggregation.js';
import { portableSecAggCrypto } from './secagg/index.js';
import { epsilon } from './dp/accountant.js';
import { clipToNorm } from './dp/clip.js';
import { secureGaussian, seededGaussian } from './dp/noise.js';
import { privatizeOwnUpdate } from './dp/client.js';
import { nextClipNorm, updateNoiseMultiplier } from './dp/adaptive-clip.js';
import { FedAvg } from '../fl/strategies/fedavg.js';
import { Krum } from '../fl/strategies/krum.js';
import { RoundAborted, UpdateRejected } from '../fl/update-check.js';
import type { RoundContext } from '../fl/strategy.js';
import { Rng } from '../util/rng.js';
import { l2Norm } from '../tensor/math.js';
import { RoundEngine } from '../fl/engine.js';
import { LocalExecutor } from '../federation/local-executor.js';
import { clientsWithUpdates } from '../../../../test/helpers/secure-clients.js';
import { protocolDropouts } from '../fl/executors/protocol-dropouts.js';
import { SubsetDataset } from '../data/dataset.js';
import { dense, relu, sequential } from '../model/layers.js';
import { sgd } from '../autodiff/optimizers.js';
import { Trainer } from '../runtime/trainer.js';
import { nodeRuntime } from '@edgefl/node';
import { blobs } from '../../../../test/helpers/synthetic.js';

const ctx = (d: number, o: Partial<RoundContext> = {}): RoundContext => ({
  round: 1,
  global: new Float32Array(d),
  rng: new Rng(1),
  available: 100,
  samplingRate: 0.1,
  ...o,
});

function moments(x: Float64Array | Float32Array) {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let v2 = 0;
  let v4 = 0;
  for (const v of x) {
    v2 += (v - m) ** 2;
    v4 += (v - m) ** 4;
  }
  v2 /= x.length;
  v4 /= x.length;
  return { mean: m, std: Math.sqrt(v2), kurtosis: v4 / v2 ** 2 };
}

test('both Gaussian sources give N(0, std²): mean, std and kurtosis of 200k samples', () => {
  for (const source of [seededGaussian(7), secureGaussian()]) {
    const x = new Float64Array(200_000);
    source.addNoise(x, 2);
    const m = moments(x);
    // Standard errors: mean 2/√n ≈ 0.0045, std ≈ 0.0032, kurtosis ≈ √(24/n) ≈ 0.011.
    assert.ok(Math.abs(m.mean) < 0.02, `mean ${m.mean}`);
    assert.ok(Math.abs(m.std - 2) < 0.015, `std ${m.std}`);
    assert.ok(Math.abs(m.kurtosis - 3) < 0.06, `kurtosis ${m.kurtosis}`);
  }
  assert.equal(secureGaussian().secure, true);
  assert.equal(seededGaussian(1).secure, false);
  const a = new Float64Array(10);
  const b = new Float64Array(10);
  seededGaussian(3).addNoise(a, 1);
  seededGaussian(3).addNoise(b, 1);
  assert.deepEqual(a, b);
});

test('clipToNorm scales down to the bound keeping the direction, and leaves short vectors alone', () => {
  const x = Float32Array.from([3, 4, 0]);
  const r = clipToNorm(x, 2);
  assert.equal(r.clipped, true);
  assert.ok(Math.abs(r.norm - 5) < 1e-6);
  assert.ok(l2Norm(x) <= 2 && l2Norm(x) > 2 - 1e-5);
  assert.ok(Math.abs(x[0] / x[1] - 0.75) < 1e-6);
  const y = Float32Array.from([0.3, 0.4]);
  assert.equal(clipToNorm(y, 2).clipped, false);
  assert.deepEqual(y, Float32Array.from([0.3, 0.4]));
  assert.throws(() => clipToNorm(y, 0), /clip norm must be a positive/);
});

test('central DP-FedAvg: the global moves by the clipped sum over the expected clients; noise has std zC/m̄', () => {
  const d = 4;
  // Almost no noise: the result is the hand-computed fixed-denominator mean of the clipped updates.
  const s = withDifferentialPrivacy(new FedAvg(), { noiseMultiplier: 1e-9, clipNorm: 1, noiseSeed: 1 });
  const c = ctx(d, { global: Float32Array.from([1, 1, 1, 1]), available: 20, samplingRate: 0.1 });
  const agg = s.beginRound(c);
  agg.add({ clientId: 'a', delta: Float32Array.from([3, 0, 0, 4]), numExamples: 500 }); // norm 5 -> clipped
  agg.add({ clientId: 'b', delta: Float32Array.from([0, 0.5, 0, 0]), numExamples: 1 }); // kept
  const { global: next, statistics } = agg.finish();
  // m̄ = 0.1 · 20 = 2; the example counts do not weight a client's influence.
  const expected = [1 + 0.6 / 2, 1 + 0.5 / 2, 1, 1 + 0.8 / 2];
  for (let i = 0; i < d; i++) assert.ok(Math.abs(next[i] - expected[i]) < 1e-5, `${i}: ${next[i]}`);
  assert.equal(statistics.dp?.clipped, 1);

  // Zero updates: what remains is the noise, N(0, (zC/m̄)²) per coordinate.
  const big = 100_000;
  const noisy = withDifferentialPrivacy(new FedAvg(), { noiseMultiplier: 1.5, clipNorm: 2, noiseSeed: 2 });
  const a2 = noisy.beginRound(ctx(big, { available: 40, samplingRate: 0.1 }));
  a2.add({ clientId: 'x', delta: new Float32Array(big), numExamples: 1 });
  const m = moments(a2.finish().global);
  assert.ok(Math.abs(m.std - (1.5 * 2) / 4) / 0.75 < 0.01, `noise std ${m.std}`);
  assert.ok(Math.abs(m.mean) < 0.01);
});

test('the accountant charges each released round at (z, q) and matches epsilon() exactly', () => {
  const s = withDifferentialPrivacy(new FedAvg(), {
    noiseMultiplier: 1.1,
    clipNorm: 1,
    noiseSeed: 3,
    delta: 1e-5,
  });
  assert.equal(s.privacy.spent().epsilon, 0);
  for (let r = 1; r <= 5; r++) {
    const agg = s.beginRound(ctx(3, { round: r, samplingRate: 0.05 }));
    agg.add({ clientId: 'a', delta: Float32Array.from([0.1, 0, 0]), numExamples: 1 });
    agg.finish();
  }
  const ref = epsilon({ samplingRate: 0.05, noiseMultiplier: 1.1, steps: 5, delta: 1e-5 }).epsilon;
  assert.equal(s.privacy.spent().epsilon, ref);
  const ahead = epsilon({ samplingRate: 0.05, noiseMultiplier: 1.1, steps: 6, delta: 1e-5 }).epsilon;
  assert.equal(s.privacy.spentAfterNextRound(0.05).epsilon, ahead);
  // An aborted round (nothing accepted) is not released and costs nothing.
  assert.throws(() => s.beginRound(ctx(3)).finish().global, RoundAborted);
  assert.equal(s.privacy.spent().epsilon, ref);
  // The state (accountant and clip norm) survives a checkpoint.
  const restored = withDifferentialPrivacy(new FedAvg(), { noiseMultiplier: 1.1, clipNorm: 9, noiseSeed: 3 });
  restored.setState!(JSON.parse(JSON.stringify(s.getState!())));
  assert.equal(restored.privacy.spent().epsilon, ref);
  assert.equal(restored.clipNorm, 1);
});

test('adaptive clipping: the clip norm converges to the target quantile of the update norms, from above and below', () => {
  // Update norms uniform on [0, 10]: the median is 5, the 0.8-quantile 8.
  for (const [quantile, truth] of [
    [0.5, 5],
    [0.8, 8],
  ]) {
    for (const start of [0.1, 60]) {
      const s = withDifferentialPrivacy(new FedAvg(), {
        noiseMultiplier: 1,
        clipNorm: start,
        adaptiveClipping: { targetQuantile: quantile, learningRate: 0.2 },
        noiseSeed: 11,
      });
      const rng = new Rng(5);
      const tail: number[] = [];
      for (let r = 1; r <= 400; r++) {
        // 100 clients a round (q = 1 of 100), so the count noise is σ_b = 100/20 = 5 clients.
        const agg = s.beginRound(ctx(2, { round: r, available: 100, samplingRate: 1 }));
        for (let k = 0; k < 100; k++) {
          const norm = 10 * rng.uniform();
          agg.add({ clientId: `c${k}`, delta: Float32Array.from([norm, 0]), numExamples: 1 });
        }
        agg.finish();
        if (r > 300) tail.push(s.clipNorm);
      }
      const avg = tail.reduce((a, b) => a + b, 0) / tail.length;
      assert.ok(Math.abs(avg - truth) / truth < 0.1, `quantile ${quantile} from ${start}: C ≈ ${avg}`);
    }
  }
  // The direction: when every update fits, C shrinks; when none does, it grows.
  const o = { targetQuantile: 0.5, learningRate: 0.2 };
  assert.ok(nextClipNorm(1, 1, o) < 1);
  assert.ok(nextClipNorm(1, 0, o) > 1);
  // Theorem 1 of Andrew et al.: z⁻² = z_Δ⁻² + (2σ_b)⁻².
  const zDelta = updateNoiseMultiplier(1, 5);
  assert.ok(Math.abs(zDelta ** -2 + 10 ** -2 - 1) < 1e-12);
  assert.throws(() => updateNoiseMultiplier(2, 0.5), /too small/);
});

test('distributed noise: clients clip and add their share; too few contributions abort; outsized updates are refused', () => {
  const s = withDifferentialPrivacy(new FedAvg(), {
    noiseMultiplier: 1,
    clipNorm: 0.5,
    noise: 'distributed',
    noiseSeed: 4,
  });
  const c = ctx(1000, { available: 100, samplingRate: 0.1 });
  const plan = s.configureFit!(c, [{ id: 'a' }], { batchSize: 10, lr: 0.1 });
  assert.equal(plan.config.dp?.clipNorm, 0.5);
  // Ten expected clients, Binomial(100, 0.1): shares are sized for 10 − 2·√9 = 4 clients, std zC/√4.
  assert.equal(defaultNoiseClients(10, 0.1), 4);
  assert.ok(Math.abs(plan.config.dp!.noiseStd - 0.5 / 2) < 1e-12);

  // The client side: clip to 0.5, then noise of that std.
  const delta = new Float32Array(1000).fill(1);
  assert.deepEqual(privatizeOwnUpdate(delta, plan.config.dp!, 9), {});
  const expectedNorm = Math.sqrt(0.25 + 1000 * 0.25 ** 2);
  assert.ok(Math.abs(l2Norm(delta) - expectedNorm) / expectedNorm < 0.05);

  const agg = s.beginRound(c);
  for (let k = 0; k < 3; k++) agg.add({ clientId: `c${k}`, delta: delta.slice(), numExamples: 1 });
  assert.throws(
    () => agg.add({ clientId: 'cheat', delta: new Float32Array(1000).fill(3), numExamples: 1 }),
    (e: unknown) => e instanceof UpdateRejected && /exceeds what a clipped/.test(e.reason),
  );
  assert.throws(
    () => agg.finish().global,
    /only 3 clients contributed noise shares; the privacy guarantee needs at least 4/,
  );
});

test('adaptive clipping with distributed noise: clients report noisy indicators, and C still converges to the quantile', () => {
  // The client side: b = 1 when the update fits, scaled by s, plus its share of the count noise.
  const config = (clip: number, countNoise: number) => ({
    clipNorm: clip,
    noiseStd: 0,
    countScale: 0.25,
    countNoiseStd: countNoise,
  });
  assert.deepEqual(privatizeOwnUpdate(Float32Array.of(3, 4), config(6, 0), 1), { auxiliary: [0.25] });
  const clipped = Float32Array.of(3, 4);
  assert.deepEqual(privatizeOwnUpdate(clipped, config(1, 0), 1), { auxiliary: [0] });
  assert.ok(Math.abs(l2Norm(clipped) - 1) < 1e-6);
  const noisy = Array.from(
    { length: 4000 },
    (_, k) => privatizeOwnUpdate(Float32Array.of(3, 4), config(1, 2), k)!.auxiliary![0] / 0.25,
  );
  const m = moments(Float64Array.from(noisy));
  assert.ok(Math.abs(m.mean) < 0.1 && Math.abs(m.std - 2) < 0.1, `count noise ${m.mean} ± ${m.std}`);

  // Update norms uniform on [0, 10]; 100 clients a round, each noising its own indicator.
  for (const [quantile, truth] of [
    [0.5, 5],
    [0.8, 8],
  ]) {
    const s = withDifferentialPrivacy(new FedAvg(), {
      noiseMultiplier: 1,
      clipNorm: 60,
      noise: 'distributed',
      adaptiveClipping: { targetQuantile: quantile, learningRate: 0.2 },
      noiseSeed: 11,
    });
    const rng = new Rng(5);
    const tail: number[] = [];
    for (let r = 1; r <= 400; r++) {
      const c = ctx(2, { round: r, available: 100, samplingRate: 1 });
      const plan = s.configureFit!(c, [{ id: 'a' }], { batchSize: 10, lr: 0.1 });
      const agg = s.beginRound(c);
      for (let k = 0; k < 100; k++) {
        const delta = Float32Array.of(10 * rng.uniform(), 0);
        const { auxiliary } = privatizeOwnUpdate(delta, plan.config.dp!, r * 1000 + k)!;
        agg.add({ clientId: `c${k}`, delta, numExamples: 1, auxiliary });
      }
      agg.finish();
      if (r > 300) tail.push(s.clipNorm);
    }
    const avg = tail.reduce((a, b) => a + b, 0) / tail.length;
    assert.ok(Math.abs(avg - truth) / truth < 0.1, `quantile ${quantile}: C ≈ ${avg}`);
  }

  // A client that leaves out its indicator, or reports an impossible one, is refused.
  const s = withDifferentialPrivacy(new FedAvg(), {
    noiseMultiplier: 1,
    clipNorm: 1,
    noise: 'distributed',
    adaptiveClipping: { targetQuantile: 0.5 },
  });
  const agg = s.beginRound(ctx(2, { available: 100, samplingRate: 1 }));
  for (const auxiliary of [undefined, [1e6], [NaN], [0, 0]])
    assert.throws(
      () => agg.add({ clientId: 'x', delta: new Float32Array(2), numExamples: 1, auxiliary }),
      (e: unknown) => e instanceof UpdateRejected && /noisy unclipped indicator/.test(e.reason),
    );
});

test('adaptive clipping with distributed noise: the clip norms have the same bits whatever order the indicators arrive in', () => {
  // A worker pool delivers clients' updates in the order they finish; a seeded run must still repeat.
  // The float64 sum of the indicators depends on its order in the last bits, and within a few rounds
  // such a bit survives into the next clip norm.
  const clipNorms = (order: (ids: number[], round: number) => number[]) => {
    const s = withDifferentialPrivacy(new FedAvg(), {
      noiseMultiplier: 1,
      clipNorm: 3,
      noise: 'distributed',
      adaptiveClipping: { targetQuantile: 0.5, learningRate: 0.2 },
      noiseSeed: 3,
    });
    const norms: number[] = [];
    for (let r = 1; r <= 30; r++) {
      const c = ctx(2, { round: r, available: 40, samplingRate: 1 });
      const plan = s.configureFit!(c, [{ id: 'a' }], { batchSize: 10, lr: 0.1 });
      const updates = Array.from({ length: 40 }, (_, k) => {
        const delta = Float32Array.of(0.1 * k, 0);
        const { auxiliary } = privatizeOwnUpdate(delta, plan.config.dp!, r * 100 + k)!;
        return { clientId: `c${k}`, delta, numExamples: 1, auxiliary };
      });
      const agg = s.beginRound(c);
      for (const k of order(
        updates.map((_, k) => k),
        r,
      ))
        agg.add(updates[k]);
      agg.finish();
      norms.push(s.clipNorm);
    }
    return norms;
  };
  const inOrder = clipNorms((ids) => ids);
  for (const seed of [1, 2, 3])
    assert.deepEqual(
      clipNorms((ids, round) => new Rng(seed * 1000 + round).shuffle([...ids])),
      inOrder,
      `arrival order ${seed}`,
    );
});

test('adaptive clipping under secure aggregation: the unclipped count comes out of the secure sum, over its survivors', async () => {
  const d = 20;
  const crypto = portableSecAggCrypto();
  const adaptive = { targetQuantile: 0.5, learningRate: 0.2 };
  const s = withDifferentialPrivacy(withSecureAggregation(new FedAvg(), { range: 2, crypto }), {
    noiseMultiplier: 1,
    clipNorm: 1,
    noise: 'distributed',
    adaptiveClipping: adaptive,
    noiseSeed: 1,
  });
  const rng = new Rng(3);
  // 40 clients, a quarter a round: 10 expected. Norms around 0.4·√20 ≈ 1.8 and spread: some
  // within C = 1, most not.
  const updates = Array.from({ length: 40 }, (_, k) => ({
    clientId: `c${k}`,
    delta: Float32Array.from({ length: d }, () => (k % 3 === 0 ? 0.1 : 0.4) * rng.normal()),
    numExamples: 1,
  }));
  const clients = clientsWithUpdates(updates, crypto);
  const engine = new RoundEngine({
    strategy: s,
    clients: updates.map((u) => ({ id: u.clientId, numExamples: 1 })),
    executor: protocolDropouts(clients, { afterShareKeys: 0.2 }, 7),
    fitConfig: { batchSize: 10, lr: 0.1 },
    fractionFit: 0.25,
    seed: 2,
  });
  const { report } = await engine.runRound(1, new Float32Array(d));
  assert.ok(report.updated, report.skippedReason);
  const secure = report.statistics!.secureAggregation!;
  assert.ok(secure.dropped.afterShareKeys.length >= 1, 'some clients vanished after sharing keys');
  assert.equal(report.aggregated, secure.survivors);
  // Each survivor's indicator, as its own pipeline computed it (the server never saw one).
  const indicator = (id: string) => {
    const fit = clients.fits.get(id)!;
    return privatizeOwnUpdate(Float32Array.from(fit.delta), fit.config.dp!, fit.seed).auxiliary![0];
  };
  const scale = clients.fits.get(secure.survivorIds[0])!.config.dp!.countScale!;
  const count = secure.survivorIds.reduce((a, id) => a + indicator(id), 0) / scale;
  const expectedClip = nextClipNorm(1, count / 10, adaptive);
  assert.ok(
    Math.abs(s.clipNorm - expectedClip) < 1e-4,
    `C ${s.clipNorm}, from the survivors' indicators ${expectedClip}`,
  );
  assert.notEqual(s.clipNorm, 1);
});

test('refuses strategies that need individual updates, and bad settings', () => {
  assert.throws(
    () => withDifferentialPrivacy(new Krum({ f: 1 }), { noiseMultiplier: 1, clipNorm: 1 }),
    /cannot wrap 'krum'/,
  );
  assert.throws(
    () => withDifferentialPrivacy(new FedAvg(), { noiseMultiplier: 0, clipNorm: 1 }),
    /noiseMultiplier/,
  );
});

test('the engine reports epsilon every round and stops before the round that would exceed the budget', async () => {
  const runtime = nodeRuntime();
  const spec = sequential([dense(12), relu(), dense(3)], { inputShape: [4], seed: 1 });
  const data = blobs(300, 4, 3, 2, 0.3);
  const parts = Array.from({ length: 30 }, (_, k) => Uint32Array.from({ length: 10 }, (_, i) => k * 10 + i));
  const clients = parts.map((p, k) => ({ id: `c${k}`, numExamples: p.length }));
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  const strategy = withDifferentialPrivacy(new FedAvg(), {
    noiseMultiplier: 1.0,
    clipNorm: 0.5,
    noiseSeed: 1,
  });
  const budget = epsilon({ samplingRate: 0.2, noiseMultiplier: 1.0, steps: 4, delta: 1e-5 }).epsilon + 1e-9;
  const engine = new RoundEngine({
    strategy,
    clients,
    executor: new LocalExecutor(trainer, (id) => new SubsetDataset(data, parts[Number(id.slice(1))]), 1),
    fitConfig: { localEpochs: 1, batchSize: 5, lr: 0.1 },
    fractionFit: 0.2,
    seed: 2,
    privacyBudget: budget,
  });
  let global = trainer.getParameters().values;
  const sizes: number[] = [];
  let stopped: string | undefined;
  for (let round = 1; round <= 10 && !stopped; round++) {
    const r = await engine.runRound(round, global);
    global = r.global;
    stopped = r.report.stopped;
    if (!stopped) {
      sizes.push(r.report.selected);
      assert.ok(r.report.privacy!.epsilon <= budget);
      // The clients' own training loss is not noised, so it is not reported either.
      assert.equal(r.report.trainLoss, undefined);
    }
  }
  // Four rounds fit the budget (Poisson sampling leaves some rounds other than 6 clients).
  assert.equal(sizes.length, 4);
  assert.ok(new Set(sizes).size > 1 || sizes[0] !== 6, `Poisson sample sizes ${sizes}`);
  assert.match(stopped!, /privacy budget exhausted/);
  await trainer.dispose();
});

test('distributed DP composes with secure aggregation underneath (and only that way round)', async () => {
  const d = 50;
  const crypto = portableSecAggCrypto();
  const secure = withSecureAggregation(new FedAvg(), { range: 2, crypto });
  const s = withDifferentialPrivacy(secure, {
    noiseMultiplier: 1,
    clipNorm: 1,
    noise: 'distributed',
    minClients: 4,
    noiseSeed: 1,
  });
  const rng = new Rng(3);
  const updates = Array.from({ length: 10 }, (_, k) => ({
    clientId: `c${k}`,
    delta: Float32Array.from({ length: d }, () => rng.normal()),
    numExamples: 7 * k + 1,
  }));
  const clients = clientsWithUpdates(updates, crypto);
  const engine = new RoundEngine({
    strategy: s,
    clients: updates.map((u) => ({ id: u.clientId, numExamples: u.numExamples })),
    executor: clients,
    fitConfig: { batchSize: 10, lr: 0.1 },
    fractionFit: 1,
    seed: 2,
  });
  const { global: next, report } = await engine.runRound(1, new Float32Array(d));
  const statistics = report.statistics!;
  // Equal weights (a client's influence is bounded, not weighted by its examples), over the
  // clients that took part, of the updates each clipped and noised itself, up to secure
  // aggregation's quantization error.
  const privatized = updates.map((u) => {
    const fit = clients.fits.get(u.clientId)!;
    const delta = Float32Array.from(fit.delta);
    privatizeOwnUpdate(delta, fit.config.dp!, fit.seed);
    return delta;
  });
  const bound = statistics.secureAggregation!.meanErrorBound;
  for (let i = 0; i < d; i++) {
    const mean = privatized.reduce((a, x) => a + x[i], 0) / privatized.length;
    assert.ok(Math.abs(next[i] - mean) <= bound + 1e-6, `coordinate ${i}: ${next[i]} vs ${mean}`);
  }
  assert.equal(statistics.secureAggregation!.survivors, 10);
  assert.ok(s.privacy.spent().epsilon > 0);
  assert.throws(
    () =>
      withDifferentialPrivacy(withSecureAggregation(new FedAvg(), { crypto: portableSecAggCrypto() }), {
        noiseMultiplier: 1,
        clipNorm: 1,
      }),
    /central DP noise needs the server to clip each client's update/,
  );
  assert.throws(
    () =>
      withSecureAggregation(withDifferentialPrivacy(new FedAvg(), { noiseMultiplier: 1, clipNorm: 1 }), {
        crypto: portableSecAggCrypto(),
      }),
    /cannot wrap 'dp\(fedavg\)'/,
  );
});

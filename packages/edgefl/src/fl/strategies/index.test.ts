import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strategyByName, strategyNames, strategyOptionNames, FedAdam, Krum, FedTrimmedAvg } from './index.js';
import { plainSumBackend } from '../../tensor/weighted-sum.js';
import { Rng } from '../../util/rng.js';

test('every CLI name builds its strategy, named the same', () => {
  assert.deepEqual(strategyNames, [
    'fedavg',
    'fedavgm',
    'fedprox',
    'fedadagrad',
    'fedadam',
    'fedyogi',
    'fedmedian',
    'fedtrimmedavg',
    'krum',
    'multikrum',
    'bulyan',
    'centeredclipping',
  ]);
  for (const name of strategyNames) {
    const s = strategyByName(name);
    assert.equal(s.name, name);
    const sum = ['fedavg', 'fedavgm', 'fedprox', 'fedadagrad', 'fedadam', 'fedyogi'].includes(name);
    assert.equal(s.aggregation, sum ? 'sum' : 'individual', name);
  }
});

test('options are passed through; undefined ones are ignored', () => {
  const adam = strategyByName('fedadam', { eta: 0.5, tau: 1e-3, beta2: undefined }) as FedAdam;
  assert.equal(adam.eta, 0.5);
  assert.equal(adam.tau, 1e-3);
  assert.equal(adam.beta2, 0.99);
  assert.equal((strategyByName('krum', { f: 3 }) as Krum).f, 3);
  assert.equal((strategyByName('fedtrimmedavg', { beta: 0.1 }) as FedTrimmedAvg).beta, 0.1);
});

test('unknown names and options are refused with the alternatives', () => {
  assert.throws(
    () => strategyByName('fedsgd'),
    /unknown strategy 'fedsgd' \(known: fedavg, fedavgm, .*centeredclipping\)/,
  );
  assert.throws(
    () => strategyByName('fedavg', { beta: 0.1 }),
    /strategy 'fedavg' has no option 'beta' \(its options: serverLearningRate\)/,
  );
  assert.throws(() => strategyByName('fedmedian', { f: 1 }), /its options: none/);
  assert.throws(() => strategyByName('krum', { f: '2' }), /f must be an integer/);
  assert.deepEqual(strategyOptionNames('multikrum'), ['f', 'm']);
});

test('every strategy gives the same results with and without the SIMD kernels', () => {
  const rng = new Rng(8);
  const d = 5_001;
  const global = Float32Array.from({ length: d }, () => rng.normal());
  const updates = Array.from({ length: 9 }, (_, i) => ({
    clientId: `c${i}`,
    delta: Float32Array.from({ length: d }, () => 0.1 * rng.normal()),
    numExamples: 1 + i,
  }));
  let plainSums = 0;
  const countedPlainSums = (length: number) => {
    plainSums++;
    return plainSumBackend(length);
  };
  const run = (name: string, plain: boolean): Float32Array => {
    const agg = strategyByName(name).beginRound(
      plain
        ? { round: 1, global, rng: new Rng(1), sumBackend: countedPlainSums, simd: false }
        : { round: 1, global, rng: new Rng(1) },
    );
    for (const u of updates) agg.add(u);
    return agg.finish().global;
  };
  for (const name of strategyNames) {
    const withSimd = run(name, false);
    const sumsBefore = plainSums;
    const plain = run(name, true);
    const sum = strategyByName(name).aggregation === 'sum';
    assert.equal(plainSums - sumsBefore, sum ? 1 : 0, `${name}: its weighted sum comes from ctx.sumBackend`);
    if (name === 'fedtrimmedavg' || name === 'bulyan') {
      // These sum the kept values in sorted order on one path and in quickselect's order on the
      // other: equal up to float64 rounding, so at most one float32 ulp apart.
      for (let j = 0; j < d; j++)
        assert.ok(Math.abs(plain[j] - withSimd[j]) <= Math.abs(withSimd[j]) * 2 ** -23, `${name} [${j}]`);
    } else assert.deepEqual(plain, withSimd, name);
  }
});

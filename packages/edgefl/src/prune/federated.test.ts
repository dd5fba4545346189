import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { withPruning } from './federated.js';
import { polynomialDecay } from './schedule.js';
import { FedAvg } from '../fl/strategies/fedavg.js';
import { FedAvgM } from '../fl/strategies/fedavgm.js';
import { RoundEngine } from '../fl/engine.js';
import { LocalExecutor } from '../federation/local-executor.js';
import { SubsetDataset } from '../data/dataset.js';
import { dense, relu, sequential } from '../model/layers.js';
import { sgd } from '../autodiff/optimizers.js';
import { Trainer } from '../runtime/trainer.js';
import { Rng } from '../util/rng.js';
import { blobsTrainTest } from '../../../../test/helpers/synthetic.js';

const runtime = nodeRuntime();
const spec = sequential([dense(32), relu(), dense(3)], { inputShape: [6], seed: 2 });
const { train: data, test: heldOut } = blobsTrainTest(300, 150, 6, 3, 7, 0.3);
const parts = Array.from({ length: 6 }, (_, k) => Uint32Array.from({ length: 50 }, (_, i) => k * 50 + i));
const clients = parts.map((p, k) => ({ id: String(k), numExamples: p.length }));

test('federated pruning: after each round the global model has the scheduled sparsity, and it still learns', async () => {
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  const layout = trainer.layout;
  const initial = trainer.getParameters().values;
  // Rounds 1..5 prune from 0 to 90%, recomputing the mask after every round.
  const schedule = polynomialDecay({ finalSparsity: 0.9, beginStep: 1, endStep: 5, frequency: 1 });
  const strategy = withPruning(new FedAvg(), { layout, schedule });
  assert.equal(strategy.name, 'pruned(fedavg)');
  const engine = new RoundEngine({
    strategy,
    clients,
    executor: new LocalExecutor(trainer, (id) => new SubsetDataset(data, parts[Number(id)]), 1),
    fitConfig: { localEpochs: 2, batchSize: 10, lr: 0.2 },
    seed: 3,
  });
  const weights = layout.filter((e) => e.name.endsWith('.weight'));
  let global = initial;
  let previous: Set<number> | undefined;
  for (let round = 1; round <= 7; round++) {
    const r = await engine.runRound(round, global);
    assert.ok(r.report.updated, `round ${round}: ${r.report.skippedReason}`);
    global = r.global;
    const s = schedule.sparsityAt(round);
    const zeros = new Set<number>();
    for (const e of weights) {
      let z = 0;
      for (let i = e.offset; i < e.offset + e.size; i++)
        if (global[i] === 0) {
          z++;
          zeros.add(i);
        }
      // Exactly round(s · n) weights of each tensor pruned (a weight trained to exactly 0 is not expected).
      assert.equal(z, Math.round(s * e.size), `round ${round}, ${e.name}: ${z} zeros at sparsity ${s}`);
    }
    // Pruned weights stay pruned from round to round, though clients moved them.
    if (previous) for (const i of previous) assert.ok(zeros.has(i), `round ${round}: weight ${i} came back`);
    previous = zeros;
    assert.equal(r.report.statistics?.pruning?.maskUpdated, round <= 5);
  }
  trainer.setParameters(global);
  const { accuracy } = await trainer.evaluate(heldOut);
  assert.ok(accuracy! > 0.9, `held-out accuracy ${accuracy} at 90% sparsity`);
  await trainer.dispose();
});

test('federated pruning: checkpoints keep the mask and the inner strategy state', () => {
  const layout = [
    { name: 'dense_0.weight', shape: [4, 2], offset: 0, size: 8 },
    { name: 'dense_0.bias', shape: [4], offset: 8, size: 4 },
  ];
  const schedule = polynomialDecay({ finalSparsity: 0.5, beginStep: 1, endStep: 2, frequency: 1 });
  const a = withPruning(new FedAvgM({ serverMomentum: 0.9 }), { layout, schedule });
  const rng = new Rng(1);
  const global = Float32Array.from({ length: 12 }, () => rng.normal());
  const round = (s: typeof a, r: number, g: Float32Array) => {
    const agg = s.beginRound({ round: r, global: g, rng: new Rng(r) });
    agg.add({
      clientId: 'x',
      delta: Float32Array.from({ length: 12 }, (_, i) => 0.1 * (i + 1)),
      numExamples: 1,
    });
    return agg.finish().global;
  };
  const g1 = round(a, 1, global);
  const b = withPruning(new FedAvgM({ serverMomentum: 0.9 }), { layout, schedule });
  b.setState(a.getState());
  assert.deepEqual([...b.mask!.keep[0]], [...a.mask!.keep[0]]);
  assert.deepEqual(round(b, 2, g1), round(a, 2, g1));
  assert.throws(() => b.setState({ json: {}, arrays: {} }), /no pruning record/);
});

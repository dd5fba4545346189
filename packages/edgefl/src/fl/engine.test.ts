import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundEngine } from './engine.js';
import { LocalExecutor } from '../federation/local-executor.js';
import type { FitExecutor } from './executor.js';
import { FedAvg } from './strategies/fedavg.js';
import { Krum } from './strategies/krum.js';
import { SubsetDataset } from '../data/dataset.js';
import { dense, relu, sequential } from '../model/layers.js';
import { sgd } from '../autodiff/optimizers.js';
import { Trainer } from '../runtime/trainer.js';
import { nodeRuntime } from '@edgefl/node';
import { blobsTrainTest } from '../../../../test/helpers/synthetic.js';

const runtime = nodeRuntime();
const spec = sequential([dense(12), relu(), dense(3)], { inputShape: [4], seed: 1 });
const { train: data, test: heldOut } = blobsTrainTest(300, 150, 4, 3, 2, 0.3);
// Six clients of 50 samples each (the blobs are generated class after class in turn, so IID).
const parts = Array.from({ length: 6 }, (_, k) => Uint32Array.from({ length: 50 }, (_, i) => k * 50 + i));
const clients = parts.map((p, k) => ({ id: `c${k}`, numExamples: p.length }));

async function setup() {
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  const evalTrainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.1 }),
    runtime,
  });
  const dataOf = (id: string) => new SubsetDataset(data, parts[Number(id.slice(1))]);
  const evaluate = async (g: Float32Array) => {
    evalTrainer.setParameters(g);
    const r = await evalTrainer.evaluate(heldOut);
    return { loss: r.loss, accuracy: r.accuracy };
  };
  return { trainer, dataOf, evaluate };
}

test('FedAvg rounds raise held-out accuracy; reports count every client; a seeded run repeats exactly', async () => {
  const { trainer, dataOf, evaluate } = await setup();
  const engine = new RoundEngine({
    strategy: new FedAvg(),
    clients,
    executor: new LocalExecutor(trainer, dataOf, 1),
    fitConfig: { localEpochs: 2, batchSize: 10, lr: 0.1 },
    fractionFit: 0.5,
    evaluate,
    seed: 3,
  });
  let global = trainer.getParameters().values;
  const first = await evaluate(global);
  let last;
  for (let round = 1; round <= 8; round++) {
    const r = await engine.runRound(round, global);
    assert.equal(r.report.selected, 3);
    assert.equal(r.report.aggregated, 3);
    assert.ok(r.report.updated);
    global = r.global;
    last = r.report;
  }
  assert.ok(
    last!.evaluation!.accuracy! > 0.85,
    `accuracy ${first.accuracy} -> ${last!.evaluation!.accuracy}`,
  );
  assert.ok(last!.evaluation!.loss < first.loss / 2);
  // Same seed, same rounds: identical result (resumability rests on this).
  const again = new RoundEngine({
    strategy: new FedAvg(),
    clients,
    executor: new LocalExecutor(trainer, dataOf, 1),
    fitConfig: { localEpochs: 2, batchSize: 10, lr: 0.1 },
    fractionFit: 0.5,
    seed: 3,
  });
  let g2 = (
    await Trainer.create(spec, { loss: 'softmaxCrossEntropy', optimizer: sgd({ lr: 0.1 }), runtime })
  ).getParameters().values;
  for (let round = 1; round <= 8; round++) g2 = (await again.runRound(round, g2)).global;
  assert.deepEqual(g2, global);
});

test('bad updates, failures and too few results never touch the global model', async () => {
  const global = Float32Array.from({ length: 75 }, (_, i) => Math.sin(i));
  const ok = (id: string, v: number) => ({
    ok: true as const,
    clientId: id,
    upload: { kind: 'delta' as const, delta: new Float32Array(75).fill(v) },
    numExamples: 10,
    seconds: 0,
    bytesUp: 300,
    bytesDown: 300,
  });
  const scripted: FitExecutor = {
    async run(_round, _g, tasks, onOutcome) {
      for (const t of tasks) {
        const id = t.client.id;
        if (id === 'c0') onOutcome(ok(id, 1));
        else if (id === 'c1')
          onOutcome({
            ...ok(id, 0),
            upload: { kind: 'delta', delta: new Float32Array(75).fill(NaN) },
            numExamples: 10,
          });
        else if (id === 'c2')
          onOutcome({
            ...ok(id, 0),
            upload: { kind: 'delta', delta: new Float32Array(74) },
            numExamples: 10,
          });
        else if (id === 'c3') onOutcome({ ok: false, clientId: id, kind: 'failed', reason: 'out of memory' });
        else if (id === 'c4')
          onOutcome({
            ...ok(id, 0),
            upload: { kind: 'delta', delta: new Float32Array(75) },
            numExamples: 0,
          });
        else onOutcome({ ok: false, clientId: id, kind: 'dropped', reason: 'connection lost' });
      }
    },
  };
  const engine = new RoundEngine({
    strategy: new FedAvg(),
    clients,
    executor: scripted,
    fitConfig: { batchSize: 1, lr: 1 },
    minResults: 1,
  });
  const r = await engine.runRound(1, global);
  assert.equal(r.report.aggregated, 1);
  assert.deepEqual(
    r.report.problems.map((p) => [p.clientId, p.kind]),
    [
      ['c1', 'excluded'],
      ['c2', 'excluded'],
      ['c3', 'failed'],
      ['c4', 'excluded'],
      ['c5', 'dropped'],
    ],
  );
  assert.match(r.report.problems[0].reason, /NaN at index 0/);
  assert.match(r.report.problems[1].reason, /74 values, the model has 75/);
  for (let i = 0; i < 75; i++)
    assert.ok(Math.abs(r.global[i] - (global[i] + 1)) < 1e-6, 'only the good update counts');
  const strict = new RoundEngine({
    strategy: new FedAvg(),
    clients,
    executor: scripted,
    fitConfig: { batchSize: 1, lr: 1 },
    minResults: 2,
  });
  const s = await strict.runRound(1, global);
  assert.equal(s.report.updated, false);
  assert.match(s.report.skippedReason!, /1 of 6 clients returned a usable update, the round needs 2/);
  assert.equal(s.global, global);
  // A strategy that cannot aggregate what arrived (Krum with f = 1 needs 5 updates) aborts the
  // round: recorded with its reason, the global model kept, nothing thrown.
  const krum = new RoundEngine({
    strategy: new Krum({ f: 1 }),
    clients,
    executor: scripted,
    fitConfig: { batchSize: 1, lr: 1 },
  });
  const k = await krum.runRound(1, global);
  assert.equal(k.report.updated, false);
  assert.match(k.report.skippedReason!, /krum with f = 1 needs at least 2f \+ 3 = 5 updates, got 1/);
  assert.equal(k.global, global);
  assert.deepEqual(Array.from(global.slice(0, 3)), [
    Math.fround(Math.sin(0)),
    Math.fround(Math.sin(1)),
    Math.fround(Math.sin(2)),
  ]);
});

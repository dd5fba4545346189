/**
 * The FedOpt family at its defaults, on a small task shaped like `edgefl simulate`'s MNIST job:
 * wide non-negative inputs (like pixels), two label shards per client, short local training — so
 * the round's mean delta is small in most coordinates. There a step of about η·sign(Δ) in every
 * coordinate (a large η with a tiny τ) throws the model far off, and the held-out loss rises
 * instead of falling (fedopt.ts explains why).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strategyByName } from './index.js';
import { RoundEngine } from '../engine.js';
import { LocalExecutor } from '../../federation/local-executor.js';
import { SubsetDataset, type ArrayDataset } from '../../data/dataset.js';
import { dense, relu, sequential } from '../../model/layers.js';
import { initialParameters } from '../../model/build.js';
import { sgd } from '../../autodiff/optimizers.js';
import { Trainer } from '../../runtime/trainer.js';
import { nodeRuntime } from '@edgefl/node';
import { blobsTrainTest } from '../../../../../test/helpers/synthetic.js';

const CLASSES = 10;
const CLIENTS = 10;
const PER_CLIENT = 30;
const spec = sequential([dense(32), relu(), dense(CLASSES)], { inputShape: [400], seed: 2 });
const { train, test: heldOut } = blobsTrainTest(CLIENTS * PER_CLIENT, 300, 400, CLASSES, 7, 0.5);

/** Negative features set to 0, as pixels are (in place). */
function nonNegative(ds: ArrayDataset): void {
  const f = ds.features;
  for (let i = 0; i < f.length; i++) f[i] = Math.max(0, f[i]);
}
nonNegative(train);
nonNegative(heldOut);

// Two label shards per client: the training samples sorted by label, cut into 2·CLIENTS shards, and
// client k holds shards k and k + CLIENTS (as the shards:2 partition of McMahan et al. 2017).
const byLabel = Array.from({ length: train.length }, (_, i) => i).sort(
  (a, b) => train.labels[a] - train.labels[b] || a - b,
);
const shard = PER_CLIENT / 2;
const parts = Array.from({ length: CLIENTS }, (_, k) =>
  Uint32Array.from([
    ...byLabel.slice(k * shard, (k + 1) * shard),
    ...byLabel.slice((k + CLIENTS) * shard, (k + CLIENTS + 1) * shard),
  ]),
);
const clients = parts.map((p, k) => ({ id: String(k), numExamples: p.length }));

test('FedAdam, FedYogi and FedAdagrad at their defaults: the held-out loss falls in the first rounds, on wide non-negative inputs and non-IID clients', async () => {
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.05 }),
    runtime: nodeRuntime(),
  });
  const lossOf = async (global: Float32Array) => {
    trainer.setParameters(global);
    return (await trainer.evaluate(heldOut)).loss;
  };
  const initial = initialParameters(spec).values;
  const start = await lossOf(initial);
  assert.ok(
    Math.abs(start - Math.log(CLASSES)) < 0.1,
    `an untrained model's loss is about ln 10, got ${start}`,
  );
  const blownUp: string[] = [];
  for (const name of ['fedadam', 'fedyogi', 'fedadagrad'] as const) {
    const engine = new RoundEngine({
      strategy: strategyByName(name),
      clients,
      executor: new LocalExecutor(trainer, (id) => new SubsetDataset(train, parts[Number(id)]), 1),
      fitConfig: { localEpochs: 1, batchSize: 10, lr: 0.05 },
      fractionFit: 0.5,
      seed: 3,
    });
    let global = initial;
    const losses: number[] = [];
    for (let round = 1; round <= 3; round++) {
      const r = await engine.runRound(round, global);
      assert.ok(r.report.updated, `${name}, round ${round}: ${r.report.skippedReason}`);
      global = r.global;
      losses.push(await lossOf(global));
    }
    const shown = `${start.toFixed(3)} at the start, then ${losses.map((l) => l.toFixed(3)).join(', ')}`;
    if (!losses.every((l) => l < start)) blownUp.push(`${name}: held-out loss ${shown}`);
    else if (!(losses[2] < losses[0])) blownUp.push(`${name}: the loss does not keep falling (${shown})`);
  }
  assert.deepEqual(blownUp, []);
});

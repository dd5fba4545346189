/**
 * Distillation as the local objective of federated rounds, the teacher running on the client: a
 * client's update equals the central distillation step on its data, and over a few MNIST clients
 * with little data each the distilled federated student beats the same federation without a teacher.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DistillationTrainer,
  LocalExecutor,
  OnnxTeacher,
  ParameterSet,
  RoundEngine,
  SubsetDataset,
  Trainer,
  fitClient,
  sgd,
  strategyByName,
  studentModel,
  withTeacherLogits,
  type FitConfig,
} from 'edgefl';
import { trainedModel, runtime } from './helpers/quantize-fixtures.js';
import { loadMnist } from '../packages/cli/src/data/mnist.js';

const spec = studentModel('mlp:16', { inputShape: [784], classes: 10, seed: 4 });
const mnist = loadMnist({ split: 'train', flatten: true });
const mnistTest = loadMnist({ split: 'test', flatten: true });
/** Client k holds 50 training images from far past the 8,000 the teacher was trained on. */
const clientData = async (k: number) =>
  new SubsetDataset(
    await mnist,
    Uint32Array.from({ length: 50 }, (_, i) => 30_000 + k * 50 + i),
  );

test("a client's update under `distillation` is the central distillation step on its data, from its own teacher", async () => {
  const teacher = await OnnxTeacher.create((await trainedModel('mlp')).float, { runtime });
  const optimizer = sgd({ lr: 0.05, momentum: 0.9 });
  const trainer = await Trainer.create(spec, { loss: 'softmaxCrossEntropy', optimizer, runtime });
  const global = trainer.getParameters().values;
  const data = await clientData(0);
  const config: FitConfig = {
    localEpochs: 2,
    batchSize: 10,
    lr: 0.05,
    distillation: { temperature: 3, alpha: 0.8 },
  };
  const deltaOf = async (c: FitConfig) => {
    const r = await fitClient({ trainer, teacher }, { clientId: 'a', data, global, config: c, seed: 11 });
    assert.equal(r.upload.kind, 'delta');
    return (r.upload as { delta: Float32Array }).delta;
  };
  const distilled = await deltaOf(config);

  const central = await DistillationTrainer.create(spec, {
    optimizer,
    temperature: 3,
    alpha: 0.8,
    parameters: new ParameterSet(trainer.layout, global.slice()),
    runtime,
  });
  await central.fit(withTeacherLogits(data, await teacher.logits(data), 10), {
    batchSize: 10,
    epochs: 2,
    lr: 0.05,
    seed: 11,
  });
  const expected = central.getParameters().values.map((w, i) => w - global[i]);
  const gap = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(gap(distilled, expected) < 1e-5, `client vs central: ${gap(distilled, expected)}`);
  // Not the plain objective: the same fit without the section moves the model elsewhere.
  const plain = await deltaOf({ ...config, distillation: undefined });
  assert.ok(gap(plain, expected) > 1e-2, `plain vs distilled: ${gap(plain, expected)}`);

  // A client without a teacher cannot follow the instructions, and says why.
  await assert.rejects(
    fitClient({ trainer }, { clientId: 'b', data, global, config, seed: 1 }),
    /this client holds no teacher \(ClientEnvironment.teacher\)/,
  );
  await central.dispose();
  await teacher.release();
  await trainer.dispose();
});

test('five MNIST clients of 50 images: the federated student distilled from their teacher beats it trained on the labels alone', async () => {
  const fixture = await trainedModel('mlp');
  const teacher = await OnnxTeacher.create(fixture.float, { runtime });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
    runtime,
  });
  const initial = trainer.getParameters().values;
  const data = await Promise.all([0, 1, 2, 3, 4].map(clientData));
  const heldOut = new SubsetDataset(
    await mnistTest,
    Uint32Array.from({ length: 2000 }, (_, i) => 5000 + i),
  );
  const clients = data.map((d, k) => ({ id: String(k), numExamples: d.length }));

  const federatedAccuracy = async (distillation?: FitConfig['distillation']) => {
    const engine = new RoundEngine({
      strategy: strategyByName('fedavg', {}),
      clients,
      executor: new LocalExecutor(trainer, (id) => data[Number(id)], 1, undefined, { teacher }),
      fitConfig: { localEpochs: 2, batchSize: 10, lr: 0.05, ...(distillation && { distillation }) },
      fractionFit: 1,
      seed: 3,
    });
    let global = initial;
    for (let round = 1; round <= 8; round++) {
      const r = await engine.runRound(round, global);
      assert.ok(r.report.updated, r.report.skippedReason);
      global = r.global;
    }
    trainer.setParameters(global);
    return (await trainer.evaluate(heldOut)).accuracy!;
  };
  const withTeacher = await federatedAccuracy({ temperature: 4, alpha: 0.9 });
  const labelsOnly = await federatedAccuracy();
  assert.ok(
    withTeacher > labelsOnly + 0.03,
    `held-out accuracy: distilled ${withTeacher}, labels only ${labelsOnly} (teacher ${fixture.accuracy})`,
  );
  await teacher.release();
  await trainer.dispose();
});

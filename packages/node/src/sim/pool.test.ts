import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from './pool.js';
import {
  byzantineClients,
  isByzantine,
  unreliableClients,
  RoundEngine,
  type FitExecutor,
  LocalExecutor,
  FedAvg,
  SubsetDataset,
  dense,
  relu,
  sequential,
  sgd,
  initialParameters,
  Trainer,
} from 'edgefl';
import { nodeRuntime } from '../runtime/node.js';
import { blobs } from '../../../../test/helpers/synthetic.js';

const runtime = nodeRuntime();
const spec = sequential([dense(8), relu(), dense(3)], { inputShape: [4], seed: 1 });
const data = blobs(240, 4, 3, 5);
const parts = Array.from({ length: 8 }, (_, k) => Uint32Array.from({ length: 30 }, (_, i) => k * 30 + i));
const clients = parts.map((p, k) => ({ id: `client-${k}`, numExamples: p.length }));
const indicesOf = (id: string) => parts[Number(id.split('-')[1])];
const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: sgd({ lr: 0.1, momentum: 0.5 }) };
const fitConfig = { localEpochs: 1, batchSize: 10, lr: 0.1 };

test('the worker pool gives exactly the in-process result, clients running in parallel workers', async () => {
  const pool = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf,
    workers: 2,
    seed: 9,
  });
  try {
    const viaPool = new RoundEngine({
      strategy: new FedAvg(),
      clients,
      executor: pool,
      fitConfig,
      fractionFit: 0.5,
      seed: 4,
    });
    const trainer = await Trainer.create(spec, { ...trainerOptions, runtime });
    const local = new RoundEngine({
      strategy: new FedAvg(),
      clients,
      executor: new LocalExecutor(trainer, (id) => new SubsetDataset(data, indicesOf(id)), 9),
      fitConfig,
      fractionFit: 0.5,
      seed: 4,
    });
    let a = initialParameters(spec).values;
    let b = a;
    for (let round = 1; round <= 3; round++) {
      const ra = await viaPool.runRound(round, a);
      const rb = await local.runRound(round, b);
      assert.equal(ra.report.aggregated, 4);
      [a, b] = [ra.global, rb.global];
    }
    assert.deepEqual(a, b);
  } finally {
    await pool.close();
  }
});

test('simulated dropouts and stragglers are reported per client, reproducibly', async () => {
  const pool = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf,
    workers: 2,
    seed: 1,
  });
  const failures = { dropoutRate: 0.3, stragglerRate: 0.3, stragglerSigma: 1, deadlineSeconds: 0 };
  try {
    const executor = unreliableClients(pool, failures, 1);
    const engine = new RoundEngine({ strategy: new FedAvg(), clients, executor, fitConfig, seed: 2 });
    const r1 = await engine.runRound(1, initialParameters(spec).values);
    const kinds = r1.report.problems.map((p) => p.kind);
    assert.equal(r1.report.selected, 8);
    assert.ok(kinds.includes('dropped'), `some clients drop: ${kinds}`);
    // With a zero deadline every client that did not drop is late.
    assert.equal(kinds.filter((k) => k === 'late').length + kinds.filter((k) => k === 'dropped').length, 8);
    assert.equal(r1.report.updated, false);
    const r1again = await engine.runRound(1, initialParameters(spec).values);
    assert.deepEqual(
      r1again.report.problems
        .filter((p) => p.kind === 'dropped')
        .map((p) => p.clientId)
        .sort(),
      r1.report.problems
        .filter((p) => p.kind === 'dropped')
        .map((p) => p.clientId)
        .sort(),
    );
  } finally {
    await pool.close();
  }
});

test('Byzantine clients send their honest update sign-flipped or scaled, the same clients every round', async () => {
  const honest = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf,
    workers: 2,
    seed: 3,
  });
  const flipped = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf,
    workers: 2,
    seed: 3,
  });
  try {
    const g0 = initialParameters(spec).values;
    const run = (pool: FitExecutor) =>
      new RoundEngine({ strategy: new FedAvg(), clients, executor: pool, fitConfig, seed: 6 }).runRound(
        1,
        g0,
      );
    const [a, b] = [
      await run(honest),
      await run(byzantineClients(flipped, { fraction: 1, attack: 'signflip' }, 3)),
    ];
    for (let i = 0; i < g0.length; i++)
      assert.ok(Math.abs(b.global[i] - g0[i] + (a.global[i] - g0[i])) < 1e-6, `parameter ${i}`);
  } finally {
    await honest.close();
    await flipped.close();
  }
  const chosen = clients.filter((c) => isByzantine(3, c.id, 0.25)).map((c) => c.id);
  assert.deepEqual(
    chosen,
    clients.filter((c) => isByzantine(3, c.id, 0.25)).map((c) => c.id),
  );
  assert.ok(chosen.length > 0 && chosen.length < clients.length, `a fraction of the clients: ${chosen}`);
});

test('tasks handed to a worker ahead of its results: any tasksPerWorker gives the same updates', async () => {
  assert.throws(
    () => new WorkerPool({ spec, trainer: trainerOptions, dataset: data, indicesOf, tasksPerWorker: 0 }),
    /tasksPerWorker must be an integer >= 1, got 0/,
  );
  const pool = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf,
    workers: 2,
    seed: 9,
  });
  try {
    const g0 = initialParameters(spec).values;
    const deltas = async (depth: number) => {
      pool.tasksPerWorker = depth;
      const out = new Map<string, Float32Array>();
      await pool.run(
        1,
        g0,
        clients.map((client) => ({ client, config: fitConfig })),
        (o) => {
          assert.ok(o.ok, `client ${o.clientId} failed`);
          out.set(o.clientId, o.upload.kind === 'delta' ? o.upload.delta : new Float32Array(0));
        },
      );
      return out;
    };
    // Up to 4 of the 8 clients wait in a worker at once; what each computes must not depend on it.
    const one = await deltas(1);
    for (const depth of [2, 4]) assert.deepEqual(await deltas(depth), one, `tasksPerWorker ${depth}`);
  } finally {
    await pool.close();
  }
});

test('federated evaluation in the workers: per-client figures equal the in-process ones, and their weighted mean is the loss over the union of the test splits', async () => {
  // Each client trains on its first 20 samples and holds out the last 10.
  const trainOf = (id: string) => indicesOf(id).subarray(0, 20);
  const testOf = (id: string) => indicesOf(id).subarray(20);
  const pool = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf: trainOf,
    testIndicesOf: testOf,
    workers: 2,
    seed: 9,
  });
  try {
    const trainer = await Trainer.create(spec, { ...trainerOptions, runtime });
    const local = new LocalExecutor(
      trainer,
      (id) => new SubsetDataset(data, trainOf(id)),
      9,
      (id) => new SubsetDataset(data, testOf(id)),
    );
    const engine = new RoundEngine({
      strategy: new FedAvg(),
      clients,
      executor: pool,
      fitConfig,
      fractionFit: 0.5,
      federatedEvaluation: { fraction: 1 },
      seed: 4,
    });
    const { global, report } = await engine.runRound(1, initialParameters(spec).values);
    const tasks = clients.map((client) => ({ client }));
    const viaPool = new Map<string, { loss: number; accuracy?: number; numExamples: number }>();
    await pool.evaluate!(1, global, tasks, (o) =>
      o.ok ? viaPool.set(o.clientId, o) : assert.fail(o.reason),
    );
    const inProcess = new Map<string, { loss: number; accuracy?: number }>();
    await local.evaluate!(1, global, tasks, (o) =>
      o.ok ? inProcess.set(o.clientId, o) : assert.fail(o.reason),
    );
    assert.equal(viaPool.size, 8);
    for (const c of clients) {
      assert.ok(Math.abs(viaPool.get(c.id)!.loss - inProcess.get(c.id)!.loss) < 1e-6, c.id);
      assert.equal(viaPool.get(c.id)!.accuracy, inProcess.get(c.id)!.accuracy);
      assert.equal(viaPool.get(c.id)!.numExamples, 10);
    }
    // Equal test splits, so the engine's weighted mean is the loss over all 80 held-out samples.
    trainer.setParameters(global);
    const union = new SubsetDataset(data, Uint32Array.from(clients.flatMap((c) => [...testOf(c.id)])));
    const central = await trainer.evaluate(union);
    const fe = report.federatedEvaluation!;
    assert.equal(fe.clients, 8);
    assert.equal(fe.examples, 80);
    assert.ok(Math.abs(fe.loss - central.loss) < 1e-5, `${fe.loss} vs ${central.loss}`);
    assert.ok(Math.abs(fe.accuracy! - central.accuracy!) < 1e-9);
    // A client without test data is reported as failed with the reason; an unknown client fails the call.
    const empty: string[] = [];
    const emptyPool = new WorkerPool({
      spec,
      trainer: trainerOptions,
      dataset: data,
      indicesOf: trainOf,
      testIndicesOf: (id) => (id === 'client-0' ? new Uint32Array(0) : testOf(id)),
      workers: 1,
    });
    try {
      await emptyPool.evaluate!(1, global, [{ client: clients[0] }], (o) =>
        o.ok ? assert.fail() : empty.push(o.reason),
      );
      assert.deepEqual(empty, ['the client holds no test data']);
      await assert.rejects(
        emptyPool.evaluate!(1, global, [{ client: { id: 'nobody', numExamples: 1 } }], () => {}),
        TypeError,
      );
    } finally {
      await emptyPool.close();
    }
  } finally {
    await pool.close();
  }
});

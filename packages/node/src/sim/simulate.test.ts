import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation, type SimulationCharts, type SimulationConfig } from './simulate.js';
import { epsilon, decodeCheckpoint, initialParameters, dense, relu, sequential } from 'edgefl';
import { checkpointFile } from '../io/run-files.js';
import { blobsTrainTest } from '../../../../test/helpers/synthetic.js';

const spec = sequential([dense(8), relu(), dense(3)], { inputShape: [4], seed: 1, name: 'tiny' });
const data = { name: 'blobs', spec, ...blobsTrainTest(300, 90, 4, 3, 1) };
const config: SimulationConfig = {
  rounds: 4,
  clients: 10,
  fraction: 0.3,
  partition: 'shards:2',
  localEpochs: 1,
  batchSize: 10,
  lr: 0.1,
  strategy: 'fedavg',
  seed: 5,
  workers: 2,
};
const quiet = () => {};
/** The run folder's metrics.jsonl, one object a round. */
const metricRows = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

test('a simulation improves accuracy, writes metrics, checkpoint and model, and resumes exactly', async () => {
  const full = mkdtempSync(join(tmpdir(), 'edgefl-sim-'));
  // The charts are the caller's (the CLI draws them): the hook learns the folder and title, and
  // hears every round and the end.
  const charts: { run: SimulationCharts; rounds: number; ended: number }[] = [];
  const a = await runSimulation(config, data, full, {
    log: quiet,
    charts: (run) => {
      const c = { run, rounds: 0, ended: 0 };
      charts.push(c);
      return { round: () => void c.rounds++, end: (r) => void (c.ended += r.history.length) };
    },
  });
  assert.equal(charts.length, 1);
  assert.deepEqual(charts[0], {
    run: { dir: full, title: 'fedavg, blobs tiny, 10 clients, shards:2', testSeries: undefined },
    rounds: 4,
    ended: 4,
  });
  assert.equal(a.rounds.length, 4);
  const rows = metricRows(full);
  assert.equal(rows.length, 4);
  assert.ok(rows[3].accuracy > rows[0].accuracy - 0.05, 'accuracy does not collapse');
  for (const f of ['metrics.csv', 'checkpoint.eflc', 'model.onnx', 'model.json', 'parameters.eflp'])
    assert.ok(existsSync(join(full, f)), f);
  const split = mkdtempSync(join(tmpdir(), 'edgefl-sim-'));
  await runSimulation({ ...config, rounds: 2 }, data, split, { log: quiet });
  const b = await runSimulation(config, data, split, { resume: true, log: quiet });
  assert.equal(b.rounds.length, 2, 'only the remaining rounds run');
  assert.deepEqual(readFileSync(join(split, 'parameters.eflp')), readFileSync(join(full, 'parameters.eflp')));
  await assert.rejects(
    runSimulation({ ...config, lr: 0.2 }, data, split, { resume: true, log: quiet }),
    /different settings: lr was 0.1, now 0.2/,
  );
});

test('a simulation under secure aggregation with distributed DP noise and adaptive clipping records epsilon, survivors, the moving clip norm, and stops at its budget', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-sim-private-'));
  const r = await runSimulation(
    {
      ...config,
      rounds: 6,
      fraction: 0.5,
      dp: { noiseMultiplier: 0.8, clipNorm: 1, noise: 'distributed', epsilonBudget: 12, targetQuantile: 0.5 },
      secureAggregation: { dropoutAfterShareKeys: 0.2 },
    },
    data,
    dir,
    { log: quiet },
  );
  const rows = metricRows(dir);
  assert.match(r.stopped ?? '', /privacy budget exhausted/);
  assert.ok(rows.length >= 1 && rows.length < 6, `${rows.length} rounds ran`);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].epsilon > rows[i - 1].epsilon);
  assert.ok(rows[rows.length - 1].epsilon <= 12);
  const updated = rows.filter((x) => x.updated);
  const secagg = (row: (typeof rows)[number]) => row.statistics.secureAggregation;
  for (const row of updated) {
    // The round's count of aggregated updates is the protocol's survivors: no hidden dropouts.
    assert.ok(secagg(row).survivors === row.aggregated && secagg(row).survivors >= 2, JSON.stringify(row));
    assert.ok(secagg(row).bytesUp > 0);
  }
  // Adaptive clipping under secure aggregation: the clip norm moves from round to round, driven by
  // the clients' noisy indicators that travelled inside the secure sum.
  const clipNorms = rows.map((x) => x.statistics?.dp?.clipNorm);
  assert.ok(new Set(clipNorms).size >= 2, JSON.stringify(clipNorms));
  // 20% of a round's clients (rounded) vanish inside the protocol; the others are in the sum.
  // 20% of a round's clients (rounded) vanish inside the protocol: the round says so.
  const lost = updated.filter((x) => secagg(x).dropped.afterShareKeys.length > 0);
  assert.ok(lost.length > 0, 'some round lost clients inside the protocol');
  for (const x of lost) {
    assert.equal(x.dropped, secagg(x).dropped.afterShareKeys.length);
    assert.equal(x.aggregated + x.dropped, x.selected);
  }
});

test('local DP-SGD on every client: updates are trained with DP-SGD and the example-level bound is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-sim-localdp-'));
  const localDp = { noiseMultiplier: 1.2, clipNorm: 1 };
  const r = await runSimulation({ ...config, rounds: 3, localDp }, data, dir, { log: quiet });
  const rows = metricRows(dir);
  // shards:2 over 300 examples and 10 clients: 30 examples each, batch 10 -> q = 1/3, 3 steps a round.
  rows.forEach((row, k) => {
    const expected = epsilon({ samplingRate: 1 / 3, noiseMultiplier: 1.2, steps: 3 * (k + 1), delta: 1e-5 });
    assert.equal(row.localEpsilon, expected.epsilon);
  });
  assert.equal(r.rounds.length, 3);
  assert.ok(rows.every((row) => row.updated));
  // The same run without DP-SGD ends elsewhere: the clients really trained differently.
  const plainDir = mkdtempSync(join(tmpdir(), 'edgefl-sim-plain-'));
  const plain = await runSimulation({ ...config, rounds: 3 }, data, plainDir, { log: quiet });
  assert.notEqual(plain.finalLoss, r.finalLoss);
});

test('a growing federation: late joiners are absent at first, the metrics record who was present, and rounds sample among them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-sim-'));
  const late = { fraction: 0.5, byRound: 3 };
  await runSimulation({ ...config, rounds: 3, fraction: 0.5, lateJoiners: late }, data, dir, { log: quiet });
  const rows = metricRows(dir);
  const present = rows.map((r) => r.available as number);
  assert.ok(present[0] < 10 && present[2] === 10, `present by round: ${present.join(', ')}`);
  assert.ok(present[1] >= present[0]);
  rows.forEach((r, i) =>
    assert.equal(r.selected, Math.max(1, Math.floor(0.5 * present[i])), `round ${i + 1}`),
  );
  assert.match(readFileSync(join(dir, 'metrics.csv'), 'utf8').split('\n')[0], /,available,selected,/);
  await assert.rejects(
    runSimulation({ ...config, lateJoiners: { fraction: 0.5, byRound: 1 } }, data, dir, { log: quiet }),
    /lateJoiners.byRound: Too small: expected number to be >=2/,
  );
});

test('federated evaluation in a simulation: clients hold out part of their data, evaluate each new model on it, and the metrics and curve show it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-sim-'));
  let testSeries: string | undefined;
  const r = await runSimulation(
    { ...config, rounds: 2, federatedEvaluation: { fraction: 0.5, testFraction: 0.25 } },
    data,
    dir,
    { log: quiet, charts: (run) => ((testSeries = run.testSeries), {}) },
  );
  const rows = metricRows(dir);
  for (const row of rows) {
    assert.equal(row.clientsEvaluated, 5, 'half of the 10 clients');
    assert.equal(row.clientEvalFailed, 0);
    assert.ok(row.clientAccuracy >= 0 && row.clientAccuracy <= 1);
    assert.ok(Number.isFinite(row.clientLoss));
  }
  // 300 samples in shards of 30 per client: each holds out floor(0.25 · 30) = 7 and trains on 23.
  assert.equal(r.rounds[0].federatedEvaluation?.examples, 5 * 7);
  // The central test set's curve is named as such beside the clients' own figures.
  assert.equal(testSeries, 'central test set');
  await assert.rejects(
    runSimulation(
      { ...config, federatedEvaluation: { fraction: 0.5 }, dp: { noiseMultiplier: 1, clipNorm: 1 } },
      data,
      mkdtempSync(join(tmpdir(), 'edgefl-sim-')),
      { log: quiet },
    ),
    /federatedEvaluation under dp: the clients' own figures are not covered by the noise/,
  );
});

test('FedProx in a simulation: the clients train with the proximal term in the workers, and every round updates the model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-sim-fedprox-'));
  // The model after each round, from the checkpoint saved before the subscribers hear of it.
  const models: Float32Array[] = [initialParameters(spec).values];
  const r = await runSimulation({ ...config, rounds: 2, strategy: 'fedprox', proximalMu: 0.1 }, data, dir, {
    log: quiet,
    subscribers: [
      { round: () => void models.push(decodeCheckpoint(readFileSync(checkpointFile(dir).path)).global) },
    ],
  });
  const rows = metricRows(dir);
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(row.failed, 0, `round ${row.round}: ${JSON.stringify(row.problems)}`);
    assert.equal(row.aggregated, row.selected, `round ${row.round}`);
    assert.ok(row.updated, `round ${row.round}`);
  }
  for (let k = 1; k <= 2; k++)
    assert.ok(
      models[k].some((v, i) => v !== models[k - 1][i]),
      `round ${k} left the model as it was`,
    );
  // The proximal term reached the clients: FedAvg's run from the same seed ends elsewhere.
  const plain = await runSimulation(
    { ...config, rounds: 2 },
    data,
    mkdtempSync(join(tmpdir(), 'edgefl-sim-')),
    {
      log: quiet,
    },
  );
  assert.notEqual(r.finalLoss, plain.finalLoss);
});

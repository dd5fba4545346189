/**
 * The fraud example, short: four small banks, a few rounds. The federated detector must beat the
 * weakest bank alone on held-out data (each bank's next month, when every fraud pattern reaches it),
 * catch more of the fraud a bank has never seen than the banks alone do, and the report must hold
 * its figures, its pictures and a model that answers as the study scored it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePlatform, nodeRuntime } from '@edgefl/node';
import { ReportFolder } from '@edgefl/cli';
import {
  EXPORT_INPUT,
  EXPORT_PROBABILITIES,
  SubsetDataset,
  syntheticTransactions,
  TRANSACTION_FEATURES,
} from 'edgefl';
import { positiveScores } from './shared/silos.js';
import { fraudStudy, meanOver, writeReport } from './fraud.js';

test('fraud example: federated beats the weakest bank alone on its next month, and the report is whole', async () => {
  const result = await fraudStudy(
    {
      customers: 700,
      days: 40,
      epochs: 4,
      rounds: 12,
      localSteps: 50,
      proximalMu: 0.1,
      targetRecall: 0.8,
      seed: 3,
    },
    nodePlatform(),
  );
  const of = (way: string) => result.figures.filter((f) => f.way === way);
  const weakestAlone = Math.min(...of('alone').map((f) => f.averagePrecision));
  for (const f of [...of('FedAvg'), ...of('FedProx')])
    assert.ok(
      f.averagePrecision > weakestAlone,
      `${f.bank}: federated AP ${f.averagePrecision} vs weakest alone ${weakestAlone}`,
    );
  assert.ok(
    meanOver(result, 'FedProx', 'unseenRecall') > meanOver(result, 'alone', 'unseenRecall') + 0.3,
    `unseen-pattern recall: FedProx ${meanOver(result, 'FedProx', 'unseenRecall')}, alone ${meanOver(result, 'alone', 'unseenRecall')}`,
  );
  // Secure aggregation ran in every round, with every bank in the sum.
  for (const r of result.history) assert.equal(r.aggregated, 4, `round ${r.round}`);

  const dir = await mkdtemp(join(tmpdir(), 'edgefl-fraud-'));
  try {
    const out = join(dir, 'report');
    await writeReport(result, {
      report: await ReportFolder.create(out),
      command: 'npx edgefl example fraud',
    });
    const files = await readdir(out);
    for (const f of [
      'report.md',
      'average-precision.png',
      'precision-recall.svg',
      'unseen-patterns.png',
      'fraud-model.onnx',
    ])
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    assert.deepEqual((await readdir(dir)).sort(), ['report'], 'no staging folder left behind');
    const md = await readFile(join(out, 'report.md'), 'utf8');
    const federatedAp = meanOver(result, 'FedProx', 'averagePrecision').toFixed(3);
    assert.match(md, new RegExp(`FedProx ${federatedAp}`));
    assert.match(md, /FLARE/);
    // The model file takes raw features and answers what the study scored with.
    const runtime = nodeRuntime();
    const session = await runtime.InferenceSession.create(await readFile(join(out, 'fraud-model.onnx')), {});
    const [bank] = syntheticTransactions({
      banks: [{ name: 'x', customers: 50, patterns: ['card testing'] }],
      seed: 9,
    });
    const n = 300;
    const d = TRANSACTION_FEATURES.length;
    const rows = new SubsetDataset(
      bank.dataset,
      Uint32Array.from({ length: n }, (_, i) => i),
    );
    const features = new Float32Array(n * d);
    rows.gather(
      Uint32Array.from({ length: n }, (_, i) => i),
      features,
      new Int32Array(n),
    );
    const out2 = await session.run({ [EXPORT_INPUT]: new runtime.Tensor('float32', features, [n, d]) });
    const p = out2[EXPORT_PROBABILITIES].data as Float32Array;
    const [expected] = await positiveScores(
      result.federated.spec,
      result.federated.parameters,
      [rows],
      nodePlatform(),
    );
    for (let i = 0; i < n; i++)
      assert.ok(Math.abs(p[2 * i + 1] - expected[i]) < 1e-5, `${i}: ${p[2 * i + 1]} vs ${expected[i]}`);
    await session.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fraud example: a report folder that already holds files is refused before any work', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-fraud-'));
  try {
    await ReportFolder.create(dir).then((r) => r.write('x.txt', 'x').then(() => r.finish('# r')));
    await assert.rejects(ReportFolder.create(dir), /already holds files: choose another --out/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a report killed halfway leaves a staging folder that the next report at that place removes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-fraud-'));
  try {
    // A process that no longer exists (pid 2^22 + 1 is beyond Linux's pid_max) left this behind.
    const abandoned = join(dir, '.report.partial-4194305');
    await mkdir(abandoned);
    await writeFile(join(abandoned, 'average-precision.png'), 'half');
    const report = await ReportFolder.create(join(dir, 'report'));
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('.report.partial-')),
      [`.report.partial-${process.pid}`],
    );
    await report.finish('# r');
    assert.deepEqual(await readdir(dir), ['report']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

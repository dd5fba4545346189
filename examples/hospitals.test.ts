/**
 * The hospitals example, short: two divisions of the Breast Cancer Wisconsin cases among the four
 * hospitals. The federated model must beat the weakest hospital's own model on that hospital's
 * held-out patients, and on every hospital's patients together; the report must be whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePlatform } from '@edgefl/node';
import { ReportFolder, loadBreastCancer } from '@edgefl/cli';
import { hospitalStudy, writeReport, HOSPITALS } from './hospitals.js';

test('hospitals example: federated beats the weakest hospital alone on held-out patients, and the report is whole', async () => {
  const data = await loadBreastCancer();
  const result = await hospitalStudy(
    { repetitions: 2, mixNoise: 0.8, epochs: 40, rounds: 20, localEpochs: 2, seed: 2 },
    nodePlatform(),
    () => {},
    data,
  );
  const alone = result.figures.filter((f) => f.way === 'alone');
  const weakest = alone.reduce((a, b) => (b.rocAuc < a.rocAuc ? b : a));
  const federatedThere = result.figures.find(
    (f) => f.way === 'federated' && f.hospital === weakest.hospital,
  )!;
  assert.ok(
    federatedThere.rocAuc > weakest.rocAuc,
    `${weakest.hospital}: federated ${federatedThere.rocAuc} vs alone ${weakest.rocAuc}`,
  );
  const worstOnEveryone = Math.min(...alone.map((f) => f.everyoneRocAuc));
  assert.ok(result.overall.federated.rocAuc > worstOnEveryone);
  assert.ok(
    result.figures.find((f) => f.way === 'federated')!.everyoneRocAuc > worstOnEveryone,
    'on every hospital’s patients, federated beats the narrowest hospital model',
  );
  // The division is the stated one: the screening clinic's mix is the least malignant, the cancer centre's the most.
  const share = result.mixes.map((m) => m.malignant / m.cases);
  assert.equal(result.mixes.length, HOSPITALS.length);
  assert.equal(
    result.mixes.reduce((a, m) => a + m.cases, 0),
    data.cases,
  );
  assert.ok(share[0] < share[3], `malignant shares ${share}`);

  const dir = await mkdtemp(join(tmpdir(), 'edgefl-hospitals-'));
  try {
    const out = join(dir, 'report');
    await writeReport(result, {
      report: await ReportFolder.create(out),
      command: 'npx edgefl example hospitals',
    });
    const files = await readdir(out);
    for (const f of [
      'report.md',
      'roc-auc.png',
      'roc-curves.svg',
      'every-hospitals-patients.png',
      'diagnosis-model.onnx',
    ])
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    assert.match(md, /python3-sklearn/, 'the data’s origin and licence are stated');
    assert.match(md, new RegExp(`federated ${result.overall.federated.rocAuc.toFixed(3)}`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

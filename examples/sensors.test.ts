/**
 * The sensors example, short: the federated detector must beat the weakest mote alone on its
 * held-out stream (fewer false alarms where a mote alone raises the most), still catch the labelled
 * events, and the device's reading-by-reading replay through the exported .onnx must take the same
 * decisions as the evaluation; the report must be whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePlatform } from '@edgefl/node';
import { ReportFolder } from '@edgefl/cli';
import { sensorStudy, writeReport } from './sensors.js';

test('sensors example: federated beats the weakest mote alone, the device decides as the evaluation did, the report is whole', async () => {
  const result = await sensorStudy(
    { window: 12, epochs: 20, rounds: 20, alarmQuantile: 0.99, seeds: [1] },
    nodePlatform(),
    () => {},
    50,
  );
  const of = (way: string) => result.figures.filter((f) => f.way === way);
  const weakest = of('alone').reduce((a, b) => (b.falsePositiveRate > a.falsePositiveRate ? b : a));
  const federated = of('federated').find((f) => f.mote === weakest.mote)!;
  assert.ok(
    federated.falsePositiveRate < weakest.falsePositiveRate,
    `${weakest.mote}: federated false-positive rate ${federated.falsePositiveRate} vs alone ${weakest.falsePositiveRate}`,
  );
  for (const f of of('federated').filter((x) => x.detection !== undefined))
    assert.ok(f.detection! > 0.5, `${f.mote}: federated detection ${f.detection}`);
  assert.equal(
    of('federated').filter((x) => x.detection !== undefined).length,
    2,
    'motes 1 and 4 have events',
  );
  assert.ok(result.device.decisions > 10_000);
  assert.equal(result.device.agreeing, result.device.decisions, 'the device decides as the batch evaluation');
  assert.ok(result.cost.tensors.totalBytes > 0 && result.cost.tensors.totalBytes < 64 * 1024);

  const dir = await mkdtemp(join(tmpdir(), 'edgefl-sensors-'));
  try {
    const out = join(dir, 'report');
    await writeReport(result, {
      report: await ReportFolder.create(out),
      command: 'npx edgefl example sensors',
    });
    const files = await readdir(out);
    for (const f of [
      'report.md',
      'false-positives.png',
      'detection.svg',
      'mote-1-stream.png',
      'sensor-detector.onnx',
    ])
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    assert.match(md, /Open Data Commons Attribution/, 'the data’s origin and licence are stated');
    assert.match(md, new RegExp(`${result.device.decisions.toLocaleString('en')} decisions`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

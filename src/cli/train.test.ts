import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTrain, type TrainCommandOptions } from './train.js';
import { epsilon } from '../privacy/dp/accountant.js';

const base: TrainCommandOptions = {
  dataset: 'mnist',
  model: 'logreg',
  epochs: 1,
  batchSize: 50,
  optimizer: 'sgd',
  lr: 0.5,
  momentum: 0,
  lrDecay: 1,
  seed: 1,
  threads: 1,
  limit: 1000,
};

test('edgefl train --dp-noise --dp-clip: DP-SGD reports the accountant epsilon and still learns', async () => {
  const lines: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-train-dp-'));
  const r = await runTrain({ ...base, out: dir, dpNoise: 1.0, dpClip: 1, dpDelta: 1e-5 }, (l) =>
    lines.push(l),
  );
  const expected = epsilon({ samplingRate: 50 / 1000, noiseMultiplier: 1.0, steps: 20, delta: 1e-5 }).epsilon;
  assert.ok(
    lines.some((l) => l.includes(`ε ${expected.toFixed(3)}`)),
    lines.join('\n'),
  );
  assert.ok(r.testAccuracy! > 0.5, `test accuracy ${r.testAccuracy}`);
  assert.match(readFileSync(join(dir, 'metrics.csv'), 'utf8'), /epsilon/);
  await assert.rejects(
    runTrain({ ...base, out: dir, dpNoise: 1.0 }, () => {}),
    /DP-SGD needs both --dp-noise and --dp-clip/,
  );
});

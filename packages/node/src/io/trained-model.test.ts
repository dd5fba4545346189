import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainedModel, saveTrainedModel } from './trained-model.js';
import { builtInModel, initialParameters } from 'edgefl';

const spec = builtInModel('logreg', { inputShape: [1, 2, 2], classes: 3, seed: 1 });

test('saveTrainedModel writes a run folder that loads back exactly', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'edgefl-saved-')), 'run');
  const params = initialParameters(spec);
  await saveTrainedModel(dir, { spec, loss: 'softmaxCrossEntropy', labels: ['a', 'b', 'c'] }, params);
  const back = await loadTrainedModel(dir);
  assert.deepEqual(back.params.values, params.values);
  assert.deepEqual(back.info.labels, ['a', 'b', 'c']);
});

test('saveTrainedModel refuses a non-finite parameter, naming it, and writes nothing', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'edgefl-saved-')), 'run');
  const params = initialParameters(spec);
  const bias = params.entries[1];
  params.values[bias.offset + 2] = -Infinity;
  await assert.rejects(
    saveTrainedModel(dir, { spec, loss: 'softmaxCrossEntropy' }, params),
    new RegExp(`refusing to save a model that cannot be right: parameter '${bias.name}'\\[2\\] is -Infinity`),
  );
  assert.equal(existsSync(dir), false);
});

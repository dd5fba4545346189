import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerExportCommand } from './export.js';
import { builtInModel, initialParameters, encodeParameters } from 'edgefl';
import { runCommand } from '../../../test/helpers/cli.js';

const edgefl = (args: string[]) => runCommand(registerExportCommand, args);
const spec = builtInModel('logreg', { inputShape: [1, 2, 2], classes: 3, seed: 1 });

/** A run folder as `train` writes it, except that one parameter has diverged to `bad`. */
function runFolderWith(bad: number, index: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-export-'));
  const params = initialParameters(spec);
  params.values[index] = bad;
  writeFileSync(join(dir, 'parameters.eflp'), encodeParameters(params));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ spec, loss: 'softmaxCrossEntropy' }));
  return dir;
}

test('edgefl export refuses a model with a NaN or infinite parameter, naming it, and writes nothing', async () => {
  const [weight, bias] = initialParameters(spec).entries;
  for (const [bad, index, named] of [
    [NaN, 5, `'${weight.name}'[5]`],
    [Infinity, weight.size + 1, `'${bias.name}'[1]`],
  ] as const) {
    const dir = runFolderWith(bad, index);
    const out = join(dir, 'exported', 'model.onnx');
    await assert.rejects(edgefl(['export', '--model', dir, '--out', out]), (e: Error) => {
      assert.ok(e.message.includes(`parameter ${named} is ${bad}`), e.message);
      return true;
    });
    assert.equal(existsSync(out), false, 'no model written');
    assert.deepEqual(readdirSync(dir).sort(), ['model.json', 'parameters.eflp']);
  }
});

test('edgefl export writes the model of a sound run folder', async () => {
  const dir = runFolderWith(0.25, 0);
  const out = join(dir, 'model.onnx');
  const lines = await edgefl(['export', '--model', dir, '--out', out]);
  assert.match(lines.join('\n'), /wrote .*model\.onnx/);
  assert.ok(existsSync(out));
});

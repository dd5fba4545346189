import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { PNG } from 'pngjs';
import { registerAttackCommand } from './attack.js';

/** Runs `edgefl <args>` with `attack` registered; output lines and commander's error text captured. */
async function run(args: string[]): Promise<{ lines: string[]; errors: string[]; error?: unknown }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const program = new Command('edgefl');
  program.exitOverride();
  program.configureOutput({ writeOut: (s) => lines.push(s), writeErr: (s) => errors.push(s) });
  registerAttackCommand(program, (line) => lines.push(line));
  program.commands.forEach((c) => c.copyInheritedSettings(program));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { lines, errors };
  } catch (error) {
    return { lines, errors, error };
  }
}

test('an unknown --defense, --method or --model is refused, naming the flag and the choices', async () => {
  const d = await run(['attack', '--defense', 'shuffle']);
  assert.ok(d.error instanceof CommanderError);
  assert.match(d.errors.join(''), /--defense must be one of none, batch, dp, secagg, got 'shuffle'/);
  const m = await run(['attack', '--method', 'magic']);
  assert.match(m.errors.join(''), /--method must be one of analytic, optimize, got 'magic'/);
  const model = await run(['attack', '--model', 'resnet']);
  assert.match(model.errors.join(''), /--model must be one of mlp, cnn, logreg, got 'resnet'/);
  const n = await run(['attack', '--images', '0']);
  assert.match(n.errors.join(''), /--images must be an integer >= 1, got '0'/);
});

test('flags that belong to another defense or method are refused rather than ignored', async () => {
  const eps = await run(['attack', '--defense', 'none', '--epsilon', '8']);
  assert.match(String(eps.error), /--epsilon applies to --defense dp only \(got --defense none\)/);
  const clients = await run(['attack', '--defense', 'dp', '--clients', '50']);
  assert.match(String(clients.error), /--clients applies to --defense secagg only/);
  const cnn = await run(['attack', '--method', 'analytic', '--model', 'cnn']);
  assert.match(String(cnn.error), /--method analytic needs a dense first layer \(mlp or logreg\)/);
});

test('a run prints the table and writes the picture: originals on top, reconstructions below, 3x', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-attack-cli-'));
  try {
    const { lines, error } = await run([
      'attack',
      '--defense',
      'none',
      '--method',
      'analytic',
      '--model',
      'logreg',
      '--images',
      '2',
      '--out',
      dir,
    ]);
    assert.equal(error, undefined, String(error));
    const text = lines.join('\n');
    assert.match(text, /logreg \(7,850 parameters, freshly initialised\)/);
    assert.match(text, /image +dataset# +label +PSNR dB +SSIM/);
    assert.match(text, /mean +∞ +1\.000/);
    assert.match(text, /7x7 Gaussian window/);
    const png = PNG.sync.read(readFileSync(join(dir, 'attack.png')));
    // Two 84-pixel columns with 4-pixel gaps; two rows, the second after a double gap.
    assert.equal(png.width, 4 + 2 * (84 + 4));
    assert.equal(png.height, 4 + 84 + 8 + 84 + 4);
    const json = JSON.parse(readFileSync(join(dir, 'attack.json'), 'utf8'));
    assert.equal(json.mean.psnr, 'Infinity');
    assert.equal(json.scores.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

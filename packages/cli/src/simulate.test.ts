import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { builtInModel, exportInferenceModel, initialParameters } from 'edgefl';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSimulateCommand } from './simulate.js';
import { checkpointFile } from '@edgefl/node';

const storedConfig = async (dir: string) => (await checkpointFile(dir).load())!.config;

test('simulate --codec refuses a bad spec before doing any work, naming the value', async () => {
  for (const [spec, message] of [
    ['float8', /--codec \(codec\): unknown codec 'float8'; expected float32, float16, qsgd8 or topk:F/],
    ['topk:2', /--codec \(codec\): codec 'topk:2': the top-k fraction must be a number in \(0, 1\], got '2'/],
  ] as const) {
    const program = new Command('edgefl');
    program.exitOverride();
    program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    let ran = false;
    registerSimulateCommand(program, () => (ran = true));
    await assert.rejects(
      program.parseAsync(['simulate', '--codec', spec, '--rounds', '1'], { from: 'user' }),
      message,
    );
    assert.equal(ran, false, 'nothing printed: the run never started');
  }
});

async function runSimulate(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = new Command('edgefl');
  program.exitOverride();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerSimulateCommand(program, (l) => lines.push(l));
  await program.parseAsync(['simulate', ...args], { from: 'user' });
  return lines;
}

test('simulate: strategy settings, federated evaluation and late joiners from flags, kept on --resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-cli-sim-'));
  const common = ['--model', 'logreg', '--clients', '20', '--fraction', '0.5', '--local-steps', '2'];
  const flags = [
    ...common,
    ...['--strategy', 'multikrum', '--strategy-option', 'f=1', '--strategy-option', 'm=4'],
    ...['--fed-eval', '0.5', '--client-test', '0.1', '--late-join', '0.5', '--late-join-by', '3'],
  ];
  const lines = await runSimulate([...flags, '--rounds', '2', '--out', dir]);
  assert.match(lines.join('\n'), /% on the clients' own held-out data\)/);
  const more = await runSimulate(['--resume', dir, '--rounds', '3']);
  assert.match(more.join('\n'), /resuming .* after round 2/);
  // The curves, drawn by the command's chart renderer: the central test set beside the clients' own.
  assert.deepEqual([...readFileSync(join(dir, 'accuracy.png')).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const accuracy = readFileSync(join(dir, 'accuracy.svg'), 'utf8');
  assert.match(accuracy, /<svg[\s\S]*central test set/);
  assert.match(accuracy, /clients' own held-out data/);
  assert.match(readFileSync(join(dir, 'loss.svg'), 'utf8'), /<svg[\s\S]*test loss/);
  const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  // A round line's traffic is the run's so far, up and down, as its label says (the resumed run's too).
  let sofar = 0;
  for (const [i, r] of rows.entries()) {
    sofar += r.bytesUp + r.bytesDown;
    const line = [...lines, ...more].find((l) => l.startsWith(`round ${String(i + 1).padStart(3)}/`));
    assert.match(line ?? '', new RegExp(` ${(sofar / 2 ** 20).toFixed(1)} MiB up\\+down so far`), line);
  }
  assert.ok(rows[0].bytesUp > 0 && rows[0].bytesDown > 0);
  assert.ok(rows[0].available < 20 && rows[2].available === 20, rows.map((r) => r.available).join(' '));
  // Half of the clients present train, and half evaluate.
  for (const r of rows) {
    assert.equal(r.selected, Math.floor(r.available / 2));
    assert.equal(r.clientsEvaluated, Math.floor(r.available / 2));
  }
  const stored = JSON.parse(JSON.stringify(await storedConfig(dir)));
  assert.deepEqual(stored.strategyOptions, { f: 1, m: 4 });

  // The same settings from a config file, as docs/federated.md shows them; a flag still overrides the file.
  const file = join(dir + '-cfg', 'run.json');
  mkdirSync(dir + '-cfg');
  writeFileSync(
    file,
    JSON.stringify({
      strategy: 'krum',
      strategyOptions: { f: 2 },
      federatedEvaluation: { fraction: 0.2 },
      rounds: 5,
    }),
  );
  await runSimulate([...common, '--config', file, '--rounds', '1', '--out', join(dir + '-cfg', 'run')]);
  const fromFile = JSON.parse(JSON.stringify(await storedConfig(join(dir + '-cfg', 'run'))));
  assert.equal(fromFile.strategy, 'krum');
  assert.deepEqual(fromFile.strategyOptions, { f: 2 });
  assert.deepEqual(fromFile.federatedEvaluation, { fraction: 0.2, testFraction: 0.2 });
  assert.equal(fromFile.rounds, 1);

  await assert.rejects(
    runSimulate([
      ...common,
      '--strategy',
      'krum',
      '--strategy-option',
      'g=1',
      '--rounds',
      '1',
      '--out',
      dir + '-x',
    ]),
    /strategy 'krum' has no option 'g' \(its options: f\)/,
  );
  await assert.rejects(
    runSimulate([...common, '--strategy-option', 'f', '--rounds', '1', '--out', dir + '-y']),
    /--strategy-option expects key=value, got 'f'/,
  );
});

test('simulate --teacher: every client distills from the teacher it holds; a teacher that cannot work is refused first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-cli-distill-'));
  const teacherSpec = builtInModel('mlp', { inputShape: [1, 28, 28], classes: 10, seed: 2 });
  const teacher = join(dir, 'teacher.onnx');
  writeFileSync(teacher, exportInferenceModel(teacherSpec, initialParameters(teacherSpec)));
  const common = ['--model', 'logreg', '--clients', '10', '--fraction', '0.3', '--local-steps', '2'];
  const lines = await runSimulate([
    ...common,
    '--teacher',
    teacher,
    '--rounds',
    '2',
    '--out',
    join(dir, 'run'),
  ]);
  const text = lines.join('\n');
  assert.match(text, /distillation from .*teacher\.onnx on every client \(T=4, alpha 0\.9\)/);
  // Every selected client trained (a client without its teacher would fail its fit).
  assert.equal((text.match(/clients 3\/3 \|/g) ?? []).length, 2, text);
  const stored = JSON.parse(JSON.stringify(await storedConfig(join(dir, 'run'))));
  assert.deepEqual(stored.distillation, { temperature: 4, alpha: 0.9 });

  const refuse = (args: string[], message: RegExp) =>
    assert.rejects(runSimulate([...common, '--rounds', '1', '--out', join(dir, 'no'), ...args]), message);
  await refuse(['--teacher', join(dir, 'missing.onnx')], /teacher .*missing\.onnx: no such file/);
  const wrong = builtInModel('mlp', { inputShape: [1, 28, 28], classes: 3, seed: 2 });
  writeFileSync(join(dir, 'three.onnx'), exportInferenceModel(wrong, initialParameters(wrong)));
  await refuse(['--teacher', join(dir, 'three.onnx')], /scores 3 classes, the data has 10/);
  await refuse(['--distill-alpha', '0.5'], /distillation: the clients need a teacher/);
  await refuse(
    ['--teacher', teacher, '--local-dp-noise', '1', '--local-dp-clip', '1'],
    /distillation and localDp: a client trains on one local objective/,
  );
  assert.equal(existsSync(join(dir, 'no')), false, 'no run folder for a refused run');
});

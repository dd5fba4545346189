/**
 * `edgefl simulate` refuses settings that are malformed, misspelt, out of range, that would do
 * nothing, or that cannot work — before loading any data (nothing is printed), naming the flag or
 * the config file's field. Each case was accepted (or failed late, or silently did something else)
 * before the settings had one schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RdpAccountant } from 'edgefl';
import { Interrupted, registerSimulateCommand } from './simulate.js';
import { runCommand } from '../../../test/helpers/cli.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'edgefl-refuse-'));

async function refused(args: string[], message: RegExp): Promise<void> {
  const lines: string[] = [];
  await assert.rejects(runCommand(registerSimulateCommand, ['simulate', ...args], lines), message);
  assert.deepEqual(lines, [], `nothing is printed before the refusal (${args.join(' ')})`);
}

function configFile(content: string): string {
  const path = join(fresh(), 'run.json');
  writeFileSync(path, content);
  return path;
}

test('a config file is validated field by field, naming the file and the field', async () => {
  const two = configFile('{"rounds":"two"}');
  await refused(['--config', two], new RegExp(`${two}.*rounds\\): must be a number, got "two"`));
  await refused(
    ['--config', configFile('{"fraction":0}')],
    /--fraction \(fraction\): Too small: expected number to be >0/,
  );
  await refused(['--config', configFile('{"rounds":2,"rouds":3}')], /unknown setting 'rouds'/);
  await refused(
    ['--config', configFile('{"dp":{"noiseMultiplier":1,"clip":1}}')],
    /unknown setting 'dp.clip'/,
  );
  const broken = configFile('{"rounds": 2,');
  await refused(['--config', broken], new RegExp(`--config ${broken} is not valid JSON`));
  await refused(['--config', configFile('[1,2]')], /expected a JSON object of settings/);
  await refused(['--config', join(fresh(), 'missing.json')], /no such file/);
});

test('flags out of range, unknown names and settings that would do nothing are refused before any data is loaded', async () => {
  await refused(['--strategy', 'fedsgd'], /--strategy \(strategy\): unknown strategy \(known: fedavg, /);
  await refused(['--rounds', 'two'], /--rounds \(rounds\): must be a number, got "two"/);
  await refused(['--dropout', '1'], /--dropout \(failures.dropoutRate\): must be below 1/);
  await refused(['--client-test', '0.3'], /--fed-eval is needed with --client-test/);
  await refused(['--attack-factor', '-5'], /--byzantine is needed with --attack-factor/);
  await refused(['--dp-clip', '1'], /--dp-noise is needed with --dp-clip/);
  await refused(
    ['--byzantine', '0.2', '--attack-factor', '5'],
    /failures.byzantine.factor applies only to the 'scale' attack/,
  );
  await refused(['--local-epochs', '2', '--local-steps', '5'], /localEpochs and localSteps: give one/);
  await refused(
    ['--model', 'transformer'],
    /--model 'transformer': simulate trains mlp, cnn, logreg .*text model/,
  );
  await refused(['--strategy-option', 'beta=0.1'], /strategy 'fedavg' has no option 'beta'/);
});

test('settings that cannot work are refused before any work, naming the setting', async () => {
  await refused(
    ['--clients', '10', '--min-available', '11'],
    /minAvailableClients \(11\) is more than the 10 clients/,
  );
  await refused(
    ['--strategy', 'krum', '--strategy-option', 'f=2', '--clients', '20', '--fraction', '0.2'],
    /strategy 'krum' needs at least 7 updates a round, and a round trains 4 of the 20 clients/,
  );
  await refused(
    ['--strategy', 'bulyan', '--strategy-option', 'f=2', '--clients', '100', '--fraction', '0.1'],
    /strategy 'bulyan' needs at least 11 updates a round, and a round trains 10 of the 100 clients/,
  );
  await refused(
    ['--dp-noise', '1', '--dp-clip', '1', '--secagg'],
    /dp.noise 'central' with secureAggregation: the server cannot clip updates it cannot see/,
  );
  await refused(
    ['--min-results', '20', '--clients', '100'],
    /minResults \(20\) is more than the 10 clients a round trains/,
  );
});

test('a run folder is never overwritten, and a resumed run names the setting that changed', async () => {
  const dir = fresh();
  const small = ['--model', 'logreg', '--clients', '10', '--fraction', '0.3', '--local-steps', '1'];
  await runCommand(registerSimulateCommand, ['simulate', ...small, '--rounds', '1', '--out', dir]);
  const checkpoint = readFileSync(join(dir, 'checkpoint.eflc'));
  await refused([...small, '--rounds', '1', '--out', dir], /already holds a run .*--resume/);
  assert.deepEqual(readFileSync(join(dir, 'checkpoint.eflc')), checkpoint, 'the checkpoint is untouched');
  await refused(
    ['--resume', dir, '--out', fresh()],
    /--out and --resume: a resumed run continues in its own folder/,
  );
  await refused(
    ['--resume', dir, '--lr', '0.2'],
    /cannot resume .* with different settings: --lr \(lr\) was 0.05, now 0.2/,
  );
  await refused(
    ['--resume', dir, '--dp-noise', '1', '--dp-clip', '1'],
    /with different settings: dp was \(not set\), now \{"noiseMultiplier":1,"clipNorm":1/,
  );
  await refused(['--resume', fresh()], /has no checkpoint/);
});

test('an interrupted run leaves its curves, table, metrics and model, and says how to resume', async () => {
  const dir = fresh();
  const lines: string[] = [];
  const args = [
    'simulate',
    '--model',
    'logreg',
    '--clients',
    '10',
    '--fraction',
    '0.3',
    '--local-steps',
    '1',
  ];
  // Ctrl-C once the first round has ended: the run stops after the round in progress.
  const run = runCommand(registerSimulateCommand, [...args, '--rounds', '50', '--out', dir], lines);
  const interrupt = setInterval(() => {
    if (!lines.some((l) => l.startsWith('round'))) return;
    clearInterval(interrupt);
    process.emit('SIGINT');
  }, 5);
  // The command ends in an error (exit code 130 from the CLI): the run asked for was not done.
  await assert.rejects(run, (e: unknown) => e instanceof Interrupted && e.exitCode === 130);
  clearInterval(interrupt);
  const text = lines.join('\n');
  const m = /stopped early: stopped on request before round (\d+)/.exec(text);
  assert.ok(m, text);
  const done = Number(m[1]) - 1;
  assert.ok(done >= 1 && done < 50);
  assert.match(text, new RegExp(`continue with --resume ${dir}`));
  const files = readdirSync(dir);
  for (const f of [
    'accuracy.png',
    'loss.svg',
    'metrics.csv',
    'metrics.jsonl',
    'model.onnx',
    'checkpoint.eflc',
  ])
    assert.ok(files.includes(f), `${f} is written (${files.join(', ')})`);
  const csv = readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 1 + done, 'a header and a line per completed round');
  assert.ok(existsSync(join(dir, 'parameters.eflp')));
});

test('a run in which no round changed the model ends with an error that says why', async () => {
  const dir = fresh();
  const lines: string[] = [];
  await assert.rejects(
    runCommand(
      registerSimulateCommand,
      ['simulate', '--model', 'logreg', '--clients', '10', '--fraction', '0.3', '--local-steps', '1'].concat([
        '--rounds',
        '2',
        '--min-results',
        '3',
        '--dropout',
        '0.99',
        '--out',
        dir,
      ]),
      lines,
    ),
    /the run did not train: none of the 2 rounds changed the model; most frequent reasons: .*dropped out/,
  );
  assert.match(lines.join('\n'), /round {3}2\/2/);
});

test('a privacy budget smaller than one round, and local DP-SGD on a model it cannot cover, are refused before any data or folder', async () => {
  const small = ['--model', 'logreg', '--clients', '10', '--fraction', '0.3', '--local-steps', '1'];
  const out = join(fresh(), 'run');
  await refused(
    [...small, '--dp-noise', '0.5', '--dp-clip', '0.5', '--dp-epsilon', '0.1', '--out', out],
    /--dp-epsilon \(dp.epsilonBudget\) is 0.1, less than one round spends: epsilon \d+\.\d+ at delta 0.00001 .*so no round could run/,
  );
  assert.ok(!existsSync(out), 'no run folder is made');
  // The budget is compared with what the accountant says one round costs: just above it, a round runs.
  const oneRound = new RdpAccountant().spentAfter(
    { noiseMultiplier: 0.5, samplingRate: 0.3 },
    1,
    1e-5,
  ).epsilon;
  const lines: string[] = [];
  await runCommand(
    registerSimulateCommand,
    [
      'simulate',
      ...small,
      '--dp-noise',
      '0.5',
      '--dp-clip',
      '0.5',
      '--dp-epsilon',
      String(oneRound * 1.01),
    ].concat(['--rounds', '3', '--out', out]),
    lines,
  );
  const text = lines.join('\n');
  assert.match(text, /round {3}1\/3/);
  assert.doesNotMatch(text, /round {3}2\/3/, 'the budget covers one round only');
  assert.equal(text.match(/privacy budget exhausted/g)?.length, 1, 'the reason is printed once');
  assert.match(text, /continue with --resume .* and a larger --dp-epsilon/);

  const cnnOut = join(fresh(), 'run');
  await refused(
    ['--model', 'cnn', '--local-dp-noise', '1', '--local-dp-clip', '1', '--rounds', '1', '--out', cnnOut],
    /local DP-SGD \(--local-dp-noise, --local-dp-clip\) cannot train the cnn model: DP-SGD: parameter '.*' is used by Conv; per-example clipping covers dense layers \(Gemm\) only/,
  );
  assert.ok(!existsSync(cnnOut), 'no run folder is made');
});

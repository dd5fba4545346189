import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { registerDpCommand } from './dp.js';

/** A program with `dp` registered, its output and error text captured instead of printed. */
function setup(configureFirst = false): { program: Command; lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const program = new Command('edgefl');
  const configure = (): void => {
    program.exitOverride();
    program.configureOutput({ writeOut: (s) => lines.push(s), writeErr: (s) => errors.push(s) });
  };
  if (configureFirst) configure();
  registerDpCommand(program, (line) => lines.push(line));
  if (!configureFirst) configure();
  return { program, lines, errors };
}

async function run(args: string[], configureFirst = false): Promise<{ lines: string[]; errors: string[] }> {
  const { program, lines, errors } = setup(configureFirst);
  await program.parseAsync(args, { from: 'user' });
  return { lines, errors };
}

async function runFailing(args: string[]): Promise<{ error: CommanderError; errors: string[] }> {
  const { program, errors } = setup();
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    assert.ok(error instanceof CommanderError, `expected a CommanderError, got ${String(error)}`);
    return { error, errors };
  }
  assert.fail(`expected ${args.join(' ')} to fail`);
}

const OPACUS_CASE = [
  '--sampling-rate',
  '0.04',
  '--noise-multiplier',
  '1.5',
  '--steps',
  '2250',
  '--delta',
  '1e-5',
];

test('dp epsilon prints epsilon and the best order (Opacus test_rdp_accountant case: 7.32911117143)', async () => {
  const { lines } = await run(['dp', 'epsilon', ...OPACUS_CASE]);
  assert.deepEqual(lines, ['epsilon = 7.32911 (delta = 1e-5, best RDP order 3.9)']);
});

test('dp epsilon --json prints one parseable object with the full-precision value', async () => {
  const { lines } = await run(['dp', 'epsilon', ...OPACUS_CASE, '--json']);
  assert.equal(lines.length, 1);
  const result = JSON.parse(lines[0]);
  assert.ok(Math.abs(result.epsilon - 7.32911117143) < 1e-9, `got ${result.epsilon}`);
  assert.equal(result.bestOrder, 3.9);
  assert.deepEqual(
    [result.samplingRate, result.noiseMultiplier, result.steps, result.delta, result.conversion],
    [0.04, 1.5, 2250, 1e-5, 'improved'],
  );
});

test('dp epsilon --conversion classic reproduces the TF Privacy MNIST tutorial figure 3.01', async () => {
  // The tutorial used orders 1.1..10.9 and 12..63; the default list here adds 11 and 128..1024,
  // which cannot raise epsilon, and at z = 1.1 the optimum (8.8) is in both lists.
  const { lines } = await run([
    'dp',
    'epsilon',
    '--sampling-rate',
    String(256 / 60000),
    '--noise-multiplier',
    '1.1',
    '--steps',
    String(60 * 234),
    '--delta',
    '1e-5',
    '--conversion',
    'classic',
    '--json',
  ]);
  assert.equal(JSON.parse(lines[0]).epsilon.toFixed(2), '3.01');
});

test('dp epsilon with no noise reports an infinite epsilon (null in JSON)', async () => {
  const args = [
    'dp',
    'epsilon',
    '--sampling-rate',
    '0.1',
    '--noise-multiplier',
    '0',
    '--steps',
    '3',
    '--delta',
    '1e-5',
  ];
  assert.match((await run(args)).lines[0], /^epsilon = Infinity .*no privacy guarantee without noise/);
  assert.equal(JSON.parse((await run([...args, '--json'])).lines[0]).epsilon, null);
});

test('dp noise prints the smallest noise multiplier (Opacus get_noise_multiplier case: 1.416)', async () => {
  const args = [
    'dp',
    'noise',
    '--sampling-rate',
    '0.04',
    '--steps',
    '2250',
    '--delta',
    '1e-5',
    '--epsilon',
    '8',
  ];
  const { lines } = await run(args);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0],
    /^noise multiplier = 1\.41579 \(smallest with epsilon <= 8 at delta = 1e-5; epsilon there 7\.9999/,
  );
  const json = JSON.parse((await run([...args, '--json'])).lines[0]);
  assert.ok(Math.abs(json.noiseMultiplier - 1.416) / 1.416 < 1e-3, `got ${json.noiseMultiplier}`);
  assert.ok(json.epsilon <= 8 && json.epsilon > 7.99, `epsilon at the answer: ${json.epsilon}`);
  assert.equal(json.targetEpsilon, 8);
});

test('settings made on the program after registering still reach the dp subcommands', async () => {
  // setup() configures exitOverride/output after registerDpCommand by default; this is the other order.
  const { lines } = await run(['dp', 'epsilon', ...OPACUS_CASE], true);
  assert.equal(lines.length, 1);
  const { error } = await runFailing(['dp', 'epsilon', ...OPACUS_CASE.slice(0, 6), '--delta', '2']);
  assert.equal(error.code, 'commander.invalidArgument');
});

test('bad numbers are refused with an error naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['--sampling-rate', '1.5'],
      /option '--sampling-rate <q>' argument '1\.5' is invalid\. Expected a probability in \[0, 1\]/,
    ],
    [['--sampling-rate', 'abc'], /'--sampling-rate <q>' argument 'abc' is invalid/],
    [
      ['--noise-multiplier', '-1'],
      /'--noise-multiplier <z>' argument '-1' is invalid\. Expected a number >= 0/,
    ],
    [['--steps', '2.5'], /'--steps <T>' argument '2\.5' is invalid\. Expected a whole number of steps/],
    [['--steps', '0x10'], /'--steps <T>' argument '0x10' is invalid/],
    [['--delta', '0'], /'--delta <d>' argument '0' is invalid\. Expected a number in \(0, 1\)/],
    [['--delta', ''], /'--delta <d>' argument '' is invalid/],
  ];
  for (const [override, message] of cases) {
    const args = [...OPACUS_CASE];
    args[args.indexOf(override[0]) + 1] = override[1];
    const { error, errors } = await runFailing(['dp', 'epsilon', ...args]);
    assert.equal(error.code, 'commander.invalidArgument', override.join(' '));
    assert.match(error.message, message);
    assert.match(errors.join(''), message, 'the message is also written to the error stream');
  }
  const noise = await runFailing([
    'dp',
    'noise',
    '--sampling-rate',
    '0.04',
    '--steps',
    '10',
    '--delta',
    '1e-5',
    '--epsilon',
    '0',
  ]);
  assert.match(noise.error.message, /'--epsilon <e>' argument '0' is invalid\. Expected a number > 0/);
});

test('missing flags and unknown choices are refused by name', async () => {
  const missing = await runFailing(['dp', 'epsilon', ...OPACUS_CASE.slice(0, 6)]);
  assert.equal(missing.error.code, 'commander.missingMandatoryOptionValue');
  assert.match(missing.error.message, /required option '--delta <d>' not specified/);
  const choice = await runFailing(['dp', 'epsilon', ...OPACUS_CASE, '--conversion', 'tight']);
  assert.match(choice.error.message, /'--conversion <kind>' argument 'tight' is invalid/);
});

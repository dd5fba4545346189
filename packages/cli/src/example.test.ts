/**
 * `edgefl example`: lists the repository's examples with the first line of their comments, refuses
 * an unknown name with the list, and runs an example as its own process — its options passed through
 * (its --help, its refusal of an unknown option with a non-zero exit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../../test/helpers/cli.js';
import { examplesFolder, listExamples, registerExampleCommand } from './example.js';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const edgefl = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@edgefl/source', main, ...args], {
    encoding: 'utf8',
    env,
  });

test('--list names every example file with its summary', async () => {
  const files = readdirSync(examplesFolder()).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(files.includes('fraud.ts') && files.includes('hospitals.ts'));
  const lines = await runCommand(registerExampleCommand, ['example', '--list']);
  for (const f of files) {
    const line = lines.find((l) => l.trim().startsWith(f.slice(0, -3)));
    assert.ok(line, `${f} listed in ${lines.join('\n')}`);
  }
  const fraud = listExamples().find((e) => e.name === 'fraud')!;
  assert.match(fraud.summary, /Banks that detect fraud together/);
});

test('an unknown example is refused with the list of examples', async () => {
  await assert.rejects(
    runCommand(registerExampleCommand, ['example', 'frauds']),
    /no example 'frauds'; the examples: .*fraud/,
  );
});

test('the example runs as its own process: its --help, and its refusal of a bad option', () => {
  const help = edgefl(['example', 'hospitals', '--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--full/);
  assert.match(help.stdout, /--out DIR/);
  const bad = edgefl(['example', 'hospitals', '--rounds', '3']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /example hospitals: Unknown option '--rounds'/);
});

test('a data package that cannot be had stops the example with what to install, and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-example-'));
  try {
    const out = join(dir, 'report');
    // No apt-get on the PATH and an empty cache: the hospitals' data cannot be fetched.
    const run = edgefl(['example', 'hospitals', '--out', out], {
      ...process.env,
      PATH: join(dir, 'no-programs'),
      XDG_CACHE_HOME: join(dir, 'cache'),
    });
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, /apt-get/);
    assert.match(run.stderr, /breast_cancer\.csv/);
    assert.match(run.stderr, /nothing was written/);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f !== 'cache'),
      [],
      'no report folder, no staging folder',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

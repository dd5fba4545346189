import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../test/helpers/cli.js';
import { registerFederateCommands } from './federate.js';

test('edgefl server refuses what cannot work before any work: no state folder, no token written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-server-cli-'));
  const config = join(dir, 'federation.json');
  writeFileSync(config, JSON.stringify({ dataset: 'mnist', rounds: 2 }));
  const state = join(dir, 'state');
  const run = (...args: string[]) =>
    runCommand(registerFederateCommands, ['server', '--state', state, ...args]);
  await assert.rejects(
    run('--config', join(dir, 'missing.json'), '--insecure'),
    /--config .*missing\.json: no such file/,
  );
  writeFileSync(join(dir, 'broken.json'), '{ rounds: ');
  await assert.rejects(run('--config', join(dir, 'broken.json'), '--insecure'), /broken\.json: not JSON/);
  await assert.rejects(run('--config', config), /give --cert and --key .* or --insecure/);
  await assert.rejects(
    run('--config', config, '--insecure', '--host', '0.0.0.0'),
    /refusing to listen in plaintext on 0\.0\.0\.0/,
  );
  await assert.rejects(
    run('--config', config, '--cert', join(dir, 'c.pem'), '--insecure'),
    /--cert and --key go together/,
  );
  assert.equal(existsSync(state), false);
  await assert.rejects(
    run('--config', config, '--insecure', '--resume'),
    /--resume: .* holds no federation to continue/,
  );
  // A folder that holds a run is never started over.
  mkdirSync(state);
  writeFileSync(join(state, 'checkpoint.eflc'), 'a run');
  await assert.rejects(
    run('--config', config, '--insecure'),
    /already holds a federation .* --resume, or give another --state/,
  );
  assert.equal(readFileSync(join(state, 'checkpoint.eflc'), 'utf8'), 'a run');
  assert.equal(existsSync(join(state, 'enrollment-token')), false);
});

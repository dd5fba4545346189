import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../test/helpers/cli.js';
import { joinUrl, registerFederateCommands } from './federate.js';
import { makeTrialCertificates } from './certs.js';

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

test('the join hint names the server as its certificate does (a device checks the name)', async () => {
  const only = await makeTrialCertificates({ hosts: ['fl.example.org'] });
  assert.equal(
    joinUrl('wss://127.0.0.1:8443/federation', only.serverCert),
    'wss://fl.example.org:8443/federation',
  );
  const both = await makeTrialCertificates({});
  // 127.0.0.1 is in the default certificate: the address stays.
  assert.equal(
    joinUrl('wss://127.0.0.1:8443/federation', both.serverCert),
    'wss://127.0.0.1:8443/federation',
  );
  assert.equal(joinUrl('wss://[::1]:8443/federation', both.serverCert), 'wss://[::1]:8443/federation');
  assert.equal(joinUrl('ws://127.0.0.1:8443/federation', undefined), 'ws://127.0.0.1:8443/federation');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { builtInModel } from 'edgefl';
import { nodePlatform } from '@edgefl/node';
import { connectClient, generateIdentity, type WebSocketLike } from '@edgefl/net';
import { createServer, requestRevocation, serverSettingsOf, type RegistryState } from '@edgefl/server';
import { runCommand } from '../../../test/helpers/cli.js';
import { blobs } from '../../../test/helpers/synthetic.js';
import { registerFederateCommands } from './federate.js';

const revoke = (...args: string[]) => runCommand(registerFederateCommands, ['revoke', ...args]);
const registryOf = (state: string) =>
  JSON.parse(readFileSync(join(state, 'registry.json'), 'utf8')) as RegistryState;

const data = blobs(20, 4, 3);

test('edgefl revoke refuses a folder that is not a server state, an unknown device, and a malformed id', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'edgefl-revoke-'));
  await assert.rejects(revoke('c1', '--state', empty), /is not a federation server's state folder/);
  writeFileSync(
    join(empty, 'registry.json'),
    JSON.stringify({ clients: [{ id: 'c1', publicKey: 'x', enrolledAt: '2026-01-01T00:00:00Z' }] }),
  );
  await assert.rejects(revoke('c9', '--state', empty), /'c9' is not enrolled in .* \(1 devices: c1\)/);
  await assert.rejects(revoke('c1', '--state', empty, '--wait', 'soon'), /--wait: expected seconds/);
  // An id that could name a path outside the request folder is no id at all.
  await assert.rejects(requestRevocation(empty, '../registry'), /'..\/registry' is not a client id/);
  assert.equal(existsSync(join(empty, 'revoke')), false, 'nothing queued by a refused command');
});

test(
  'edgefl revoke cuts a connected device off a running server within a second, for good',
  { timeout: 120_000 },
  async () => {
    const state = mkdtempSync(join(tmpdir(), 'edgefl-revoke-live-'));
    const stop = new AbortController();
    const server = await createServer({
      settings: serverSettingsOf({
        rounds: 1000,
        fraction: 1,
        minAvailableClients: 1,
        localSteps: 1,
        model: 'logreg',
      }),
      spec: builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 }),
      stateDir: state,
      tokens: ['secret'],
      signal: stop.signal,
    });
    const run = server.run();
    const platform = nodePlatform();
    const identity = generateIdentity().identity;
    let fitted!: () => void;
    const firstFit = new Promise<void>((r) => (fitted = r));
    const join1 = () =>
      connectClient({
        url: server.url,
        clientId: 'c1',
        identity,
        token: 'secret',
        data,
        runtime: platform.runtime,
        retry: { initialMs: 50, maxMs: 100, attempts: 3 },
        webSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
        onEvent: (e) => e.kind === 'fit' && fitted(),
      });
    const client = join1();
    await firstFit;

    const lines = await revoke('c1', '--state', state);
    assert.match(lines.join('\n'), /'c1' revoked: the server cut it off/);
    const r = await client.done;
    assert.equal(r.completed, false);
    assert.match(r.reason, /refused by the server \(revoked\)/);
    assert.ok(registryOf(state).clients.find((c) => c.id === 'c1')?.revokedAt, 'the revocation is on disk');
    assert.equal(existsSync(join(state, 'revoke', 'c1.json')), false, 'the request was consumed');
    // The same device cannot come back, and revoking again says so.
    const again = await join1().done;
    assert.match(again.reason, /revoked/);
    assert.match((await revoke('c1', '--state', state)).join('\n'), /'c1' was already revoked at/);
    stop.abort();
    await run;
    await server.close();
  },
);

test(
  'a revocation queued while the server is down applies when it starts, before any device connects',
  { timeout: 60_000 },
  async () => {
    const state = mkdtempSync(join(tmpdir(), 'edgefl-revoke-queued-'));
    writeFileSync(
      join(state, 'registry.json'),
      JSON.stringify({
        clients: [{ id: 'c2', publicKey: 'unused', enrolledAt: '2026-01-01T00:00:00Z' }],
      }),
    );
    const lines = await revoke('c2', '--state', state, '--wait', '0.3');
    assert.match(lines.join('\n'), /revocation of 'c2' queued: no running server took it within 0.3 s/);
    assert.equal(registryOf(state).clients[0].revokedAt, undefined, 'not applied by the command itself');
    const server = await createServer({
      settings: serverSettingsOf({ rounds: 1, model: 'logreg' }),
      spec: builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 }),
      stateDir: state,
      tokens: ['secret'],
    });
    assert.ok(registryOf(state).clients[0].revokedAt, 'applied as the server started');
    assert.equal(existsSync(join(state, 'revoke', 'c2.json')), false);
    await server.close();
  },
);

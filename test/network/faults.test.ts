/**
 * Faults with real processes on loopback: clients killed in the middle of a round, a client that
 * comes back, and a server killed with SIGKILL and restarted with --resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCheckpoint } from 'edgefl';
import { runCommand } from '../helpers/cli.js';
import { partitionMnist, roundRecords } from '../helpers/federation.js';
import { startEdgefl, type EdgeflProcess } from '../helpers/processes.js';
import { registerCertsCommand } from '../../packages/cli/src/certs.js';

const CLIENTS = 10;

async function federation(settings: Record<string, unknown>, o: { tls?: boolean } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'edgefl-faults-'));
  const certs = join(work, 'certs');
  if (o.tls) await runCommand(registerCertsCommand, ['certs', '--out', certs]);
  const transport = o.tls
    ? ['--cert', join(certs, 'server.pem'), '--key', join(certs, 'server-key.pem')]
    : ['--insecure'];
  const parts = join(work, 'parts');
  await partitionMnist(parts, { clients: CLIENTS, partition: 'iid' });
  const config = join(work, 'federation.json');
  writeFileSync(
    config,
    JSON.stringify({ dataset: 'mnist', model: 'mlp', localEpochs: 1, batchSize: 20, ...settings }),
  );
  const state = join(work, 'state');
  const serverArgs = (port: string, ...more: string[]) => [
    'server',
    '--config',
    config,
    '--state',
    state,
    ...transport,
    '--port',
    port,
    '--token',
    'tok',
    ...more,
  ];
  const client = (url: string, k: number, token = true) =>
    startEdgefl([
      'client',
      '--server',
      url,
      ...(token ? ['--token', 'tok'] : []),
      '--data',
      join(parts, `client-${k}`),
      '--id',
      `device-${k}`,
      ...(o.tls ? ['--ca', join(certs, 'ca.pem')] : []),
    ]);
  return { work, state, serverArgs, client };
}

test(
  'three of ten client processes killed in the middle of a round: the round completes from the other seven, and a killed client that comes back trains again',
  { timeout: 300_000 },
  async () => {
    const f = await federation({ rounds: 8, fraction: 1, minAvailableClients: 7, seed: 1 });
    const server = startEdgefl(f.serverArgs('0'));
    const [, url] = await server.waitFor(/listening: (ws:\/\/\S+)/);
    const clients: EdgeflProcess[] = Array.from({ length: CLIENTS }, (_, k) => f.client(url, k));
    // Round 1 done means round 2's fits are out: every client is training (a fit takes ~2 s).
    await server.waitFor(/round {3}1\/8/);
    for (const c of clients.slice(0, 3)) c.child.kill('SIGKILL');
    // One of them comes back at once, with the key it enrolled (no token needed now); starting the
    // process takes about as long as a round, so it joins from round 3 or 4 on.
    const back = f.client(url, 0, false);
    await back.waitFor(/joined/);
    assert.equal(await server.exited, 0, server.output());
    const r = roundRecords(f.state);
    assert.equal(r.length, 8);
    // Round 2: the three killed clients are recorded as dropped, the other seven aggregated.
    const second = r[1];
    const dropped = second.problems
      .filter((p) => p.kind === 'dropped')
      .map((p) => p.clientId)
      .sort();
    assert.deepEqual(dropped, ['device-0', 'device-1', 'device-2'], JSON.stringify(second.problems));
    assert.equal(second.aggregated, 7);
    assert.ok(second.updated);
    assert.match(second.problems[0].reason, /disconnected/);
    // The returning client trains again in the rounds after it joined, and those rounds count it.
    const trained = [...back.output().matchAll(/round (\d+): trained/g)].map((m) => Number(m[1]));
    assert.ok(trained.length >= 1, back.output());
    for (const round of trained) {
      assert.equal(r[round - 1].aggregated, 8, JSON.stringify(r[round - 1]));
      assert.deepEqual(r[round - 1].problems, []);
    }
    assert.equal(await back.exited, 0, back.output());
  },
);

test(
  'with TLS, the server killed with SIGKILL in the middle of training and restarted with --resume: no completed round is lost, the clients reconnect by themselves, and the run ends at its last round',
  { timeout: 300_000 },
  async () => {
    const f = await federation(
      { rounds: 6, fraction: 0.5, minAvailableClients: CLIENTS, seed: 2 },
      { tls: true },
    );
    const first = startEdgefl(f.serverArgs('0'));
    const [, url, port] = await first.waitFor(/listening: (wss:\/\/127\.0\.0\.1:(\d+)\/federation)/);
    const clients = Array.from({ length: CLIENTS }, (_, k) => f.client(url, k));
    await first.waitFor(/round {3}3\/6/);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    // What survived: a whole checkpoint of round 3 or later (never a half-written one).
    const saved = decodeCheckpoint(
      new Uint8Array(readFileSync(join(f.state, 'checkpoint.eflc'))),
      'checkpoint',
    );
    assert.ok(saved.round >= 3, `checkpoint of round ${saved.round}`);
    const before = roundRecords(f.state).slice(0, saved.round);

    const second = startEdgefl(f.serverArgs(port, '--resume'));
    await second.waitFor(new RegExp(`resuming from round ${saved.round}`));
    assert.equal(await second.exited, 0, second.output());
    for (const c of clients) {
      assert.equal(await c.exited, 0, c.output());
      assert.match(c.output(), /disconnected: .*retrying/);
      assert.match(c.output(), /the run finished after round 6/);
    }
    const after = roundRecords(f.state);
    assert.deepEqual(
      after.map((r) => r.round),
      [1, 2, 3, 4, 5, 6],
    );
    // The rounds before the crash are kept as they were.
    assert.deepEqual(after.slice(0, saved.round), before);
    assert.ok(after.slice(saved.round).every((r) => r.updated && r.aggregated === CLIENTS / 2));
  },
);

/**
 * A federation of real processes on loopback: `edgefl partition` writes ten clients' MNIST
 * shares, one `edgefl server` and ten `edgefl client` processes train, and the result is compared
 * with `edgefl simulate` run on the same settings, seed and shares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../helpers/cli.js';
import { partitionMnist, roundRecords } from '../helpers/federation.js';
import { startEdgefl } from '../helpers/processes.js';
import { registerSimulateCommand } from '../../packages/cli/src/simulate.js';

const CLIENTS = 10;
const ROUNDS = 5;

test(
  'ten client processes and a server on loopback train 5 rounds to the figures of the simulation with the same seed and shares',
  { timeout: 300_000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'edgefl-network-'));
    const parts = join(work, 'parts');
    await partitionMnist(parts, { clients: CLIENTS, partition: 'shards:2', seed: 3 });
    const settings = {
      dataset: 'mnist',
      model: 'mlp',
      rounds: ROUNDS,
      fraction: 0.5,
      minAvailableClients: CLIENTS,
      localEpochs: 1,
      batchSize: 20,
      lr: 0.05,
      seed: 3,
    };
    const config = join(work, 'federation.json');
    writeFileSync(config, JSON.stringify(settings));
    const state = join(work, 'state');
    const server = startEdgefl([
      'server',
      '--config',
      config,
      '--state',
      state,
      '--insecure',
      '--port',
      '0',
      '--token',
      'trial-token',
      '--log',
      join(work, 'server.log'),
    ]);
    const [, url] = await server.waitFor(/listening: (ws:\/\/\S+)/);
    // The simulation names its clients 0..9; the same names give each client the same seed.
    const clients = Array.from({ length: CLIENTS }, (_, k) =>
      startEdgefl([
        'client',
        '--server',
        url,
        '--token',
        'trial-token',
        '--data',
        join(parts, `client-${k}`),
        '--id',
        String(k),
        '--quiet',
        // Client 0 keeps the final model the server sends with its goodbye.
        ...(k === 0 ? ['--save-model', join(work, 'client-0-model.onnx')] : []),
      ]),
    );
    assert.equal(await server.exited, 0, server.output());
    for (const c of clients) {
      assert.equal(await c.exited, 0, c.output());
      assert.match(c.output(), /the run finished after round 5/);
    }
    const network = roundRecords(state);

    const sim = join(work, 'sim');
    await runCommand(registerSimulateCommand, [
      'simulate',
      '--dataset',
      'mnist',
      '--clients',
      String(CLIENTS),
      '--partition',
      'shards:2',
      '--fraction',
      '0.5',
      '--rounds',
      String(ROUNDS),
      '--local-epochs',
      '1',
      '--batch',
      '20',
      '--lr',
      '0.05',
      '--seed',
      '3',
      '--out',
      sim,
    ]);
    const simulated = roundRecords(sim);
    assert.equal(network.length, ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      const [n, s] = [network[r], simulated[r]];
      assert.equal(n.selected, CLIENTS / 2, `round ${r + 1}`);
      assert.equal(n.aggregated, s.aggregated, `round ${r + 1}: aggregated`);
      // The same clients (sampled from the same seed), the same shares, the same per-client seeds
      // and one ONNX Runtime build: each update is the same bits, and the server adds them in
      // client order whatever order they arrive in. Exact equality is expected; the tolerance only
      // leaves room for a back-end that rounds differently, and is far below what training moves.
      assert.ok(Math.abs(n.loss! - s.loss!) <= 1e-6, `round ${r + 1}: loss ${n.loss} vs ${s.loss}`);
      assert.ok(
        Math.abs(n.accuracy! - s.accuracy!) <= 1e-4,
        `round ${r + 1}: accuracy ${n.accuracy} vs ${s.accuracy}`,
      );
    }
    // Training worked at all: accuracy rose well above chance (10%; five rounds of half the clients,
    // each holding two digits, reach about 44%).
    assert.ok(network[ROUNDS - 1].accuracy! > 0.3, `final accuracy ${network[ROUNDS - 1].accuracy}`);
    // The state folder holds what a restart needs, and the exported model.
    const log = readFileSync(join(work, 'server.log'), 'utf8');
    assert.match(log, /"msg":"round"/);
    assert.ok(readFileSync(join(state, 'registry.json'), 'utf8').includes('"id": "9"'));
    assert.ok(readFileSync(join(state, 'model.onnx')).length > 100_000);
    // The device's copy of the final model is the server's, byte for byte.
    assert.deepEqual(
      readFileSync(join(work, 'client-0-model.onnx')),
      readFileSync(join(state, 'model.onnx')),
    );
  },
);

/**
 * The privacy layers over the network, with real processes on loopback: secure aggregation
 * (SecAgg+) with devices dying at each of its stages, and DP-FedAvg with the epsilon the server
 * reports checked against the accountant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epsilon } from 'edgefl';
import { partitionMnist, roundRecords } from '../helpers/federation.js';
import { startEdgefl } from '../helpers/processes.js';

const CLIENTS = 10;

/** A server and ten clients; `drills[k]` makes client k die as that task arrives. */
async function federate(settings: Record<string, unknown>, drills: Record<number, string> = {}) {
  const work = mkdtempSync(join(tmpdir(), 'edgefl-privacy-'));
  const parts = join(work, 'parts');
  await partitionMnist(parts, { clients: CLIENTS, partition: 'iid' });
  const config = join(work, 'federation.json');
  writeFileSync(
    config,
    JSON.stringify({ dataset: 'mnist', model: 'mlp', localSteps: 20, batchSize: 20, ...settings }),
  );
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
    'tok',
  ]);
  const [, url] = await server.waitFor(/listening: (ws:\/\/\S+)/);
  const clients = Array.from({ length: CLIENTS }, (_, k) =>
    startEdgefl(
      [
        'client',
        '--server',
        url,
        '--token',
        'tok',
        '--data',
        join(parts, `client-${k}`),
        '--id',
        `device-${k}`,
      ],
      drills[k] ? { EDGEFL_DRILL_EXIT_AT: drills[k] } : {},
    ),
  );
  return { server, clients, state };
}

test(
  'SecAgg+ over the network: devices that die at each stage of round 2 (before sharing keys, before their masked input, during unmasking) and the round still completes with the right contributors',
  { timeout: 300_000 },
  async () => {
    const { server, clients, state } = await federate(
      { rounds: 2, fraction: 1, minAvailableClients: CLIENTS, secureAggregation: { neighbours: 6 }, seed: 4 },
      { 0: 'share-keys@2', 1: 'masked-input@2', 2: 'unmasking@2' },
    );
    assert.equal(await server.exited, 0, server.output());
    for (const k of [0, 1, 2]) {
      assert.equal(await clients[k].exited, 'SIGKILL', clients[k].output());
      assert.match(clients[k].output(), /drill: dying at round 2/);
    }
    const r = roundRecords(state);
    assert.equal(r.length, 2);
    assert.ok(
      r.every((x) => x.updated),
      JSON.stringify(r.map((x) => x.skippedReason)),
    );
    assert.equal(r[0].aggregated, CLIENTS);
    const second = r[1];
    const lost = second.problems.map((p) => `${p.clientId} ${p.reason}`).sort();
    // Each death is recorded at the stage it happened in.
    assert.match(
      lost.find((l) => l.startsWith('device-0'))!,
      /share-keys/,
    );
    assert.match(
      lost.find((l) => l.startsWith('device-1'))!,
      /masked-input/,
    );
    assert.match(
      lost.find((l) => l.startsWith('device-2'))!,
      /unmasking/,
    );
    // A device that sent its masked input before dying is in the sum (its mask is removed from the
    // survivors' shares); the two that died earlier are not.
    assert.equal(second.aggregated, CLIENTS - 2, JSON.stringify(second));
    // The sum the server unmasked moved the model on (a wrong unmasking would wreck it).
    assert.ok(r[1].accuracy! > r[0].accuracy!, `accuracy ${r[0].accuracy} -> ${r[1].accuracy}`);
  },
);

test(
  'DP-FedAvg over the network: the epsilon the server records each round is the accountant’s for the rounds run, and its terminal shows it',
  { timeout: 300_000 },
  async () => {
    const z = 0.8;
    const { server, state } = await federate({
      rounds: 4,
      fraction: 0.5,
      minAvailableClients: CLIENTS,
      dp: { noiseMultiplier: z, clipNorm: 1 },
      seed: 5,
    });
    assert.equal(await server.exited, 0, server.output());
    const r = roundRecords(state);
    assert.equal(r.length, 4);
    for (const rec of r) {
      const expected = epsilon({
        samplingRate: 0.5,
        noiseMultiplier: z,
        steps: rec.round,
        delta: 1e-5,
      }).epsilon;
      assert.ok(
        Math.abs(rec.epsilon! - expected) < 1e-9,
        `round ${rec.round}: epsilon ${rec.epsilon} vs ${expected}`,
      );
      // Under DP the clients' own training figures are not reported.
      assert.equal(rec.trainLoss, undefined);
    }
    assert.match(server.output(), /ε \d/);
  },
);

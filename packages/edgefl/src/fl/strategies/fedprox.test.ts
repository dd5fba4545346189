import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FedProx } from './fedprox.js';
import { Rng } from '../../util/rng.js';

const clients = Array.from({ length: 10 }, (_, i) => ({ id: `c${i}`, numExamples: 5 }));
const ctx = { round: 1, global: new Float32Array(2), rng: new Rng(3) };

test('FedProx sends proximalMu to every client and keeps the rest of the config', () => {
  const s = new FedProx({ proximalMu: 0.1 });
  const { clients: chosen, config } = s.configureFit(ctx, clients, {
    batchSize: 32,
    lr: 0.05,
    localEpochs: 2,
  });
  assert.deepEqual(config, { batchSize: 32, lr: 0.05, localEpochs: 2, proximalMu: 0.1 });
  assert.deepEqual(chosen, clients);
});

test("FedProx without its own μ uses the base config's, else 0.01", () => {
  const s = new FedProx();
  assert.equal(s.configureFit(ctx, clients, { batchSize: 1, lr: 1, proximalMu: 0.5 }).config.proximalMu, 0.5);
  assert.equal(s.configureFit(ctx, clients, { batchSize: 1, lr: 1 }).config.proximalMu, 0.01);
  const explicit = new FedProx({ proximalMu: 0 });
  assert.equal(
    explicit.configureFit(ctx, clients, { batchSize: 1, lr: 1, proximalMu: 0.5 }).config.proximalMu,
    0,
  );
});

test('FedProx samples fractionFit of the clients, at least minFitClients', () => {
  const s = new FedProx({ fractionFit: 0.3 });
  const { clients: chosen } = s.configureFit(ctx, clients, { batchSize: 1, lr: 1 });
  assert.equal(chosen.length, 3);
  assert.equal(new Set(chosen.map((c) => c.id)).size, 3);
  const atLeast = new FedProx({ fractionFit: 0.1, minFitClients: 4 });
  assert.equal(atLeast.configureFit(ctx, clients, { batchSize: 1, lr: 1 }).clients.length, 4);
  assert.throws(() => new FedProx({ fractionFit: 0 }), /fractionFit/);
  assert.throws(() => new FedProx({ proximalMu: -1 }), /proximalMu/);
});

test('FedProx aggregates as FedAvg', () => {
  const agg = new FedProx().beginRound({ round: 1, global: Float32Array.from([1, 2]), rng: new Rng(1) });
  agg.add({ clientId: 'a', delta: Float32Array.from([1, 0]), numExamples: 1 });
  agg.add({ clientId: 'b', delta: Float32Array.from([0, 3]), numExamples: 3 });
  assert.deepEqual([...agg.finish().global], [1.25, 4.25]);
});

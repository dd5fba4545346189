import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayDataset, classLabels, holdOutPerClient, parsePartition, Rng } from 'edgefl';
import { partitionClients } from './partition-clients.js';

// 200 examples of 3 features, labels 0..4 in a scrambled but fixed order.
const dataset = new ArrayDataset({
  features: Float32Array.from({ length: 600 }, (_, i) => i),
  labels: Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 5),
  featureShape: [3],
});

/** The simulation's own sequence: one stream, a fork for the partition, then one for the hold-out. */
function simulationSplit(spec: string, clients: number, seed: number, testFraction?: number) {
  const rng = new Rng(seed);
  const partitioner = parsePartition(spec);
  const labels = partitioner.needs === 'labels' ? classLabels(dataset) : undefined;
  const allParts = partitioner({ length: dataset.length, labels }, clients, rng.fork());
  const splits =
    testFraction === undefined ? undefined : holdOutPerClient(allParts, testFraction, rng.fork());
  return { allParts, splits, labels };
}

test('partitionClients splits exactly as the simulation does, for every scheme, with and without hold-out', () => {
  for (const spec of ['iid', 'shards:2', 'dirichlet:0.3', 'quantity:1', 'lognormal:0.5']) {
    for (const seed of [0, 11]) {
      const want = simulationSplit(spec, 8, seed);
      const got = partitionClients(dataset, { clients: 8, partition: spec, seed });
      assert.equal(got.spec, parsePartition(spec).spec);
      assert.deepEqual(got.parts, want.allParts, `${spec} seed ${seed}`);
      assert.equal(got.train, got.parts);
      assert.equal(got.test, undefined);
      assert.deepEqual(got.labels, want.labels, `${spec}: labels only when the scheme reads them`);

      const held = simulationSplit(spec, 8, seed, 0.3);
      const split = partitionClients(dataset, { clients: 8, partition: spec, seed, testFraction: 0.3 });
      assert.deepEqual(split.parts, held.allParts, `${spec}: the hold-out does not change the shares`);
      assert.deepEqual(split.train, held.splits!.train, `${spec} seed ${seed} train`);
      assert.deepEqual(split.test, held.splits!.test, `${spec} seed ${seed} test`);
    }
  }
  // The seed matters: another one gives other shares.
  const a = partitionClients(dataset, { clients: 4, partition: 'iid', seed: 1 });
  const b = partitionClients(dataset, { clients: 4, partition: 'iid', seed: 2 });
  assert.notDeepEqual(a.parts, b.parts);
  // shards:2 over 4 clients: 8 shards of 200 / 8 = 25 examples, two to each client.
  const shards = partitionClients(dataset, { clients: 4, partition: 'shards:2', seed: 0 });
  assert.deepEqual(
    shards.parts.map((p) => p.length),
    [50, 50, 50, 50],
  );
});

test('partitionClients refuses a client count, a scheme or a test fraction it cannot honour', () => {
  const refuses = (o: Parameters<typeof partitionClients>[1], message: RegExp) =>
    assert.throws(() => partitionClients(dataset, o), message);
  refuses({ clients: 0, partition: 'iid', seed: 0 }, /clients must be an integer >= 1, got 0/);
  refuses({ clients: 1.5, partition: 'iid', seed: 0 }, /clients must be an integer >= 1, got 1.5/);
  refuses({ clients: 201, partition: 'iid', seed: 0 }, /201 clients but only 200 examples/);
  refuses({ clients: 4, partition: 'shards:two', seed: 0 }, /partition 'shards:two'/);
  refuses({ clients: 4, partition: 'natural', seed: 0 }, /partition natural needs groups/);
  refuses(
    { clients: 4, partition: 'iid', seed: 0, testFraction: 1 },
    /test fraction must be in \(0, 1\), got 1/,
  );
  refuses(
    { clients: 4, partition: 'iid', seed: 0, testFraction: 0 },
    /test fraction must be in \(0, 1\), got 0/,
  );
});

/**
 * `edgefl partition` gives every client, through the folder it writes, exactly the examples the
 * simulation gives it for the same seed, and refuses what it cannot do before writing anything.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArrayDataset,
  classLabels,
  formatSummaryTable,
  holdOutPerClient,
  parsePartition,
  partitionSummary,
  Rng,
} from 'edgefl';
import { loadClientData, partitionClients } from '@edgefl/node';
import { registerPartitionCommand } from './partition.js';
import { loadNamedDataset } from './datasets.js';
import { runCommand } from '../../../test/helpers/cli.js';

// Two partitions of MNIST are about 100 MB: removed when the tests end.
const made: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-partition-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

async function mnistTrain(): Promise<ArrayDataset> {
  const { train } = await loadNamedDataset('mnist');
  assert.ok(train instanceof ArrayDataset);
  return train;
}

/** The samples at `indices`, as the simulation's workers gather them. */
function gathered(ds: ArrayDataset, indices: Uint32Array): { features: Float32Array; labels: Int32Array } {
  const features = new Float32Array(indices.length * 784);
  const labels = new Int32Array(indices.length);
  ds.gather(indices, features, labels);
  return { features, labels };
}

const bytesOf = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Bit for bit, without printing six thousand images when they differ. */
function assertSameData(got: ArrayDataset, want: ReturnType<typeof gathered>, what: string): void {
  assert.equal(got.length, want.labels.length, `${what}: number of examples`);
  assert.ok(got.features instanceof Float32Array, `${what}: float32 features`);
  assert.ok(got.labels instanceof Int32Array, `${what}: int32 labels`);
  assert.ok(bytesOf(got.features).equals(bytesOf(want.features)), `${what}: features bit-identical`);
  assert.ok(bytesOf(got.labels).equals(bytesOf(want.labels)), `${what}: labels identical`);
}

/** One fingerprint per example (pixels and label), sorted: equal lists mean the same multiset. */
function fingerprints(ds: ArrayDataset): string[] {
  const size = 784;
  const out: string[] = [];
  for (let i = 0; i < ds.length; i++)
    out.push(
      createHash('sha1')
        .update(bytesOf(ds.features.subarray(i * size, (i + 1) * size) as Float32Array))
        .update(String(ds.labels[i]))
        .digest('hex'),
    );
  return out.sort();
}

test('partition writes each client the examples the simulation gives it (10 clients, shards:2), each example once', async () => {
  const dir = join(fresh(), 'parts');
  const seed = 7;
  const lines = await runCommand(registerPartitionCommand, [
    'partition',
    ...['--dataset', 'mnist', '--clients', '10', '--partition', 'shards:2'],
    ...['--seed', String(seed), '--out', dir],
  ]);
  const train = await mnistTrain();

  // The simulation's sequence, written out as runSimulation has it.
  const rng = new Rng(seed);
  const partitioner = parsePartition('shards:2');
  const labels = partitioner.needs === 'labels' ? classLabels(train) : undefined;
  const allParts = partitioner({ length: train.length, labels }, 10, rng.fork());
  // ...and the shared function, which must agree with it.
  const shared = partitionClients(train, { clients: 10, partition: 'shards:2', seed });
  assert.deepEqual(shared.parts, allParts);
  assert.equal(shared.train, shared.parts, 'without a test fraction a client trains on its whole share');
  assert.equal(shared.test, undefined);
  assert.deepEqual(shared.labels, labels);

  // The partition itself: every one of the 60,000 examples in exactly one client.
  const times = new Uint8Array(train.length);
  for (const part of allParts) for (const j of part) times[j]++;
  assert.ok(
    times.every((t) => t === 1),
    'every example is held by exactly one client',
  );

  assert.deepEqual(
    readdirSync(dir).sort(),
    [...Array.from({ length: 10 }, (_, k) => `client-${k}`), 'partition.json'].sort(),
  );
  const written: string[] = [];
  for (let k = 0; k < 10; k++) {
    const folder = join(dir, `client-${k}`);
    assert.deepEqual(readdirSync(folder).sort(), ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte']);
    const loaded = await loadClientData(folder);
    assert.equal(loaded.test, undefined);
    assert.deepEqual(loaded.classes, train.classes);
    assert.deepEqual(loaded.train.featureShape, train.featureShape);
    assertSameData(loaded.train, gathered(train, allParts[k]), `client ${k}`);
    written.push(...fingerprints(loaded.train));
  }
  // From the files alone: together the clients hold the dataset, each example once.
  assert.deepEqual(written.sort(), fingerprints(train));

  const manifest = JSON.parse(readFileSync(join(dir, 'partition.json'), 'utf8'));
  assert.equal(manifest.dataset, 'mnist');
  assert.equal(manifest.clients, 10);
  assert.equal(manifest.partition, 'shards:2');
  assert.equal(manifest.seed, seed);
  assert.equal(manifest.testFraction, null);
  assert.equal(manifest.examples, 60000);
  assert.equal(manifest.assigned, 60000);
  const summary = partitionSummary(allParts, labels, 10);
  assert.deepEqual(
    manifest.perClient.map((c: { examples: number }) => c.examples),
    allParts.map((p) => p.length),
  );
  assert.deepEqual(
    manifest.perClient.map((c: { histogram: number[] }) => c.histogram),
    summary.clients.map((c) => [...c.histogram!]),
  );

  const printed = lines.join('\n');
  assert.ok(printed.includes(formatSummaryTable(summary)), 'the simulation’s summary table is printed');
  assert.match(printed, /10 clients hold 60000 of 60000 samples \(0 unassigned, 0 duplicated\)/);
  assert.match(printed, /wrote 10 client folders, .*client-0 … .*client-9, and .*partition\.json/);
});

test('partition --test-fraction writes each client the train and test split of federated evaluation', async () => {
  const dir = join(fresh(), 'parts');
  await runCommand(registerPartitionCommand, [
    'partition',
    ...['--clients', '10', '--partition', 'dirichlet:0.5', '--seed', '3', '--test-fraction', '0.25'],
    ...['--out', dir],
  ]);
  const train = await mnistTrain();
  const rng = new Rng(3);
  const partitioner = parsePartition('dirichlet:0.5');
  const labels = partitioner.needs === 'labels' ? classLabels(train) : undefined;
  const allParts = partitioner({ length: train.length, labels }, 10, rng.fork());
  const splits = holdOutPerClient(allParts, 0.25, rng.fork());
  const shared = partitionClients(train, {
    clients: 10,
    partition: 'dirichlet:0.5',
    seed: 3,
    testFraction: 0.25,
  });
  assert.deepEqual(shared.parts, allParts);
  assert.deepEqual(shared.train, splits.train);
  assert.deepEqual(shared.test, splits.test);

  const manifest = JSON.parse(readFileSync(join(dir, 'partition.json'), 'utf8'));
  assert.equal(manifest.testFraction, 0.25);
  for (let k = 0; k < 10; k++) {
    const loaded = await loadClientData(join(dir, `client-${k}`));
    assertSameData(loaded.train, gathered(train, splits.train[k]), `client ${k} train`);
    assert.ok(loaded.test, `client ${k} has test files`);
    assertSameData(loaded.test, gathered(train, splits.test[k]), `client ${k} test`);
    assert.deepEqual(
      { train: manifest.perClient[k].train, test: manifest.perClient[k].test },
      { train: splits.train[k].length, test: splits.test[k].length },
    );
  }
});

test('partition refuses, naming the problem, before writing or printing anything', async () => {
  const refused = async (args: string[], message: RegExp, out: string) => {
    const lines: string[] = [];
    await assert.rejects(
      runCommand(registerPartitionCommand, ['partition', ...args, '--out', out], lines),
      message,
    );
    assert.deepEqual(lines, [], `nothing printed (${args.join(' ')})`);
  };
  const missing = () => join(fresh(), 'parts');
  const untouched = (out: string) => assert.equal(existsSync(out), false, `${out} was not created`);

  const full = fresh();
  writeFileSync(join(full, 'notes.txt'), 'mine');
  await refused(['--clients', '2'], /--out .*: the folder is not empty; give a new or empty folder/, full);
  assert.deepEqual(readdirSync(full), ['notes.txt']);
  const file = join(fresh(), 'a-file');
  writeFileSync(file, '');
  await refused(['--clients', '2'], /--out .*a-file: is a file/, file);

  for (const [args, message] of [
    [['--clients', '0'], /--clients must be an integer >= 1, got '0'/],
    [['--clients', '2.5'], /--clients must be an integer >= 1, got '2.5'/],
    [['--clients', '60001'], /60001 clients but only 60000 examples: every client needs at least one/],
    [['--partition', 'shards:x'], /--partition: partition 'shards:x': .*must be a number > 0, got 'x'/],
    [['--partition', 'stripes:2'], /--partition: partition 'stripes:2': unknown scheme 'stripes'/],
    [['--test-fraction', '1'], /--test-fraction must be a number in \(0, 1\), got '1'/],
    [['--dataset', 'cifar10'], /--dataset 'cifar10': known datasets are mnist/],
  ] as const) {
    const out = missing();
    await refused([...args], message, out);
    untouched(out);
  }
});

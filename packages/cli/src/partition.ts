/**
 * `edgefl partition`: splits a dataset among clients the way `edgefl simulate` does and writes each
 * client's share to its own folder, so that one client process per device can be given its data
 * (`--data DIR/client-K`) and still train on exactly the examples the simulation with the same seed
 * gives that client.
 *
 *   DIR/client-0 … client-(N-1)   train-images-idx3-ubyte, train-labels-idx1-ubyte (test-* with --test-fraction)
 *   DIR/partition.json            the settings, each client's example counts and label histogram
 *
 * partition.json is written last: a folder without it was not completed.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  classLabels,
  encodeMnist,
  formatSummaryTable,
  parsePartition,
  partitionSummary,
  type Dataset,
} from 'edgefl';
import { partitionClients, writeFileAtomic, type ClientPartition } from '@edgefl/node';
import { DATASETS, loadNamedDataset } from './datasets.js';
import { intOption } from './options.js';

interface PartitionFlags {
  dataset: string;
  clients: number;
  partition: string;
  out: string;
  seed: number;
  testFraction?: number;
}

function datasetName(value: string): string {
  if (!(DATASETS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`--dataset '${value}': known datasets are ${DATASETS.join(', ')}`);
  return value;
}

/** The scheme normalized ('shards:2'); a bad one is refused with parsePartition's reason. */
function partitionSpec(value: string): string {
  try {
    return parsePartition(value).spec;
  } catch (e) {
    throw new InvalidArgumentError(`--partition: ${(e as Error).message}`);
  }
}

function testFraction(value: string): number {
  const x = Number(value);
  if (value.trim() === '' || !(x > 0 && x < 1))
    throw new InvalidArgumentError(`--test-fraction must be a number in (0, 1), got '${value}'`);
  return x;
}

/** Output goes only to a new or empty folder: shares of two partitions must never mix. */
async function checkOutFolder(dir: string): Promise<void> {
  let kind;
  try {
    kind = await stat(dir);
  } catch {
    return;
  }
  if (!kind.isDirectory()) throw new Error(`--out ${dir}: is a file; give a new or empty folder`);
  if ((await readdir(dir)).length > 0)
    throw new Error(`--out ${dir}: the folder is not empty; give a new or empty folder`);
}

export function registerPartitionCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('partition')
    .description(
      "split a dataset among clients as `edgefl simulate` does (same seed, same examples) and write each client's share to its own folder",
    )
    .requiredOption('--out <dir>', 'a new or empty folder for client-0 … client-(N-1) and partition.json')
    .option('--dataset <name>', `dataset: ${DATASETS.join(', ')}`, datasetName, 'mnist')
    .option('--clients <n>', 'number of clients', intOption('--clients', 1), 100)
    .option(
      '--partition <spec>',
      'iid | shards:N | dirichlet:ALPHA | quantity:ALPHA | lognormal:S',
      partitionSpec,
      'shards:2',
    )
    .option('--seed <n>', 'seed of the split (as simulate --seed)', intOption('--seed', 0), 0)
    .option(
      '--test-fraction <f>',
      "share of each client's examples written as its own test files (as simulate --client-test)",
      testFraction,
    )
    .action(async (flags: PartitionFlags) => {
      await checkOutFolder(flags.out);
      const data = await loadNamedDataset(flags.dataset);
      const split = partitionClients(data.train, {
        clients: flags.clients,
        partition: flags.partition,
        seed: flags.seed,
        testFraction: flags.testFraction,
      });
      // Histograms for every scheme, not only those that read labels.
      const labels = split.labels ?? classLabels(data.train);
      out(formatSummaryTable(partitionSummary(split.parts, labels, data.classes.length)));
      if (split.test)
        out(
          `each client holds out ${(100 * flags.testFraction!).toFixed(0)}% of its examples as its test files (${count(split.test)} in all)`,
        );
      await writeClients(flags.out, data.train, split);
      const manifest = join(flags.out, 'partition.json');
      await writeFileAtomic(manifest, toJson(describe(flags, data.classes, split, labels)));
      const last = join(flags.out, `client-${flags.clients - 1}`);
      out(
        `wrote ${flags.clients} client folders, ${join(flags.out, 'client-0')}${flags.clients > 1 ? ` … ${last}` : ''}, and ${manifest}`,
      );
    });
}

const count = (parts: readonly Uint32Array[]) => parts.reduce((n, p) => n + p.length, 0);

async function writeClients(dir: string, train: Dataset, split: ClientPartition): Promise<void> {
  for (const [k, indices] of split.train.entries()) {
    const folder = join(dir, `client-${k}`);
    const sets: [string, Uint32Array][] = [['train', indices]];
    if (split.test) sets.push(['test', split.test[k]]);
    for (const [prefix, which] of sets) {
      const files = encodeMnist(train, which);
      await Promise.all([
        writeFileAtomic(join(folder, `${prefix}-images-idx3-ubyte`), files.images),
        writeFileAtomic(join(folder, `${prefix}-labels-idx1-ubyte`), files.labels),
      ]);
    }
  }
}

/** partition.json: what was split and how, and what each client holds. */
function describe(
  flags: PartitionFlags,
  classes: readonly string[],
  split: ClientPartition,
  labels: Int32Array,
) {
  const histogram = (indices: Uint32Array) => {
    const h = new Array<number>(classes.length).fill(0);
    for (const j of indices) h[labels[j]]++;
    return h;
  };
  return {
    dataset: flags.dataset,
    clients: flags.clients,
    partition: split.spec,
    seed: flags.seed,
    testFraction: flags.testFraction ?? null,
    classes,
    examples: labels.length,
    assigned: count(split.parts),
    perClient: split.parts.map((part, k) => ({
      folder: `client-${k}`,
      examples: part.length,
      train: split.train[k].length,
      ...(split.test ? { test: split.test[k].length } : {}),
      histogram: histogram(part),
    })),
  };
}

/** Indented JSON with each flat list (a histogram, the class names) on one line, to be read by eye. */
function toJson(value: unknown): string {
  const item = String.raw`(?:-?\d+|"[^"\\\n]*")`;
  const flatList = new RegExp(String.raw`\[\s+(${item}(?:,\s+${item})*)\s+\]`, 'g');
  return (
    JSON.stringify(value, null, 2).replace(
      flatList,
      // Split at the line breaks JSON.stringify put between items: a string never holds a raw one.
      (_, items: string) => `[${items.split(/,\n\s*/).join(', ')}]`,
    ) + '\n'
  );
}

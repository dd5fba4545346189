/** Shared steps of the network tests: shares written by `edgefl partition`, and a run's round records. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundRecord } from 'edgefl';
import { runCommand } from './cli.js';
import { registerPartitionCommand } from '../../packages/cli/src/partition.js';

/** Every round record in a run's or a server's metrics.jsonl, in order. */
export function roundRecords(dir: string): RoundRecord[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RoundRecord);
}

/** MNIST split among `clients` devices into `out/client-K` folders, as a user would with the command. */
export async function partitionMnist(
  out: string,
  o: { clients: number; partition: string; seed?: number },
): Promise<void> {
  await runCommand(registerPartitionCommand, [
    'partition',
    '--dataset',
    'mnist',
    '--clients',
    String(o.clients),
    '--partition',
    o.partition,
    ...(o.seed !== undefined ? ['--seed', String(o.seed)] : []),
    '--out',
    out,
  ]);
}

/**
 * A federated run's folder on disk (Node adapters of the run's ports, fl/run.ts):
 *
 *   checkpoint.eflc   the checkpoint, replaced atomically after every round
 *   metrics.jsonl     one JSON line per completed round, appended as the round ends
 *   metrics.csv       the same rounds as a table, appended likewise
 *
 * On start both metrics files are rewritten from the run's history (the checkpoint's), so a line
 * half-written when a previous invocation was killed is repaired rather than kept.
 */
import { appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  type RoundSubscriber,
  type RoundRecord,
} from 'edgefl';
import { readBytes, writeFileAtomic } from './files.js';
import { nodeSha256 } from './sha256.js';

export const CHECKPOINT_FILE = 'checkpoint.eflc';

/** The checkpoint of the run in `dir`. */
export function checkpointFile(dir: string): CheckpointStore & { readonly path: string } {
  const path = join(dir, CHECKPOINT_FILE);
  return {
    path,
    async load(): Promise<Checkpoint | undefined> {
      if (!existsSync(path)) return undefined;
      return decodeCheckpoint(await readBytes(path), path, nodeSha256);
    },
    save: (c) => writeFileAtomic(path, encodeCheckpoint(c, nodeSha256)),
  };
}

/** The columns of metrics.csv: the record's numbers, and the aggregation layers' main figures. */
const CSV_COLUMNS: readonly [string, (r: RoundRecord) => unknown][] = [
  ...(
    [
      'round',
      'accuracy',
      'loss',
      'trainLoss',
      'clientAccuracy',
      'clientLoss',
      'clientsEvaluated',
      'clientEvalFailed',
      'available',
      'selected',
      'aggregated',
      'dropped',
      'late',
      'failed',
      'excluded',
      'updated',
      'bytesUp',
      'bytesDown',
      'seconds',
      'clientSeconds',
      'epsilon',
      'localEpsilon',
    ] as const
  ).map((k): [string, (r: RoundRecord) => unknown] => [k, (r) => r[k]]),
  ['clipNorm', (r) => r.statistics?.dp?.clipNorm],
  ['secaggSurvivors', (r) => r.statistics?.secureAggregation?.survivors],
  ['secaggSeconds', (r) => r.statistics?.secureAggregation?.totalSeconds],
  ['secaggBytesUp', (r) => r.statistics?.secureAggregation?.bytesUp],
];

function csvLine(r: RoundRecord): string {
  return CSV_COLUMNS.map(([, get]) => {
    const v = get(r);
    return v === undefined || v === null ? '' : String(v);
  }).join(',');
}

/** metrics.jsonl and metrics.csv in `dir`, written as the run goes. */
export function metricsFiles(dir: string): RoundSubscriber {
  const jsonl = join(dir, 'metrics.jsonl');
  const csv = join(dir, 'metrics.csv');
  return {
    async start(history) {
      await writeFileAtomic(jsonl, history.map((r) => JSON.stringify(r) + '\n').join(''));
      await writeFileAtomic(
        csv,
        [CSV_COLUMNS.map(([name]) => name).join(','), ...history.map(csvLine)].join('\n') + '\n',
      );
    },
    async round(record) {
      await appendFile(jsonl, JSON.stringify(record) + '\n');
      await appendFile(csv, csvLine(record) + '\n');
    },
  };
}

/**
 * Runs every peer on every model/batch of the training benchmark, one configuration at a time (they
 * would compete for the 2 cores otherwise), and prints a markdown table, then the rows as JSON.
 * edgefl's own numbers come from bench/train.ts; this is the peers alone, e.g. to refresh DESIGN.md.
 *
 *   npx tsx bench/peers/table.ts [--max-seconds S]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import type { PeerModel, PeerResult } from './result.js';
import { runTfjsInChild } from './run-tfjs.js';
import { runTorch } from './torch.js';

export const PEER_CONFIGS: ReadonlyArray<{ model: PeerModel; batch: number }> = [
  { model: 'mlp', batch: 10 },
  { model: 'mlp', batch: 32 },
  { model: 'mlp', batch: 128 },
  { model: 'cnn', batch: 10 },
  { model: 'cnn', batch: 50 },
];

// One CNN step of batch 50 on tfjs's pure-JS backend takes minutes: give it room to finish one.
const SLOW_STEP_TIMEOUT_MS = 600_000;

export async function runAllPeers(
  maxSeconds: number,
  log: (line: string) => void = () => {},
): Promise<PeerResult[]> {
  const rows: PeerResult[] = [];
  const add = (row: PeerResult): void => {
    rows.push(row);
    log(JSON.stringify(row));
  };
  for (const { model, batch } of PEER_CONFIGS) {
    for (const backend of ['cpu', 'wasm'] as const) {
      const timeoutMs = backend === 'cpu' && model === 'cnn' ? SLOW_STEP_TIMEOUT_MS : undefined;
      add(await runTfjsInChild({ backend, model, batch, maxSeconds, timeoutMs }));
    }
    for (const threads of [1, 2]) add(await runTorch({ model, batch, threads }));
  }
  return rows;
}

function formatRate(row: PeerResult | undefined): string {
  if (!row) return '';
  // The reason (a missing kernel, a timeout) is in the JSON rows printed after the table.
  if (row.samplesPerSec === null) return 'n/a';
  const rate =
    row.samplesPerSec >= 100
      ? Math.round(row.samplesPerSec).toLocaleString('en-US')
      : row.samplesPerSec.toPrecision(2);
  return rate;
}

export function markdownTable(rows: readonly PeerResult[]): string {
  const columns = [...new Set(rows.map((r) => `${r.peer} ${r.backend ?? ''} ${r.version}`.trim()))];
  const lines = [
    `| model | batch | ${columns.join(' | ')} |`,
    `|---|---|${columns.map(() => '---').join('|')}|`,
  ];
  for (const { model, batch } of PEER_CONFIGS) {
    const cells = columns.map((column) =>
      formatRate(
        rows.find(
          (r) =>
            r.model === model &&
            r.batch === batch &&
            `${r.peer} ${r.backend ?? ''} ${r.version}`.trim() === column,
        ),
      ),
    );
    lines.push(`| ${model} | ${batch} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'max-seconds': { type: 'string', default: '10' } } });
  const maxSeconds = Number(values['max-seconds']);
  if (!Number.isFinite(maxSeconds) || maxSeconds <= 0)
    throw new Error('--max-seconds must be a positive number');
  const rows = await runAllPeers(maxSeconds, (line) => process.stderr.write(line + '\n'));
  process.stdout.write(`samples/s (training, SGD)\n\n${markdownTable(rows)}\n\n${JSON.stringify(rows)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

/**
 * Robustness to Byzantine clients: 20% of the clients send sign-flipped or 10x-scaled updates;
 * FedAvg is compared with the robust strategies (FedMedian, FedTrimmedAvg, Krum) and with a clean
 * FedAvg run, on federated MNIST with the 2NN.
 *
 *   npm run bench:robustness [-- --rounds N]
 *
 * Writes the "Robustness" section of BENCHMARKS.md and bench/results/robustness.json.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNamedDataset } from '@edgefl/cli/internal/datasets';
import { builtInModel, ArrayDataset } from 'edgefl';
import { runSimulation, type SimulationConfig } from '@edgefl/node';
import { machineLine, updateBenchmarksSection, writeResultJson, helpOnRequest } from './report.js';

helpOnRequest(import.meta.url);

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const data = await loadNamedDataset('mnist');
if (!(data.train instanceof ArrayDataset)) throw new Error('expected an in-memory dataset');
const spec = builtInModel('mlp', { inputShape: data.train.featureShape, classes: 10, seed: 1 });
const base: SimulationConfig = {
  rounds: Number(args.rounds),
  clients: 100,
  fraction: 0.1,
  partition: 'iid',
  localEpochs: 1,
  batchSize: 10,
  lr: 0.05,
  strategy: 'fedavg',
  seed: 1,
};
const strategies: [string, Record<string, number>][] = [
  ['fedavg', {}],
  ['fedmedian', {}],
  ['fedtrimmedavg', { beta: 0.2 }],
  ['krum', { f: 2 }],
];
const runs: { label: string; config: SimulationConfig }[] = [{ label: 'fedavg, no attack', config: base }];
const attacks = [
  { label: 'sign-flipped', byzantine: { fraction: 0.2, attack: 'signflip' as const } },
  { label: '×10-scaled', byzantine: { fraction: 0.2, attack: 'scale' as const } },
  // Both at once: the update reversed and enlarged, which outweighs the honest majority's sum.
  {
    label: '×(−10): flipped and scaled',
    byzantine: { fraction: 0.2, attack: 'scale' as const, factor: -10 },
  },
];
for (const attack of attacks)
  for (const [name, options] of strategies)
    runs.push({
      label: `${name}, 20% ${attack.label}`,
      config: {
        ...base,
        strategy: name,
        strategyOptions: options,
        failures: { byzantine: attack.byzantine },
      },
    });

const rows: { label: string; accuracy: number; best: number; seconds: number }[] = [];
for (const r of runs) {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-robust-'));
  process.stderr.write(`${r.label} ...\n`);
  const res = await runSimulation(
    r.config,
    { name: 'mnist', spec, train: data.train, test: data.test },
    dir,
    { log: () => {} },
  );
  const accs = res.rounds.map((x) => x.evaluation?.accuracy ?? NaN);
  rows.push({
    label: r.label,
    accuracy: res.finalAccuracy ?? NaN,
    best: Math.max(...accs.filter(Number.isFinite)),
    seconds: res.seconds,
  });
  process.stderr.write(`  final ${(100 * (res.finalAccuracy ?? NaN)).toFixed(2)}%\n`);
}
const body = `Command: \`npm run bench:robustness\` — ${new Date().toISOString().slice(0, 10)}, ${machineLine()}.

Federated MNIST, 2NN, 100 clients with IID data, 10 per round, E = 1, B = 10, lr 0.05, ${base.rounds} rounds. 20% of the clients
(the same ones every round, chosen by the seed) are Byzantine: they train honestly, then send their update sign-flipped or
multiplied by 10, or both (multiplied by −10). Sign flipping alone only shrinks FedAvg's step (8 honest minus 2 flipped
updates still point the right way) and ×10 only enlarges it; reversed and enlarged, the 2 attackers outweigh the 8. Krum assumes f = 2 Byzantine clients per round; the trimmed mean drops 20% at each end.

| strategy, attack | final test accuracy | best round | wall time |
|---|---|---|---|
${rows.map((r) => `| ${r.label} | **${(100 * r.accuracy).toFixed(2)}%** | ${(100 * r.best).toFixed(2)}% | ${r.seconds.toFixed(0)} s |`).join('\n')}`;
writeResultJson('robustness', { machine: machineLine(), rows });
updateBenchmarksSection('robustness', 'Robustness to Byzantine clients (bench:robustness)', body);
process.stdout.write(body + '\n');

/**
 * Centralized MNIST accuracy of the FedAvg paper's models, trained with the `edgefl train` code path:
 * the 2NN (784-200-200-10) must reach >= 97.5% test accuracy and the CNN >= 99.0%.
 *
 *   npm run bench:accuracy [-- --only mlp|cnn]
 *
 * Writes the "Centralized MNIST accuracy" section of BENCHMARKS.md (command, settings, accuracy per
 * epoch, wall time) and bench/results/accuracy.json.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTrain, type TrainCommandOptions } from '@edgefl/cli/internal/train';
import { machineLine, updateBenchmarksSection, writeResultJson, helpOnRequest } from './report.js';

helpOnRequest(import.meta.url);

const { values: args } = parseArgs({
  options: { only: { type: 'string' }, threads: { type: 'string', default: '1' } },
});
const threads = Number(args.threads);

const RUNS: { name: string; target: number; options: Omit<TrainCommandOptions, 'out'> }[] = [
  {
    name: 'mlp',
    target: 0.975,
    options: {
      dataset: 'mnist',
      model: 'mlp',
      epochs: 10,
      batchSize: 32,
      optimizer: 'sgd',
      lr: 0.05,
      momentum: 0.9,
      lrDecay: 0.8,
      seed: 1,
      threads,
    },
  },
  {
    name: 'cnn',
    target: 0.99,
    options: {
      dataset: 'mnist',
      model: 'cnn',
      epochs: 6,
      batchSize: 32,
      optimizer: 'sgd',
      lr: 0.03,
      momentum: 0.9,
      lrDecay: 0.7,
      seed: 1,
      threads,
    },
  },
];

const rows: {
  name: string;
  command: string;
  testAccuracy: number;
  target: number;
  epochs: string;
  wallSeconds: number;
}[] = [];
for (const r of RUNS) {
  if (args.only && args.only !== r.name) continue;
  const out = mkdtempSync(join(tmpdir(), `edgefl-accuracy-${r.name}-`));
  const o = r.options;
  const command = `npx edgefl train --dataset mnist --model ${o.model} --epochs ${o.epochs} --batch-size ${o.batchSize} --lr ${o.lr} --lr-decay ${o.lrDecay} --seed ${o.seed}${threads !== 1 ? ` --threads ${threads}` : ''}`;
  const lines: string[] = [];
  const started = performance.now();
  const result = await runTrain({ ...o, out }, (line) => {
    lines.push(line);
    process.stdout.write(line + '\n');
  });
  rows.push({
    name: r.name,
    command,
    testAccuracy: result.testAccuracy ?? NaN,
    target: r.target,
    epochs: lines
      .filter((l) => l.startsWith('epoch '))
      .map((l) => l.replace(/ \| \d+ samples\/s.*$/, ''))
      .join('\n'),
    wallSeconds: (performance.now() - started) / 1000,
  });
}

const body = `Recorded by \`npm run bench:accuracy\` — ${new Date().toISOString().slice(0, 10)}, ${machineLine()}. Each row is one \`edgefl train\` run (SGD with momentum 0.9, the learning rate multiplied by the decay after every epoch), evaluated on the 10,000 MNIST test images.

| model | command | test accuracy | target | wall time |
|---|---|---|---|---|
${rows.map((r) => `| ${r.name} | \`${r.command}\` | **${(100 * r.testAccuracy).toFixed(2)}%** | ≥ ${(100 * r.target).toFixed(1)}% ${r.testAccuracy >= r.target ? '✓' : '✗'} | ${(r.wallSeconds / 60).toFixed(1)} min |`).join('\n')}

${rows.map((r) => `Per epoch, ${r.name}:\n\n\`\`\`\n${r.epochs}\n\`\`\``).join('\n\n')}`;
writeResultJson('accuracy', { machine: machineLine(), rows });
if (!args.only) updateBenchmarksSection('accuracy', 'Centralized MNIST accuracy (bench:accuracy)', body);
process.stdout.write('\n' + body + '\n');

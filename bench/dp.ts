/**
 * What differential privacy costs in accuracy: federated MNIST (2NN) without DP, with client-level
 * DP-FedAvg at two noise levels (adaptive clipping, central noise, 1,000 clients, ~100 a round), and
 * with example-level DP-SGD on every client (100 clients), each with the (ε, δ) it ends with.
 *
 *   npm run bench:dp [-- --rounds N]
 *
 * Writes the "Differential privacy (bench:dp)" section of BENCHMARKS.md, bench/results/dp.json and
 * the curves docs/img/dp-mnist.{svg,png}.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNamedDataset } from '@edgefl/cli/internal/datasets';
import { builtInModel, ArrayDataset } from 'edgefl';
import { runSimulation, type SimulationConfig } from '@edgefl/node';
import { writeCurves, type CurvePoint } from '@edgefl/cli/internal/report/curves';
import { machineLine, updateBenchmarksSection, writeResultJson, helpOnRequest } from './report.js';

helpOnRequest(import.meta.url);

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '100' } } });
const rounds = Number(args.rounds);
const data = await loadNamedDataset('mnist');
if (!(data.train instanceof ArrayDataset)) throw new Error('expected an in-memory dataset');
const spec = builtInModel('mlp', { inputShape: data.train.featureShape, classes: 10, seed: 1 });
const population: SimulationConfig = {
  rounds,
  clients: 1000,
  fraction: 0.1,
  partition: 'iid',
  localEpochs: 1,
  batchSize: 10,
  lr: 0.1,
  strategy: 'fedavg',
  seed: 1,
};
const dpFedAvg = (z: number, noise: 'central' | 'distributed' = 'central'): SimulationConfig => ({
  ...population,
  dp: { noiseMultiplier: z, clipNorm: 0.5, targetQuantile: 0.5, delta: 1e-5, noise },
  ...(noise === 'distributed' ? { secureAggregation: {} } : {}),
});
const small: SimulationConfig = {
  ...population,
  clients: 100,
  batchSize: 60,
  lr: 0.2,
  rounds: Math.ceil(rounds / 2),
};
const runs: { label: string; unit: string; config: SimulationConfig }[] = [
  { label: '1,000 clients, no DP', unit: '—', config: population },
  { label: '1,000 clients, DP-FedAvg z = 1.0', unit: 'client', config: dpFedAvg(1.0) },
  { label: '1,000 clients, DP-FedAvg z = 2.0', unit: 'client', config: dpFedAvg(2.0) },
  {
    label: '1,000 clients, DP-FedAvg z = 1.0, distributed noise, SecAgg+',
    unit: 'client',
    config: dpFedAvg(1.0, 'distributed'),
  },
  { label: '100 clients, no DP', unit: '—', config: small },
  {
    label: '100 clients, local DP-SGD z = 1.0, C = 1',
    unit: 'example',
    config: { ...small, localDp: { noiseMultiplier: 1.0, clipNorm: 1, delta: 1e-5 } },
  },
];

const rows: {
  label: string;
  unit: string;
  rounds: number;
  accuracy: number;
  best: number;
  epsilon?: number;
  seconds: number;
}[] = [];
const points: CurvePoint[] = [];
const loadBefore = loadavg()[0];
for (const r of runs) {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-dp-'));
  process.stderr.write(`${r.label} ...\n`);
  const res = await runSimulation(
    r.config,
    { name: 'mnist', spec, train: data.train, test: data.test },
    dir,
    {
      log: (l) => {
        if (l.startsWith('round')) process.stderr.write(`\r  ${l}`);
      },
    },
  );
  process.stderr.write('\n');
  const accs = res.rounds.map((x) => x.evaluation?.accuracy ?? NaN);
  res.rounds.forEach((x) =>
    points.push({ round: x.round, series: r.label, value: x.evaluation?.accuracy ?? NaN }),
  );
  const last = res.rounds[res.rounds.length - 1];
  rows.push({
    label: r.label,
    unit: r.unit,
    rounds: res.rounds.length,
    accuracy: res.finalAccuracy ?? NaN,
    best: Math.max(...accs.filter(Number.isFinite)),
    epsilon: last.privacy?.epsilon ?? res.localEpsilon,
    seconds: res.seconds,
  });
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
mkdirSync(join(ROOT, 'docs/img'), { recursive: true });
await writeCurves(join(ROOT, 'docs/img/dp-mnist'), points, {
  title: 'Federated MNIST (2NN) with and without differential privacy',
  yTitle: 'test accuracy',
});
const loadAfter = loadavg()[0];
const body = `Command: \`npm run bench:dp\` — ${new Date().toISOString().slice(0, 10)}, ${machineLine()}; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (wall times include evaluating the test set after every round, and whatever else ran on the 2 cores).

Federated MNIST, the 2NN (199,210 parameters), IID data, FedAvg, E = 1. **DP-FedAvg** (client level, McMahan et al. 2018):
1,000 clients of 60 examples, each joining a round with probability q = 0.1 (Poisson), B = 10, lr 0.1; every update clipped
to C, where C starts at 0.5 and tracks the median update norm (adaptive clipping, Andrew et al. 2021), Gaussian noise
N(0, (zC)²) on the sum (central noise), divided by the expected 100 clients. ε is what the RDP accountant reports at
δ = 10⁻⁵ after the last round: it bounds what the released models reveal about any one client's participation. With
**distributed noise under SecAgg+** the server never sees one client's update: each client clips its own update, adds its
share of the noise, and reports its noisy "fitted under C" bit for adaptive clipping through the same secure sum. The shares
are sized so that 81 clients (two standard deviations below the expected 100) already carry the full noise, so a typical
round of ~100 carries √(100/81) ≈ 1.11× the central noise, for the same ε. **Local
DP-SGD** (example level): 100 clients of 600 examples, each client training with DP-SGD (per-example clipping to C = 1,
noise multiplier z, Poisson batches of 60 on average, lr 0.2); ε bounds any one training example, for the worst client as if
it took part in every round. The noise is seeded (an experiment); a deployment draws it from the cryptographic generator.

| run | protected unit | rounds | final test accuracy | best | ε (δ = 10⁻⁵) | wall time |
|---|---|---|---|---|---|---|
${rows
  .map(
    (r) =>
      `| ${r.label} | ${r.unit} | ${r.rounds} | **${(100 * r.accuracy).toFixed(2)}%** | ${(100 * r.best).toFixed(2)}% | ${r.epsilon === undefined ? '∞ (no DP)' : r.epsilon.toFixed(2)} | ${r.seconds.toFixed(0)} s |`,
  )
  .join('\n')}

![Test accuracy by round, with and without DP](docs/img/dp-mnist.svg)`;
writeResultJson('dp', {
  machine: machineLine(),
  loadAverage: { before: loadBefore, after: loadAfter },
  rows,
});
updateBenchmarksSection('dp', 'Differential privacy (bench:dp)', body);
process.stdout.write(body + '\n');

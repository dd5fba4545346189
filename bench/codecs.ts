/**
 * Update codecs in a federated run: the FedAvg paper's non-IID MNIST setting (2NN, 100 clients
 * holding two label shards each, C = 0.1, E = 1, B = 10, lr 0.05, seed 1) once per codec — float32
 * (the baseline), float16, qsgd8, top-k at 10% and 1% with error feedback — recording the bytes the
 * clients upload, the compression against float32, and the test accuracy reached.
 *
 *   npm run bench:codecs [-- --rounds N --codecs float32,topk:0.01]
 *
 * Writes the "Update codecs" section of BENCHMARKS.md and bench/results/codecs.json.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNamedDataset } from '@edgefl/cli/internal/datasets';
import { builtInModel, initialParameters, ArrayDataset } from 'edgefl';
import { runSimulation, type SimulationConfig } from '@edgefl/node';
import { machineLine, updateBenchmarksSection, writeResultJson, helpOnRequest } from './report.js';

helpOnRequest(import.meta.url);

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '50' },
    codecs: { type: 'string', default: 'float32,float16,qsgd8,topk:0.1,topk:0.01' },
  },
});
const codecs = args.codecs.split(',').map((c) => c.trim());
if (codecs[0] !== 'float32') throw new Error('--codecs must start with float32, the baseline of the ratios');
const data = await loadNamedDataset('mnist');
if (!(data.train instanceof ArrayDataset)) throw new Error('expected an in-memory dataset');
const spec = builtInModel('mlp', { inputShape: data.train.featureShape, classes: 10, seed: 1 });
const parameters = initialParameters(spec).values.length;
const base: SimulationConfig = {
  rounds: Number(args.rounds),
  clients: 100,
  fraction: 0.1,
  partition: 'shards:2',
  localEpochs: 1,
  batchSize: 10,
  lr: 0.05,
  strategy: 'fedavg',
  seed: 1,
};

interface Row {
  codec: string;
  bytesUpPerRound: number;
  bytesUpPerClient: number;
  bytesUpTotal: number;
  ratio: number;
  finalAccuracy: number;
  bestAccuracy: number;
  bestRound: number;
  seconds: number;
}
const rows: Row[] = [];
for (const codec of codecs) {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-codecs-'));
  process.stderr.write(`${codec} ...\n`);
  const res = await runSimulation(
    { ...base, codec },
    { name: 'mnist', spec, train: data.train, test: data.test },
    dir,
    { log: () => {} },
  );
  rmSync(dir, { recursive: true, force: true });
  const up = res.rounds.reduce((s, r) => s + r.bytesUp, 0);
  const updates = res.rounds.reduce((s, r) => s + r.aggregated, 0);
  const accs = res.rounds.map((r) => r.evaluation?.accuracy ?? NaN);
  const best = accs.reduce((b, a, i) => (a > accs[b] ? i : b), 0);
  rows.push({
    codec,
    bytesUpPerRound: up / res.rounds.length,
    bytesUpPerClient: up / updates,
    bytesUpTotal: up,
    ratio: rows.length === 0 ? 1 : rows[0].bytesUpTotal / up,
    finalAccuracy: res.finalAccuracy ?? NaN,
    bestAccuracy: accs[best],
    bestRound: res.rounds[best].round,
    seconds: res.seconds,
  });
  process.stderr.write(
    `  ${(up / 2 ** 20).toFixed(1)} MiB up, final ${(100 * (res.finalAccuracy ?? NaN)).toFixed(2)}%, ${res.seconds.toFixed(0)} s\n`,
  );
}

const mib = (b: number) => (b / 2 ** 20).toFixed(2);
const kib = (b: number) => (b / 2 ** 10).toFixed(1);
const pct = (x: number) => (100 * x).toFixed(2) + '%';
const body = `Command: \`npm run bench:codecs\` — ${new Date().toISOString().slice(0, 10)}, ${machineLine()}.

Federated MNIST as in the FedAvg paper's pathological non-IID setting: the 2NN (${parameters.toLocaleString('en')} parameters),
100 clients holding two label shards each, 10 per round, E = 1, B = 10, lr 0.05, ${base.rounds} rounds, seed 1, FedAvg. Each
client encodes its delta in its worker after local training; the server decodes it and aggregates as usual. Bytes up are the
encoded sizes of the updates the server received (8-byte header included); the global model goes down as float32
(${kib(4 * parameters)} KiB per client) in every run. The compression ratio is float32's total upload over the codec's. Top-k keeps
each client's error-feedback residual between rounds (${kib(4 * parameters)} KiB per client that has taken part, up to
${mib(100 * 4 * parameters)} MiB for the 100 clients here). Same seed everywhere: the runs differ only in the codec (and qsgd8's
seeded rounding). Wall time includes evaluating the test set after every round; it was measured while another long benchmark
ran on the same 2 cores, so read it as an upper bound.

| codec | bytes up per client update | bytes up per round | total up | compression vs float32 | final test accuracy | best (round) | wall time |
|---|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.codec} | ${kib(r.bytesUpPerClient)} KiB | ${kib(r.bytesUpPerRound)} KiB | ${mib(r.bytesUpTotal)} MiB | ${r.ratio.toFixed(1)}× | **${pct(r.finalAccuracy)}** | ${pct(r.bestAccuracy)} (${r.bestRound}) | ${r.seconds.toFixed(0)} s |`).join('\n')}`;
writeResultJson('codecs', { machine: machineLine(), config: base, parameters, rows });
updateBenchmarksSection('codecs', 'Update codecs (bench:codecs)', body);
process.stdout.write(body + '\n');

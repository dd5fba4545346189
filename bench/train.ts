/**
 * Training throughput, side by side: edgefl (the real Trainer.fit path on onnxruntime-node) against
 * @tensorflow/tfjs (cpu and wasm backends) and PyTorch (Debian's python3-torch, at its best thread
 * setting), on the FedAvg paper's MNIST models; plus the CNN's resident memory over epochs.
 *
 *   npm run bench:train [-- --quick] [-- --no-peers] [-- --passes N] [-- --windows N]
 *
 * Writes bench/results/train.json and the "Training throughput" section of BENCHMARKS.md.
 */
import { parseArgs } from 'node:util';
import { ArrayDataset, sgd, builtInModel, Trainer, Rng } from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { runTfjsInChild } from './peers/run-tfjs.js';
import { runTorch, torchMissing } from './peers/torch.js';
import { PEER_LEARNING_RATE, type PeerModel, type PeerResult } from './peers/result.js';
import { machineLine, mean, median, updateBenchmarksSection, writeResultJson } from './report.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-peers': { type: 'boolean', default: false },
    windows: { type: 'string' },
    passes: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`npm run bench:train [-- options]

  --quick       3 windows and 1 pass per setting (default 5 and 2); tfjs-cpu skips the CNN
  --no-peers    edgefl only: no PyTorch, no tfjs
  --windows N   timed windows of about a second per setting and pass
  --passes N    rounds in which edgefl and the peers take turns

Writes bench/results/train.json and the "Training throughput" section of BENCHMARKS.md.
`);
  process.exit(0);
}
// The table exists to compare with PyTorch: without it, stop before timing anything rather than
// overwrite the recorded comparison with "n/a".
const missing = args['no-peers'] ? undefined : torchMissing();
if (missing) {
  process.stderr.write(
    `bench:train: PyTorch, the peer this benchmark compares with, cannot run (${missing}): run scripts/install-peers.sh, or pass --no-peers to time edgefl alone\n`,
  );
  process.exit(1);
}
const CONFIGS: { model: PeerModel; batch: number }[] = [
  { model: 'mlp', batch: 10 },
  { model: 'mlp', batch: 32 },
  { model: 'mlp', batch: 128 },
  { model: 'cnn', batch: 10 },
  { model: 'cnn', batch: 50 },
];
const WINDOWS = Number(args.windows ?? (args.quick ? 3 : 5));
const PASSES = Number(args.passes ?? (args.quick ? 1 : 2));
const log = (s: string) => process.stderr.write(s + '\n');

function randomMnistLike(n: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  return new ArrayDataset({
    features: Float32Array.from({ length: n * 784 }, () => rng.uniform()),
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    featureShape: [1, 28, 28],
  });
}

interface Ours {
  threads: number;
  spinning: boolean;
  median: number;
  mean: number;
  windows: number[];
}

/** Samples/s of Trainer.fit over several timed windows of about a second each, after a warm-up. */
async function measureOurs(
  model: PeerModel,
  batch: number,
  threads: number,
  spinning = false,
): Promise<Ours> {
  const spec = builtInModel(model, { inputShape: [1, 28, 28], classes: 10, seed: 1 });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: PEER_LEARNING_RATE }),
    runtime: nodeRuntime({ intraOpNumThreads: threads, spinning }),
  });
  const data = randomMnistLike(Math.max(batch * 20, 1000), 7);
  const warm = await trainer.fit(data, { batchSize: batch, steps: model === 'cnn' ? 5 : 50, seed: 1 });
  const stepsPerWindow = Math.max(3, Math.round(warm.steps / warm.seconds)); // ~1 s
  const windows: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const r = await trainer.fit(data, { batchSize: batch, steps: stepsPerWindow, seed: w });
    windows.push(r.samples / r.seconds);
    process.stderr.write(
      `\r  edgefl ${model} batch ${batch} threads ${threads}${spinning ? ' (spinning)' : ''}: window ${w + 1}/${WINDOWS} ${Math.round(windows[w])} samples/s   `,
    );
  }
  process.stderr.write('\n');
  await trainer.dispose();
  return { threads, spinning, median: median(windows), mean: mean(windows), windows };
}

/** Resident memory while training the CNN at batch 50 for several epochs. */
async function measureMemory(
  epochs: number,
  threads: number,
): Promise<{ rssAfterEpochMB: number[]; peakRssMB: number }> {
  const spec = builtInModel('cnn', { inputShape: [1, 28, 28], classes: 10, seed: 1 });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.01, momentum: 0.9 }),
    runtime: nodeRuntime({ intraOpNumThreads: threads }),
  });
  const data = randomMnistLike(1000, 3);
  const rss: number[] = [];
  for (let e = 0; e < epochs; e++) {
    await trainer.fit(data, { batchSize: 50, epochs: 1, seed: e });
    rss.push(process.memoryUsage().rss / 2 ** 20);
    process.stderr.write(`\r  memory: epoch ${e + 1}/${epochs} rss ${rss[e].toFixed(0)} MB   `);
  }
  process.stderr.write('\n');
  await trainer.dispose();
  return { rssAfterEpochMB: rss, peakRssMB: process.resourceUsage().maxRSS / 1024 };
}

/** One setting's windows from every pass, as if measured in one go. */
function combineOurs(passes: Ours[]): Ours {
  const windows = passes.flatMap((p) => p.windows);
  return { ...passes[0], median: median(windows), mean: mean(windows), windows };
}

/** A peer's passes as one result: the median rate, every pass in the note. */
function combinePeer(passes: PeerResult[]): PeerResult {
  const rates = passes.map((p) => p.samplesPerSec);
  if (rates.some((r) => r === null)) return passes.find((p) => p.samplesPerSec === null)!;
  const rate = median(rates as number[]);
  return {
    ...passes[0],
    samplesPerSec: rate,
    msPerStep: (1000 * passes[0].batch) / rate,
    note: `median ${((1000 * passes[0].batch) / rate).toFixed(3)} ms/step over ${passes.length} pass(es): ${(rates as number[]).map((r) => Math.round(r)).join(', ')} samples/s`,
  };
}

/** The faster of a peer's settings (PyTorch at 1 and 2 threads), the others in the note. */
function bestPeer(settings: PeerResult[]): PeerResult {
  const measured = settings.filter((r) => r.samplesPerSec !== null);
  if (measured.length === 0) return settings[0];
  const best = measured.reduce((a, b) => (b.samplesPerSec! > a.samplesPerSec! ? b : a));
  const others = settings
    .filter((r) => r !== best)
    .map((r) => `${r.backend}: ${r.samplesPerSec === null ? 'n/a' : Math.round(r.samplesPerSec)} samples/s`);
  return { ...best, note: [best.note, ...others].filter(Boolean).join('; ') };
}

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined ? 'n/a' : x < 10 ? x.toPrecision(2) : Math.round(x).toLocaleString('en');
const ratio = (a: number, b: number | null | undefined) => (b ? `${(a / b).toFixed(2)}×` : 'n/a');

async function main() {
  log(`bench:train on ${machineLine()}`);
  const rows: {
    model: PeerModel;
    batch: number;
    ours: Ours[];
    best: Ours;
    torch?: PeerResult;
    tfjsWasm?: PeerResult;
    tfjsCpu?: PeerResult;
  }[] = [];
  // Ours and the peers that run in seconds take turns, configuration by configuration and in
  // PASSES rounds, so that a change in the machine's load between them does not pass for a speed
  // difference; each figure is the median over all its passes.
  for (const c of CONFIGS) {
    const ourPasses: Ours[][] = [[], [], []];
    const torchPasses: PeerResult[][] = [[], []];
    const wasmPasses: PeerResult[] = [];
    for (let p = 0; p < PASSES; p++) {
      log(`  ${c.model} batch ${c.batch}, pass ${p + 1}/${PASSES}`);
      ourPasses[0].push(await measureOurs(c.model, c.batch, 1));
      ourPasses[1].push(await measureOurs(c.model, c.batch, 2));
      ourPasses[2].push(await measureOurs(c.model, c.batch, 2, true));
      if (args['no-peers']) continue;
      for (const [i, threads] of [1, 2].entries())
        torchPasses[i].push(await runTorch({ model: c.model, batch: c.batch, threads }));
      wasmPasses.push(
        await runTfjsInChild({ backend: 'wasm', model: c.model, batch: c.batch, maxSeconds: 10 }),
      );
    }
    const ours = ourPasses.map(combineOurs);
    const best = ours.reduce((a, b) => (b.median > a.median ? b : a));
    rows.push({
      ...c,
      ours,
      best,
      ...(!args['no-peers'] && {
        torch: bestPeer(torchPasses.map(combinePeer)),
        tfjsWasm: combinePeer(wasmPasses),
      }),
    });
  }
  // Memory first among the slow peers' runs: this process has trained everything by now, which is
  // the harshest case for the "does not grow" check.
  const memory = await measureMemory(args.quick ? 3 : 6, 1);
  if (!args['no-peers']) {
    for (const r of rows) {
      log(`  tfjs-cpu ${r.model} batch ${r.batch} ...`);
      const slow = r.model === 'cnn';
      if (!(slow && args.quick))
        r.tfjsCpu = await runTfjsInChild({
          backend: 'cpu',
          model: r.model,
          batch: r.batch,
          maxSeconds: 10,
          steps: slow ? 1 : undefined,
          timeoutMs: slow ? 600_000 : undefined,
        });
    }
  }

  const table = [
    '| model | batch | edgefl median, best setting (1 thread / 2 threads / 2 spinning) | edgefl mean | PyTorch (best threads) | tfjs-wasm | tfjs-cpu | edgefl ÷ PyTorch | edgefl ÷ tfjs-wasm |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.batch} | **${fmt(r.best.median)}** (${fmt(r.ours[0].median)} / ${fmt(r.ours[1].median)} / ${fmt(r.ours[2].median)}) | ${fmt(r.best.mean)} | ${fmt(r.torch?.samplesPerSec)}${r.torch?.backend ? ` (${r.torch.backend})` : ''} | ${fmt(r.tfjsWasm?.samplesPerSec)} | ${fmt(r.tfjsCpu?.samplesPerSec)} | ${ratio(r.best.median, r.torch?.samplesPerSec)} | ${ratio(r.best.median, r.tfjsWasm?.samplesPerSec)} |`,
    ),
  ].join('\n');
  const notes = rows
    .flatMap((r) =>
      [r.torch, r.tfjsWasm, r.tfjsCpu]
        .filter((p): p is PeerResult => !!p?.note)
        .map((p) => `- ${p.peer} ${p.backend ?? ''} ${r.model} batch ${r.batch}: ${p.note}`),
    )
    .join('\n');
  const growth = memory.rssAfterEpochMB[memory.rssAfterEpochMB.length - 1] - memory.rssAfterEpochMB[1];
  const mlp128 = rows.find((r) => r.model === 'mlp' && r.batch === 128)!;
  const body = `Command: \`npm run bench:train${args.quick ? ' -- --quick' : ''}\` — ${new Date().toISOString().slice(0, 10)}, ${machineLine()}.

Training samples/s (higher is better): SGD lr ${PEER_LEARNING_RATE}, softmax cross-entropy, random MNIST-shaped inputs. edgefl runs the
real \`Trainer.fit\` path (batching, ONNX Runtime session, fused optimizer update) over ${WINDOWS} windows of about one second
per pass; the median over all windows is the headline, the mean shows the tail. edgefl runs with 1 intra-op thread, 2 threads,
and 2 threads that spin while waiting (ONNX Runtime's own default; faster on an idle machine, harmful on a busy one); the best is
in bold. PyTorch runs at 1 and 2 threads and the faster is kept; its figure is the median step too. For each row, edgefl,
PyTorch and tfjs-wasm take turns in ${PASSES} pass(es), so that a change of load on the shared machine lands on all of them;
tfjs-cpu, minutes a step for the CNN, runs once at the end.

${table}

${notes ? `Peer notes:\n${notes}\n` : ''}
Targets: ≥ PyTorch at every batch size; ≥ 20× tfjs-wasm; MLP batch 128 ≥ 100,000 samples/s (measured: ${fmt(mlp128.best.median)}).

Memory, CNN at batch 50 (the whole benchmark process, after every model above was trained in it): resident set after each
epoch of 1,000 samples ${memory.rssAfterEpochMB.map((m) => m.toFixed(0)).join(', ')} MB; peak ${memory.peakRssMB.toFixed(0)} MB (target < 600 MB);
growth from epoch 2 to the last ${growth.toFixed(1)} MB.`;
  const json = writeResultJson('train', {
    machine: machineLine(),
    date: new Date().toISOString(),
    rows,
    memory,
  });
  updateBenchmarksSection('train', 'Training throughput (bench:train)', body);
  process.stdout.write(body + `\n\n(results also in ${json})\n`);
}

await main();

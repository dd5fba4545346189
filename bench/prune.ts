/**
 * Pruning on the MNIST CNN and MLP: test accuracy at 50/80/90% unstructured sparsity, at once and
 * with gradual fine-tuning (what fine-tuning buys), latency of the sparse models against the dense
 * one (ONNX Runtime's CPU kernels multiply the zeros: expect no gain), and structured pruning — 25,
 * 50 and 75% of every hidden layer's units or channels removed — with its real latency gain and
 * accuracy before and after fine-tuning.
 *
 *   npm run bench:prune [-- --steps 1000 --retrain --dry-run]
 *
 * The CNN is bench:optimize's (bench/results/optimize-cnn.onnx, trained here with the same recipe
 * when absent); the MLP is trained here and kept in bench/results/prune-mlp.onnx (--retrain trains
 * both again). Fine-tuning: SGD, lr 0.05, batch 50, --steps steps; the gradual schedule rises from 0
 * to the target over the first 70% of them (polynomial decay, power 3). Writes the "Edge
 * optimization: pruning" section of BENCHMARKS.md and bench/results/prune.json; --dry-run runs tiny
 * and writes nothing.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import {
  BENCH_SETTINGS,
  Trainer,
  benchModel,
  builtInModel,
  exportModel,
  fineTuneSchedule,
  importModel,
  pruneWeights,
  pruneWhileFineTuning,
  readEdgeflModel,
  removeUnits,
  sgd,
  writeEdgeflModel,
  type ModelBenchRow,
} from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { loadNamedDataset } from '../packages/cli/src/datasets.js';
import { trainedModel } from './trained-model.js';
import { machineLine, updateBenchmarksSection, writeResultJson, helpOnRequest } from './report.js';

helpOnRequest(import.meta.url);

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '2' },
    retrain: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  },
});
const dry = args['dry-run'];
const steps = dry ? 20 : Number(args.steps);
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const runtime = nodeRuntime();
const mnist = await loadNamedDataset('mnist');
const SPARSITIES = [0.5, 0.8, 0.9];
const FRACTIONS = [0.25, 0.5, 0.75];
const runs = dry ? 30 : 300;
const examples = dry ? 1000 : 10_000;
const LR = 0.05;
const BATCH = 50;

/** The float model: cached, or trained as bench:optimize trains its CNN (SGD 0.05, batch 50). */
function floatModel(kind: 'cnn' | 'mlp'): Promise<Uint8Array> {
  return trainedModel({
    cache: join(RESULTS, kind === 'cnn' ? 'optimize-cnn.onnx' : 'prune-mlp.onnx'),
    retrain: args.retrain,
    dry,
    drySteps: 200,
    label: `the ${kind}`,
    spec: builtInModel(kind, { inputShape: [1, 28, 28], classes: 10, seed: 1 }),
    trainer: { loss: 'softmaxCrossEntropy', optimizer: sgd({ lr: LR }), runtime },
    data: mnist.train,
    fit: { batchSize: BATCH, epochs: Number(args.epochs), seed: 1 },
  });
}

/**
 * Fine-tunes an edgefl model `steps` steps; with `sparsity`, pruning gradually to it. The same
 * seed for every variant, so they see the same batches.
 */
async function fineTune(bytes: Uint8Array, sparsity?: number): Promise<Uint8Array> {
  const m = readEdgeflModel(importModel(bytes));
  const trainer = await Trainer.create(m.spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: LR }),
    runtime,
    parameters: m.parameters,
  });
  try {
    if (sparsity)
      await pruneWhileFineTuning(trainer, mnist.train, {
        schedule: fineTuneSchedule(sparsity, steps),
        steps,
        batchSize: BATCH,
        seed: 7,
      });
    else await trainer.fit(mnist.train, { batchSize: BATCH, steps, seed: 7 });
    return writeEdgeflModel(m, trainer.getParameters());
  } finally {
    await trainer.dispose();
  }
}

const bench = (name: string, bytes: Uint8Array) =>
  benchModel(name, bytes, { runtime, data: mnist.test, runs, warmup: 30, examples });
const accuracy = async (bytes: Uint8Array) =>
  (await benchModel('', bytes, { runtime, data: mnist.test, examples, settings: [] })).accuracy!;

interface Row {
  model: string;
  variant: string;
  bytes: number;
  gzip: number;
  parameters: number;
  latency: ModelBenchRow['latency'];
  /** Without fine-tuning. */
  accuracyAtOnce?: number;
  /** After `steps` steps of fine-tuning. */
  accuracy: number;
}

async function measure(kind: 'cnn' | 'mlp') {
  const float = await floatModel(kind);
  const dense = await bench('dense', float);
  console.log(
    `${kind}: dense ${(100 * dense.accuracy!).toFixed(2)}%, fine-tuning ${steps} steps per variant`,
  );
  const row = (variant: string, bytes: Uint8Array, b: ModelBenchRow, accuracyAtOnce?: number): Row => ({
    model: kind,
    variant,
    bytes: bytes.length,
    gzip: gzipSync(bytes).length,
    parameters: b.parameters,
    latency: b.latency,
    accuracyAtOnce,
    accuracy: b.accuracy!,
  });
  const denseRow: Row = { ...row('dense', float, dense), accuracy: dense.accuracy! };
  // The control: the same fine-tuning without pruning (so the sparse rows' gains are not just more training).
  const control = await fineTune(float);
  const controlRow = row(`dense, fine-tuned ${steps} steps`, control, await bench('control', control));
  const unstructured: Row[] = [];
  for (const s of SPARSITIES) {
    console.log(`${kind}: ${100 * s}% sparse`);
    const once = importModel(float);
    pruneWeights(once, { sparsity: s });
    const atOnce = await accuracy(exportModel(once));
    const tuned = await fineTune(float, s);
    unstructured.push(row(`${100 * s}% sparse`, tuned, await bench(`${s}`, tuned), atOnce));
  }
  const structured: (Row & { removed: string })[] = [];
  for (const f of FRACTIONS) {
    console.log(`${kind}: ${100 * f}% of units removed`);
    const m = importModel(float);
    const report = removeUnits(m, { fraction: f });
    const narrow = exportModel(m);
    const atOnce = await accuracy(narrow);
    const tuned = await fineTune(narrow);
    structured.push({
      ...row(`${100 * f}% of units removed`, tuned, await bench(`${f}`, tuned), atOnce),
      removed: report.layers.map((l) => `${l.units}→${l.units - l.removed.length}`).join(', '),
    });
  }
  return { denseRow, controlRow, unstructured, structured };
}

const results = { cnn: await measure('cnn'), mlp: await measure('mlp') };

const f2 = (x: number) => x.toFixed(2);
const ms = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const speed = (r: Row, ref: Row, i: number) => f2(ref.latency[i].p50Ms / r.latency[i].p50Ms);
const MODEL_NAMES = { cnn: 'CNN', mlp: 'MLP (2NN)' };

const unstructuredTable = [
  `| model | weights zeroed | test accuracy at once | after gradual fine-tuning (${steps} steps) | size / gzip | p50 batch 1, 1 thread | × dense | p50 batch 32, 2 threads | × dense |`,
  '|---|---|---|---|---|---|---|---|---|',
  ...(['cnn', 'mlp'] as const).flatMap((k) => {
    const { denseRow: d, controlRow: c, unstructured } = results[k];
    return [d, c, ...unstructured].map(
      (r) =>
        `| ${MODEL_NAMES[k]} | ${r.variant} | ${r.accuracyAtOnce !== undefined ? pct(r.accuracyAtOnce) : r === d ? pct(r.accuracy) : '—'} | ${r === d ? '—' : pct(r.accuracy)} | ${kib(r.bytes)} / ${kib(r.gzip)} | ${ms(r.latency[0].p50Ms)} ms | ${speed(r, d, 0)}× | ${ms(r.latency[1].p50Ms)} ms | ${speed(r, d, 1)}× |`,
    );
  }),
].join('\n');

const structuredTable = [
  `| model | units removed | hidden widths | parameters | size | p50 batch 1, 1 thread | × faster | p50 batch 32, 2 threads | × faster | test accuracy at once | after fine-tuning (${steps} steps) |`,
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...(['cnn', 'mlp'] as const).flatMap((k) => {
    const { denseRow: d, structured } = results[k];
    return [
      `| ${MODEL_NAMES[k]} | none | — | ${d.parameters.toLocaleString('en')} | ${kib(d.bytes)} | ${ms(d.latency[0].p50Ms)} ms | 1.00× | ${ms(d.latency[1].p50Ms)} ms | 1.00× | ${pct(d.accuracy)} | — |`,
      ...structured.map(
        (r) =>
          `| ${MODEL_NAMES[k]} | ${r.variant.replace(' of units removed', '')} | ${r.removed} | ${r.parameters.toLocaleString('en')} | ${kib(r.bytes)} | ${ms(r.latency[0].p50Ms)} ms | **${speed(r, d, 0)}×** | ${ms(r.latency[1].p50Ms)} ms | ${speed(r, d, 1)}× | ${pct(r.accuracyAtOnce!)} | ${pct(r.accuracy)} |`,
      ),
    ];
  }),
].join('\n');
console.log(unstructuredTable);
console.log(structuredTable);

const cnn = results.cnn;
const sparse90 = cnn.unstructured[2];
const half = cnn.structured[1];
const body = `Command: \`npm run bench:prune\` — ${machineLine()}.

The FedAvg paper's MNIST CNN (bench:optimize's, trained 2 epochs) and its 2NN MLP (784-200-200-10, trained here the same
way), pruned by edgefl in TypeScript and run by onnxruntime-node with its default graph optimizations. Accuracy is on
${examples.toLocaleString('en')} test images; latency is ${runs} timed calls after 30 warm-up calls (${BENCH_SETTINGS.map((s) => `batch ${s.batch} on ${s.threads} thread${s.threads > 1 ? 's' : ''}`).join(', ')}).
Fine-tuning: SGD, lr ${LR}, batch ${BATCH}, ${steps} steps on the training split; gradual pruning rises from 0 to the
target over the first 70% of the steps (polynomial decay, power 3, as TF-MOT's), the mask recomputed every
${fineTuneSchedule(0.5, steps).frequency} steps. "At once" is magnitude pruning (per layer) or unit removal without any fine-tuning.

**Unstructured sparsity** (the smallest-magnitude weights of every dense and convolution layer set to zero):

${unstructuredTable}

The "dense, fine-tuned" row is the control: the same ${steps} steps without pruning, so the sparse rows' accuracy is
compared with training of equal length. **Zeros do not make ONNX Runtime faster**: its CPU kernels (MLAS) multiply
dense matrices whatever they hold — the 90%-sparse CNN answers at ${speed(sparse90, cnn.denseRow, 0)}× the dense model's speed at batch 1
(${ms(sparse90.latency[0].p50Ms)} vs ${ms(cnn.denseRow.latency[0].p50Ms)} ms) and is stored at the same size. What unstructured sparsity buys here is compression
(gzip: ${kib(cnn.denseRow.gzip)} → ${kib(sparse90.gzip)}) and a model ready for sparse kernels.

**Structured pruning** (\`removeUnits\`: the units — neurons, convolution channels — of smallest L2 weight norm
removed from every hidden layer, with the matching inputs of the next layer; the output layer stays whole):

${structuredTable}

Removing half of every hidden layer's units makes the CNN **${speed(half, cnn.denseRow, 0)}×** faster at batch 1 on one thread
and ${speed(half, cnn.denseRow, 1)}× at batch 32 (${kib(cnn.denseRow.bytes)} → ${kib(half.bytes)}); its test accuracy is ${pct(half.accuracyAtOnce!)} at once and
${pct(half.accuracy)} after ${steps} steps of fine-tuning (dense: ${pct(cnn.denseRow.accuracy)}). The same from the command line:
\`npx edgefl optimize digits.onnx --prune 0.8 --structured 0.5 --finetune mnist --out small.onnx\`.
`;
if (!dry) {
  updateBenchmarksSection('prune', 'Edge optimization: pruning (bench:prune)', body);
  writeResultJson('prune', { steps, results });
} else console.log(body);
process.exit(0);

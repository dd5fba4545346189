/**
 * `edgefl optimize model.onnx --int8 static --calibrate mnist:512 --out model-int8.onnx` (or
 * `--int4 --block 32` for 4-bit weights): makes any ONNX model of the supported operators smaller
 * and faster for a device, then checks on this machine that ONNX Runtime really runs the quantized
 * nodes as integer or 4-bit kernels, and says per node what it did. Nothing is written unless every
 * step succeeded.
 */
import type { Command } from 'commander';
import {
  calibrate,
  classifierAccuracy,
  guardedQuantize,
  measureLatency,
  SubsetDataset,
  importModel,
  quantizeDynamicInt8,
  quantizeStaticInt8,
  quantizeWeightOnlyInt4,
  type CalibrationMethod,
  type QuantizedModel,
  type OnnxModel,
  type QuantizationReport,
} from 'edgefl';
import { checkFusion, nodeRuntime, readInputFile, writeFileAtomic } from '@edgefl/node';
import { loadNamedDataset } from './datasets.js';
import { checkOutputFile } from './output-paths.js';
import { batchesOf, exampleDims, runtimeNamed } from './model-inputs.js';
import {
  pruneCommand,
  pruneModel,
  pruneSettings,
  refuseQuantizationOnly,
  type PruneFlags,
} from './prune-command.js';
import { cleanCommand, cleanModel } from './clean-command.js';

interface OptimizeFlags extends PruneFlags {
  clean?: boolean;
  int8?: string;
  int4?: boolean;
  block: string;
  accuracyLevel: string;
  symmetric?: boolean;
  floatEmbeddings?: boolean;
  calibrate?: string;
  validate?: string;
  maxLoss?: string;
  speedGuard: boolean;
  runtime: string;
  method: string;
  perTensor?: boolean;
  out: string;
}

const METHODS: Record<string, CalibrationMethod> = {
  minmax: { method: 'minmax' },
  percentile: { method: 'percentile' },
  entropy: { method: 'entropy' },
};

export function registerOptimizeCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('optimize')
    .description(
      'quantize a model to int8 or 4-bit weights for a device, and check that the runtime runs the quantized kernels; or prune it (--prune, --structured)',
    )
    .argument('<model>', 'the float .onnx')
    .option(
      '--clean',
      'clean the graph for inference first: bypass Identity and Dropout, fold constants, fuse GELU, drop unread values',
    )
    .option('--int8 <mode>', 'static (calibrated activations) or dynamic (activations quantized at run time)')
    .option('--int4', 'weights in 4-bit blocks (MatMulNBits) for matmul-heavy models, activations float')
    .option('--block <n>', '--int4: weights per scale along K, a power of two >= 16', '32')
    .option(
      '--accuracy-level <n>',
      '--int4: 4 computes with int8 activations (fast on CPUs), 1 in float32 (only smaller), 0 the runtime default',
      '4',
    )
    .option('--symmetric', '--int4: no zero points (zero point 8 in every block)')
    .option('--float-embeddings', '--int4: leave embedding tables float instead of int8 rows')
    .option(
      '--calibrate <dataset:n>',
      'static: calibrate on the first n training examples of a dataset (mnist:512)',
    )
    .option('--method <name>', 'static: calibration method, minmax, percentile or entropy', 'minmax')
    .option('--per-tensor', 'one weight scale per tensor instead of one per output channel')
    .option(
      '--validate <dataset:n>',
      'score candidates on the last n training examples of a dataset (for --max-loss), e.g. mnist:2000',
    )
    .option(
      '--max-loss <points>',
      'keep the most sensitive layers float until accuracy is within this many points of float',
    )
    .option('--no-speed-guard', 'do not time each int8 node against float on this machine')
    .option(
      '--runtime <name>',
      "what the speed guard times with: native (onnxruntime-node) or wasm (onnxruntime-web's WebAssembly build, what a browser runs)",
      'native',
    )
    .option(
      '--prune <sparsity>',
      'zero this fraction of the dense and convolution weights, smallest magnitudes first (0.8)',
    )
    .option(
      '--prune-scope <scope>',
      '--prune: layer (each layer loses the fraction; default) or global (one threshold)',
    )
    .option(
      '--structured <fraction>',
      'remove this fraction of the units of every layer whose units can be followed (0.5)',
    )
    .option(
      '--finetune <dataset>',
      'fine-tune on the dataset (mnist) while pruning gradually: edgefl-exported models only',
    )
    .option('--steps <n>', '--finetune: training steps (default 1000, batch 50)')
    .option('--lr <rate>', '--finetune: SGD learning rate (default 0.05)')
    .option(
      '--eval <dataset>',
      'report test accuracy before and after pruning (default: the --finetune dataset)',
    )
    .requiredOption('--out <file>', 'where to write the optimized .onnx')
    .action(async (file: string, flags: OptimizeFlags) => {
      checkOutputFile(flags.out, [file]);
      if (flags.int4 && flags.int8 !== undefined)
        throw new Error('--int8 and --int4: choose one (4-bit weights keep activations float)');
      const pruning = pruneSettings(flags);
      const runtime = nodeRuntime();
      // --clean runs first, whatever follows it.
      const prepare = async (b: Uint8Array) => (flags.clean ? cleanModel(b, file, runtime, out) : b);
      if (!flags.int4 && flags.int8 === undefined && !pruning) {
        if (!flags.clean)
          throw new Error(
            'say how to quantize: --int8 static, --int8 dynamic or --int4; or how to prune: --prune <sparsity>, --structured <fraction>; or --clean',
          );
        refuseQuantizationOnly(flags, 'cleaning alone');
        return cleanCommand(await readInputFile(file), file, flags.out, runtime, out);
      }
      if (!flags.int4 && flags.int8 === undefined)
        return pruneCommand(file, flags.out, pruning!, flags, out, prepare);
      if (flags.int8 !== undefined && flags.int8 !== 'static' && flags.int8 !== 'dynamic')
        throw new Error(`--int8: expected static or dynamic, got '${flags.int8}'`);
      const mode = flags.int4 ? 'int4' : flags.int8;
      const int4 = mode === 'int4' ? int4Settings(flags) : undefined;
      if (!int4) {
        const only4 = (['symmetric', 'floatEmbeddings'] as const).filter((f) => flags[f]);
        if (only4.length)
          throw new Error(
            `${only4.map((f) => `--${f === 'floatEmbeddings' ? 'float-embeddings' : f}`).join(', ')} applies to --int4 only`,
          );
      }
      if (int4 && flags.calibrate)
        throw new Error('--calibrate is for --int8 static: 4-bit weights need no activation ranges');
      const method = METHODS[flags.method];
      if (!method) throw new Error(`--method: expected minmax, percentile or entropy, got '${flags.method}'`);
      if (mode === 'static' && !flags.calibrate)
        throw new Error(
          '--int8 static needs --calibrate <dataset:n> (e.g. mnist:512): activation ranges come from data',
        );
      // Cleaning, then pruning: the pruned model is what gets quantized.
      let bytes = await prepare(await readInputFile(file));
      if (pruning) bytes = await pruneModel(bytes, file, pruning, out);
      const model = importModel(bytes, file);
      const perChannel = !flags.perTensor;
      const maxLoss = flags.maxLoss === undefined ? undefined : points(flags.maxLoss);
      if (maxLoss !== undefined && !flags.validate)
        throw new Error('--max-loss needs --validate <dataset:n>: the loss is measured on held-out examples');
      let quantize: (keep: ReadonlySet<string>) => QuantizedModel<OnnxModel>;
      if (mode === 'static') {
        const { dataset, count } = calibrationSource(flags.calibrate!, '--calibrate');
        const data = (await loadNamedDataset(dataset)).train;
        out(`calibrating on the first ${count} ${dataset} training examples (${flags.method})`);
        const calibration = await calibrate(
          model,
          runtime,
          batchesOf(data, 0, Math.min(count, data.length), exampleDims(model, data)),
          { method },
        );
        quantize = (keepFloat) => quantizeStaticInt8(model, calibration, { perChannel, keepFloat });
      } else if (int4) quantize = (keepFloat) => quantizeWeightOnlyInt4(model, { ...int4, keepFloat });
      else quantize = (keepFloat) => quantizeDynamicInt8(model, { perChannel, keepFloat });
      // The guards: accuracy on held-out training examples (the last n, never the calibration's),
      // speed at batch 1 on one thread on this machine.
      let score: ((m: Uint8Array) => Promise<number>) | undefined;
      if (flags.validate) {
        const { dataset, count } = calibrationSource(flags.validate, '--validate');
        const data = (await loadNamedDataset(dataset)).train;
        const n = Math.min(count, data.length);
        const held = new SubsetDataset(
          data,
          Uint32Array.from({ length: n }, (_, k) => data.length - n + k),
        );
        out(`validating on the last ${n} ${dataset} training examples`);
        score = async (m) => (await classifierAccuracy(m, runtime, held)).accuracy;
      }
      const target = runtimeNamed(flags.runtime);
      const time = flags.speedGuard
        ? async (m: Uint8Array) =>
            (await measureLatency(m, { runtime: target, batch: 1, threads: 1, runs: 100 })).p50Ms
        : undefined;
      const guarded = await guardedQuantize(model, quantize, {
        ...(score ? { score } : {}),
        ...(maxLoss !== undefined ? { maxLoss } : {}),
        ...(time ? { time } : {}),
      });
      for (const k of guarded.keptFloat)
        if (!guarded.returnedFloat) out(`  kept float: ${k.node}: ${k.reason}`);
      const figures = [
        guarded.score &&
          `accuracy ${pct(guarded.score.float)} float, ${pct(guarded.score.result)} now (${signedPoints(guarded.score.result - guarded.score.float)})`,
        guarded.time &&
          `batch-1 latency on ${target.name} ${guarded.time.float.toFixed(3)} ms float, ${guarded.time.result.toFixed(3)} ms now`,
      ].filter(Boolean);
      if (guarded.returnedFloat) {
        await writeFileAtomic(flags.out, guarded.bytes);
        out(
          `quantization did not pay off here — ${guarded.returnedFloat}; wrote the float model unchanged to ${flags.out}`,
        );
        if (figures.length) out(figures.join('; '));
        return;
      }
      const result = guarded.bytes;
      const fusion = await checkFusion(runtime, result, guarded.report!);
      for (const line of describe(fusion.report)) out(line);
      if (figures.length) out(figures.join('; '));
      await writeFileAtomic(flags.out, result);
      out(
        `wrote ${flags.out}: ${(result.length / 1024).toFixed(0)} KiB, ${(bytes.length / result.length).toFixed(2)}x smaller than ${file}; ${fusion.fused.length} of ${fusion.report.nodes.length} quantized nodes run as ${int4 ? '4-bit' : 'integer'} kernels here${fusion.unfused.length ? ` (not: ${fusion.unfused.map((n) => `${n.node} runs as ${n.computedBy}`).join(', ')})` : ''}`,
      );
    });
}

/** --block, --accuracy-level and the rest, checked. */
function int4Settings(flags: OptimizeFlags) {
  const blockSize = Number(flags.block);
  if (!(Number.isInteger(blockSize) && blockSize >= 16 && (blockSize & (blockSize - 1)) === 0))
    throw new Error(`--block: expected a power of two of at least 16 (32, 64, 128), got '${flags.block}'`);
  const accuracyLevel = Number(flags.accuracyLevel);
  if (![0, 1, 2, 3, 4].includes(accuracyLevel))
    throw new Error(`--accuracy-level: expected 0, 1, 2, 3 or 4, got '${flags.accuracyLevel}'`);
  return {
    blockSize,
    accuracyLevel: accuracyLevel as 0 | 1 | 2 | 3 | 4,
    symmetric: flags.symmetric ?? false,
    embeddings: flags.floatEmbeddings ? ('float' as const) : ('int8' as const),
  };
}

/** 'mnist:512' -> the dataset and how many examples. */
function calibrationSource(spec: string, flag: string): { dataset: string; count: number } {
  const m = /^([a-z0-9-]+):(\d+)$/.exec(spec);
  if (!m || Number(m[2]) < 1)
    throw new Error(`${flag}: expected <dataset>:<examples> such as mnist:512, got '${spec}'`);
  return { dataset: m[1], count: Number(m[2]) };
}

function points(value: string): number {
  const p = Number(value);
  if (!(p >= 0) || !Number.isFinite(p))
    throw new Error(`--max-loss: expected accuracy points >= 0 such as 0.3, got '${value}'`);
  return p / 100;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const signedPoints = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(2)} points`;

function describe(r: QuantizationReport): string[] {
  return [
    ...r.nodes.map(
      (n) =>
        `  ${n.node} (${n.opType}): ${n.kind === 'weight-only' ? `4-bit weights in blocks of ${n.blockSize}` : `${n.kind} int8, ${n.perChannel ? 'per-channel' : 'per-tensor'} weights`}${n.activationRange ? `, activations in [${n.activationRange.low.toPrecision(3)}, ${n.activationRange.high.toPrecision(3)}]` : ''} -> ${n.fused ? `runs as ${n.computedBy}` : `NOT fused (runs as ${n.computedBy})`}`,
    ),
    // Nodes the guards kept float are listed with their reasons already.
    ...r.skipped.filter((s) => !s.endsWith('kept float as asked')).map((s) => `  left float: ${s}`),
    ...r.notes.map((s) => `  note: ${s}`),
  ];
}

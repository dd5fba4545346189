/**
 * The pruning half of `edgefl optimize`:
 *
 *   edgefl optimize model.onnx --prune 0.8 [--structured 0.5] [--finetune mnist [--steps N]] --out small.onnx
 *
 * --structured removes that fraction of the units of every layer whose units can be followed (any
 * ONNX model), so the model really gets smaller and faster; --prune zeroes that fraction of the
 * remaining dense and convolution weights by magnitude — at once, or, with --finetune, gradually
 * while fine-tuning on the dataset's training split (an edgefl-exported model only: its layers are
 * rebuilt from the definition in its metadata). Prints per layer what was removed or zeroed, the
 * size and, given a dataset, the test accuracy before and after. With --int8/--int4 the pruned model
 * is then quantized. Everything is checked before any work and nothing is written on failure.
 */
import { gzipSync } from 'node:zlib';
import {
  classifierAccuracy,
  edgeflSpecOf,
  exportModel,
  fineTuneSchedule,
  importModel,
  pruneWeights,
  pruneWhileFineTuning,
  readEdgeflModel,
  removeUnits,
  sgd,
  Trainer,
  writeEdgeflModel,
  type Dataset,
  type LayerSparsity,
  type PruningScope,
} from 'edgefl';
import { nodeRuntime, readInputFile, writeFileAtomic } from '@edgefl/node';
import { DATASETS, loadNamedDataset, type NamedDataset } from './datasets.js';

export interface PruneFlags {
  prune?: string;
  pruneScope?: string;
  structured?: string;
  finetune?: string;
  steps?: string;
  lr?: string;
  eval?: string;
}

export interface PruneSettings {
  sparsity?: number;
  scope: PruningScope;
  structured?: number;
  finetune?: { dataset: string; steps: number; lr: number };
  /** The dataset whose test split scores the model before and after. */
  evaluate?: string;
}

function fraction(value: string, flag: string, below1: boolean): number {
  const f = Number(value);
  if (!(value.trim() !== '' && f >= 0 && (below1 ? f < 1 : f <= 1)))
    throw new Error(`${flag}: expected a fraction in [0, 1${below1 ? ')' : ']'} such as 0.5, got '${value}'`);
  return f;
}

function datasetName(name: string, flag: string): string {
  if (!(DATASETS as readonly string[]).includes(name))
    throw new Error(`${flag}: unknown dataset '${name}'; available: ${DATASETS.join(', ')}`);
  return name;
}

/** The pruning asked for, checked; undefined when no pruning flag was given. */
export function pruneSettings(flags: PruneFlags): PruneSettings | undefined {
  const asked = flags.prune !== undefined || flags.structured !== undefined || flags.finetune !== undefined;
  const onlyWith = (flag: string, given: unknown, needs: boolean, what: string) => {
    if (given !== undefined && !needs) throw new Error(`${flag} applies to ${what}`);
  };
  onlyWith('--prune-scope', flags.pruneScope, flags.prune !== undefined, '--prune');
  onlyWith('--steps', flags.steps, flags.finetune !== undefined, '--finetune');
  onlyWith('--lr', flags.lr, flags.finetune !== undefined, '--finetune');
  if (!asked) {
    onlyWith('--eval', flags.eval, false, '--prune, --structured or --finetune');
    return undefined;
  }
  const scope = flags.pruneScope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global')
    throw new Error(`--prune-scope: expected layer or global, got '${scope}'`);
  let finetune: PruneSettings['finetune'];
  if (flags.finetune !== undefined) {
    const steps = Number(flags.steps ?? 1000);
    if (!(Number.isInteger(steps) && steps >= 1))
      throw new Error(`--steps: expected a whole number >= 1, got '${flags.steps}'`);
    const lr = Number(flags.lr ?? 0.05);
    if (!(lr > 0 && Number.isFinite(lr)))
      throw new Error(`--lr: expected a positive rate such as 0.05, got '${flags.lr}'`);
    finetune = { dataset: datasetName(flags.finetune, '--finetune'), steps, lr };
  }
  return {
    sparsity: flags.prune === undefined ? undefined : fraction(flags.prune, '--prune', true),
    scope,
    structured: flags.structured === undefined ? undefined : fraction(flags.structured, '--structured', true),
    finetune,
    evaluate: flags.eval === undefined ? finetune?.dataset : datasetName(flags.eval, '--eval'),
  };
}

/** `data` seen with another example shape of the same size (MNIST's [1, 28, 28] for a [784] model). */
function withFeatureShape(data: Dataset, shape: readonly number[]): Dataset {
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (data.featureShape.join() === shape.join()) return data;
  if (size(data.featureShape) !== size(shape))
    throw new Error(`the dataset's examples are [${data.featureShape}], the model takes [${shape}]`);
  return {
    length: data.length,
    featureShape: shape,
    featureType: data.featureType,
    labelShape: data.labelShape,
    labelType: data.labelType,
    classes: data.classes,
    normalization: data.normalization,
    gather: (i, f, l) => data.gather(i, f, l),
  };
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function sparsityLines(layers: readonly LayerSparsity[]): string[] {
  return layers.map(
    (l) => `  ${l.name}: ${pct(l.sparsity)} of ${l.size.toLocaleString('en')} weights zeroed`,
  );
}

/** Prunes `bytes` (read from `file`) as `s` says, printing what it did; returns the pruned model. */
export async function pruneModel(
  bytes: Uint8Array,
  file: string,
  s: PruneSettings,
  out: (line: string) => void,
): Promise<Uint8Array> {
  const model = importModel(bytes, file);
  // Refused before any work: fine-tuning rebuilds the model from the definition it carries.
  if (s.finetune) edgeflSpecOf(model);
  const runtime = nodeRuntime();
  const datasets = new Map<string, Promise<NamedDataset>>();
  const dataset = (name: string) => {
    if (!datasets.has(name)) datasets.set(name, loadNamedDataset(name));
    return datasets.get(name)!;
  };
  const accuracy = async (m: Uint8Array) =>
    s.evaluate
      ? (await classifierAccuracy(m, runtime, (await dataset(s.evaluate)).test)).accuracy
      : undefined;
  const before = await accuracy(bytes);

  if (s.structured !== undefined) {
    const report = removeUnits(model, { fraction: s.structured });
    for (const l of report.layers)
      out(
        `  ${l.layer} (${l.opType}, ${l.weight}): removed ${l.removed.length} of ${l.units} units (inputs cut in ${l.readers.join(', ')})`,
      );
    for (const k of report.skipped) out(`  left whole: ${k.layer}: ${k.reason}`);
    if (report.layers.length === 0) out('  no layer could lose units');
  }

  let result: Uint8Array;
  if (s.finetune) {
    const { dataset: name, steps, lr } = s.finetune;
    const edgefl = readEdgeflModel(model);
    const train = withFeatureShape((await dataset(name)).train, edgefl.spec.inputShape);
    const trainer = await Trainer.create(edgefl.spec, {
      loss: 'softmaxCrossEntropy',
      optimizer: sgd({ lr }),
      runtime,
      parameters: edgefl.parameters,
    });
    try {
      if (s.sparsity !== undefined && s.sparsity > 0) {
        const r = await pruneWhileFineTuning(trainer, train, {
          schedule: fineTuneSchedule(s.sparsity, steps),
          steps,
          batchSize: 50,
          scope: s.scope,
          seed: 1,
        });
        out(
          `fine-tuned ${steps} steps on ${name} while pruning gradually to ${pct(s.sparsity)} (${s.scope === 'global' ? 'one global threshold' : 'per layer'}; last loss ${r.chunks[r.chunks.length - 1].loss.toFixed(4)})`,
        );
        for (const line of sparsityLines(r.layers)) out(line);
      } else {
        const r = await trainer.fit(train, { batchSize: 50, steps, seed: 1 });
        out(`fine-tuned ${steps} steps on ${name} (last loss ${r.loss.toFixed(4)})`);
      }
      result = writeEdgeflModel(edgefl, trainer.getParameters());
    } finally {
      await trainer.dispose();
    }
  } else {
    if (s.sparsity !== undefined && s.sparsity > 0) {
      out(
        `zeroed ${pct(s.sparsity)} of the weights by magnitude (${s.scope === 'global' ? 'one global threshold' : 'per layer'}; no fine-tuning)`,
      );
      for (const line of sparsityLines(pruneWeights(model, { sparsity: s.sparsity, scope: s.scope })))
        out(line);
    }
    result = exportModel(model);
  }

  const after = await accuracy(result);
  out(
    `size ${kib(bytes.length)} -> ${kib(result.length)} (gzip ${kib(gzipSync(bytes).length)} -> ${kib(gzipSync(result).length)})` +
      (before !== undefined && after !== undefined
        ? `; ${s.evaluate} test accuracy ${pct(before)} -> ${pct(after)}`
        : '; no test accuracy (give --eval <dataset>)'),
  );
  if (s.sparsity && !s.structured)
    out(
      'note: zeroed weights are still stored and multiplied: ONNX Runtime runs the model no faster (only gzip shrinks it); --structured removes units for a smaller, faster model',
    );
  return result;
}

/** Flags of the quantization half that mean nothing without --int8 or --int4. */
const QUANTIZATION_ONLY = {
  calibrate: '--calibrate',
  validate: '--validate',
  maxLoss: '--max-loss',
  perTensor: '--per-tensor',
  symmetric: '--symmetric',
  floatEmbeddings: '--float-embeddings',
} as const;

/** Refuses flags that only mean something when quantizing, given to a command that does not quantize. */
export function refuseQuantizationOnly(
  flags: Partial<Record<keyof typeof QUANTIZATION_ONLY, unknown>>,
  what: string,
): void {
  const stray = (Object.keys(QUANTIZATION_ONLY) as (keyof typeof QUANTIZATION_ONLY)[]).filter(
    (f) => flags[f] !== undefined,
  );
  if (stray.length)
    throw new Error(
      `${stray.map((f) => QUANTIZATION_ONLY[f]).join(', ')} applies to --int8 or --int4, not to ${what}`,
    );
}

/**
 * `edgefl optimize` with pruning alone: reads `file`, cleans it first if asked (`prepare`), prunes,
 * writes `outFile`.
 */
export async function pruneCommand(
  file: string,
  outFile: string,
  s: PruneSettings,
  flags: Partial<Record<keyof typeof QUANTIZATION_ONLY, unknown>>,
  out: (line: string) => void,
  prepare: (bytes: Uint8Array) => Promise<Uint8Array> = async (b) => b,
): Promise<void> {
  refuseQuantizationOnly(flags, 'pruning alone');
  const result = await pruneModel(await prepare(await readInputFile(file)), file, s, out);
  await writeFileAtomic(outFile, result);
  out(`wrote ${outFile}`);
}

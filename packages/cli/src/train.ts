/** `edgefl train`: centralized training of a built-in or user-defined model, with a progress bar. */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  adam,
  adamw,
  sgd,
  type OptimizerConfig,
  type LossName,
  builtInModel,
  type ModelSpec,
  exportInferenceModel,
  Trainer,
} from 'edgefl';
import { DpSgdTrainer } from 'edgefl/internal/privacy/dp-sgd';
import {
  nodeRuntime,
  describeRuntime,
  loadModelSpecFile,
  saveTrainedModel,
  writeFileAtomic,
  claimRunFolder,
} from '@edgefl/node';
import { loadNamedDataset } from './datasets.js';
import { floatOption, intOption } from './options.js';
import { progressLine } from './progress.js';

export interface TrainCommandOptions {
  dataset: string;
  model: string;
  epochs?: number;
  steps?: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  lrDecay: number;
  seed: number;
  out?: string;
  threads: number;
  limit?: number;
  dpNoise?: number;
  dpClip?: number;
  dpDelta?: number;
  /** API only: seeded DP-SGD noise and sampling for reproducible experiments and tests (the CLI always draws cryptographic noise). */
  dpNoiseSeed?: number;
}

/** Built-in models that need token sequences, not the image datasets this command loads. */
const TEXT_MODELS = ['transformer'];

export function registerTrainCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('train')
    .description('train a model on a dataset (centralized), evaluate it, and write a run folder')
    .option('--dataset <name>', 'dataset: mnist', 'mnist')
    .option('--model <name|file>', 'built-in model (mlp, cnn, logreg) or a model .json file', 'mlp')
    .option('--epochs <n>', 'passes over the training data (default 1)', intOption('--epochs', 1))
    .option('--steps <n>', 'train a fixed number of steps instead of epochs', intOption('--steps', 1))
    .option('--batch-size <n>', 'samples per step', intOption('--batch-size', 1), 32)
    .option('--optimizer <name>', 'sgd, adam or adamw', 'sgd')
    .option(
      '--lr <x>',
      'learning rate (default: 0.05 for sgd, 0.001 for adam/adamw)',
      floatOption('--lr', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--momentum <x>',
      'SGD momentum (default 0.9; sgd only)',
      floatOption('--momentum', { min: 0, max: 0.999 }),
    )
    .option('--weight-decay <x>', 'weight decay', floatOption('--weight-decay', { min: 0 }))
    .option(
      '--lr-decay <x>',
      'multiply the learning rate by this after every epoch',
      floatOption('--lr-decay', { min: 0, max: 1, exclusiveMin: true }),
      1,
    )
    .option('--seed <n>', 'seed of initialization and shuffling', intOption('--seed', 0), 0)
    .option('--out <dir>', 'run folder (default: runs/<time>-<model>)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', intOption('--threads', 1), 1)
    .option(
      '--limit <n>',
      'use only the first N training and test samples (quick runs)',
      intOption('--limit', 1),
    )
    .option(
      '--dp-noise <z>',
      'DP-SGD: noise multiplier (per-example clipping and Gaussian noise; dense models)',
      floatOption('--dp-noise', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--dp-clip <c>',
      "DP-SGD: L2 clip norm of one example's gradient",
      floatOption('--dp-clip', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--dp-delta <d>',
      'DP-SGD: delta of the reported (epsilon, delta)',
      floatOption('--dp-delta', { min: 0, max: 1, exclusiveMin: true }),
      1e-5,
    )
    .action(async (o: TrainCommandOptions) => {
      await runTrain(o, out);
    });
}

function optimizerFor(o: TrainCommandOptions): OptimizerConfig {
  switch (o.optimizer) {
    case 'sgd':
      return sgd({ lr: o.lr ?? 0.05, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay });
    case 'adam':
      return adam({ lr: o.lr ?? 1e-3, weightDecay: o.weightDecay });
    case 'adamw':
      return adamw({ lr: o.lr ?? 1e-3, weightDecay: o.weightDecay ?? 0.01 });
    default:
      throw new Error(`--optimizer must be sgd, adam or adamw, got '${o.optimizer as string}'`);
  }
}

async function resolveModel(
  name: string,
  inputShape: readonly number[],
  classes: number,
  seed: number,
): Promise<ModelSpec> {
  if (name.endsWith('.json') || (existsSync(name) && statSync(name).isFile())) {
    if (!existsSync(name)) throw new Error(`model file '${name}' does not exist`);
    const spec = await loadModelSpecFile(name);
    return { ...spec, seed: spec.seed ?? seed };
  }
  return builtInModel(name, { inputShape, classes, seed });
}

export async function runTrain(
  o: TrainCommandOptions,
  out: (line: string) => void,
): Promise<{ dir: string; testAccuracy: number | undefined }> {
  const started = performance.now();
  if ((o.dpNoise === undefined) !== (o.dpClip === undefined))
    throw new Error('DP-SGD needs both --dp-noise and --dp-clip');
  // Flags that would do nothing in this combination are refused rather than ignored.
  if (o.epochs !== undefined && o.steps !== undefined)
    throw new Error('--epochs and --steps: give one (passes over the data, or a fixed number of steps)');
  if (o.momentum !== undefined && o.optimizer !== 'sgd')
    throw new Error(`--momentum applies to sgd; ${o.optimizer} keeps its own moment estimates`);
  if (TEXT_MODELS.includes(o.model))
    throw new Error(
      `--model '${o.model}' is a text model: train fits mlp, cnn, logreg or a model .json file to ${o.dataset}`,
    );
  const runtime = nodeRuntime({ intraOpNumThreads: o.threads });
  // The run folder is claimed before anything slow: a bad --out, or one that holds an earlier run,
  // is refused at once instead of after training, when the result would be thrown away.
  if (o.out !== undefined) await claimRunFolder(o.out, { kind: 'train' });
  const data = await loadNamedDataset(o.dataset, { limit: o.limit });
  const spec = await resolveModel(o.model, data.train.featureShape, data.classes.length, o.seed);
  const dir = o.out ?? (await claimDefaultRunFolder(spec));
  const loss: LossName = 'softmaxCrossEntropy';
  const optimizer = optimizerFor(o);
  const trainer = await Trainer.create(spec, { loss, optimizer, runtime });
  const dpSgd =
    o.dpNoise !== undefined && o.dpClip !== undefined
      ? await DpSgdTrainer.create(spec, {
          noiseMultiplier: o.dpNoise,
          clipNorm: o.dpClip,
          batchSize: o.batchSize,
          optimizer,
          delta: o.dpDelta,
          noiseSeed: o.dpNoiseSeed,
          runtime,
        })
      : undefined;
  out(`ONNX Runtime: ${describeRuntime(runtime)}`);
  out(
    `edgefl train: ${spec.name ?? o.model} (${trainer.getParameters().size.toLocaleString('en')} parameters) on ${o.dataset} (${data.train.length} train / ${data.test.length} test), ${optimizer.kind} lr ${optimizer.lr}, batch ${o.batchSize}`,
  );

  const epochs = o.steps ? 1 : (o.epochs ?? 1);
  const stepsPerEpoch = o.steps ?? Math.ceil(data.train.length / o.batchSize);
  const history: Record<string, number | undefined>[] = [];
  let lr = optimizer.lr;
  let trainSeconds = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const bar = progressLine(`epoch ${epoch}/${epochs}`, stepsPerEpoch);
    const epochStarted = performance.now();
    const fit = dpSgd
      ? await dpSgd.fit(data.train, {
          epochs: o.steps ? undefined : 1,
          steps: o.steps,
          onStep: (step, _steps, r) =>
            bar.update(step, {
              loss: r.loss,
              acc: r.accuracy,
              'samples/s': Math.round((step * o.batchSize) / ((performance.now() - epochStarted) / 1000)),
            }),
        })
      : await trainer.fit(data.train, {
          batchSize: o.batchSize,
          epochs: o.steps ? undefined : 1,
          steps: o.steps,
          lr,
          seed: o.seed * 1000 + epoch,
          onProgress: (p) =>
            bar.update(p.step, {
              loss: p.loss,
              acc: p.accuracy ?? NaN,
              'samples/s': Math.round(p.samplesPerSecond),
            }),
        });
    bar.stop();
    trainSeconds += fit.seconds;
    if (dpSgd) trainer.setParameters(dpSgd.getParameters());
    const privacy = dpSgd ? ` | ε ${dpSgd.spent().epsilon.toFixed(3)} (δ ${dpSgd.spent().delta})` : '';
    const test = await trainer.evaluate(data.test);
    history.push({
      epoch,
      lr,
      trainLoss: fit.loss,
      trainAccuracy: fit.accuracy,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      samplesPerSecond: fit.samples / fit.seconds,
      seconds: fit.seconds,
      ...(dpSgd ? { epsilon: dpSgd.spent().epsilon } : {}),
    });
    out(
      `epoch ${epoch}/${epochs}: train loss ${fit.loss.toFixed(4)} acc ${pct(fit.accuracy)} | test loss ${test.loss.toFixed(4)} acc ${pct(test.accuracy)} | ${Math.round(fit.samples / fit.seconds)} samples/s | ${fit.seconds.toFixed(1)} s${privacy}`,
    );
    lr *= o.lrDecay;
  }
  const final = history[history.length - 1];
  const params = trainer.getParameters();
  const metrics = {
    history,
    testAccuracy: final.testAccuracy,
    testLoss: final.testLoss,
    trainSeconds,
    wallSeconds: (performance.now() - started) / 1000,
    command: process.argv.slice(2).join(' '),
  };
  await saveTrainedModel(
    dir,
    { spec, loss, labels: data.classes, normalization: data.train.normalization, metrics },
    params,
  );
  const onnx = exportInferenceModel(spec, params, {
    labels: data.classes,
    normalization: data.train.normalization,
  });
  await writeFileAtomic(join(dir, 'model.onnx'), onnx);
  await writeFileAtomic(join(dir, 'metrics.csv'), toCsv(history));
  await trainer.dispose();
  await dpSgd?.dispose();
  out(
    `test accuracy ${pct(final.testAccuracy)} after ${epochs} epoch(s), ${metrics.wallSeconds.toFixed(1)} s in all`,
  );
  out(
    `run folder: ${dir} (model.json, parameters.eflp, model.onnx ${(onnx.length / 1024).toFixed(0)} KiB, metrics.csv)`,
  );
  out(`export it:  npx edgefl export --model ${dir} --out model.onnx`);
  return { dir, testAccuracy: final.testAccuracy };
}

/** runs/<time>-<model>, claimed like --out (named by the model, so known only once it is built). */
async function claimDefaultRunFolder(spec: ModelSpec): Promise<string> {
  const dir = join(
    'runs',
    `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-${spec.name ?? 'model'}`,
  );
  await claimRunFolder(dir, { kind: 'train' });
  return dir;
}

function pct(x: number | undefined): string {
  return x === undefined ? '-' : `${(100 * x).toFixed(2)}%`;
}

function toCsv(rows: Record<string, number | undefined>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  return [cols.join(','), ...rows.map((r) => cols.map((c) => r[c] ?? '').join(','))].join('\n') + '\n';
}

/**
 * `edgefl attack`: the gradient-inversion attack, shown. An honest-but-curious server receives
 * FedSGD updates (one SGD step per client on one batch of MNIST test images, which play the
 * clients' private data) behind a defense, reconstructs the images, and the command prints PSNR and
 * SSIM per image and writes a picture: originals on top, reconstructions below.
 *
 *   edgefl attack --defense none --method analytic
 *   edgefl attack --defense dp --epsilon 8 --method optimize
 */
import { type Command, InvalidArgumentError } from 'commander';
import { join } from 'node:path';
import { sgd, initialParameters, builtInModel, Trainer } from 'edgefl';
import { describeRuntime, nodeRuntime, writeFileAtomic } from '@edgefl/node';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';
import { DEFENSES, isDefense, type DefenseName } from 'edgefl/internal/privacy/attack/defenses';
import {
  ATTACK_METHODS,
  runAttack,
  type AttackMethod,
  type AttackReport,
} from 'edgefl/internal/privacy/attack/scenario';
import { writeImageGrid } from './report/picture.js';
import { loadNamedDataset } from './datasets.js';
import { floatOption, intOption } from './options.js';
import { progressLine, type ProgressLine } from './progress.js';

const MODELS = ['mlp', 'cnn', 'logreg'] as const;

export interface AttackCommandOptions {
  defense: DefenseName;
  method: AttackMethod;
  model: (typeof MODELS)[number];
  images: number;
  batchSize?: number;
  iterations: number;
  epsilon?: number;
  clipNorm?: number;
  clients?: number;
  knownLabels?: boolean;
  trainSteps: number;
  seed: number;
  out?: string;
  threads: number;
}

function oneOf<T extends string>(flag: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
    return value as T;
  };
}

export function registerAttackCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('attack')
    .description(
      'gradient inversion: reconstruct clients’ MNIST images from their FedSGD updates, with or without a defense',
    )
    .option(
      '--defense <name>',
      `what the server sees: none (one client's gradient), batch (averaged over a large batch), dp (clipped + Gaussian noise), secagg (only the sum over many clients)`,
      (v: string) => {
        if (!isDefense(v))
          throw new InvalidArgumentError(`--defense must be one of ${DEFENSES.join(', ')}, got '${v}'`);
        return v;
      },
      'none',
    )
    .option(
      '--method <name>',
      'analytic (exact, dense first layer: mlp, logreg) or optimize (gradient matching, any model)',
      oneOf('--method', ATTACK_METHODS),
      'optimize',
    )
    .option('--model <name>', `built-in model: ${MODELS.join(', ')}`, oneOf('--model', MODELS), 'mlp')
    .option('--images <n>', 'images to reconstruct and score', intOption('--images', 1), 4)
    .option(
      '--batch-size <n>',
      'images per client batch (default 1, or 64 with --defense batch)',
      intOption('--batch-size', 1),
    )
    .option('--iterations <n>', 'optimization steps per attacked update', intOption('--iterations', 1), 1000)
    .option(
      '--epsilon <e>',
      'dp: epsilon of the single release (delta 1e-5), default 8',
      floatOption('--epsilon', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--clip-norm <c>',
      'dp: L2 clipping norm of the update, default 1',
      floatOption('--clip-norm', { min: 0, exclusiveMin: true }),
    )
    .option('--clients <n>', 'secagg: clients in the secure sum, default 100', intOption('--clients', 2))
    .option('--known-labels', 'give the optimization attack the true labels instead of inferring them (iDLG)')
    .option(
      '--train-steps <n>',
      'train the freshly initialised model this many SGD steps (batch 32) on MNIST training images first',
      intOption('--train-steps', 0),
      0,
    )
    .option(
      '--seed <n>',
      'seed of the model, the chosen images, the noise and the attack',
      intOption('--seed', 0),
      0,
    )
    .option('--out <dir>', 'folder for attack.png and attack.json (default runs/<time>-attack-<defense>)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', intOption('--threads', 1), 1)
    .action(async (o: AttackCommandOptions) => {
      await runAttackCommand(o, out);
    });
}

/** Flags that belong to one defense only: given with another they would be silently ignored. */
function checkFlags(o: AttackCommandOptions): void {
  const only: [keyof AttackCommandOptions, string, DefenseName][] = [
    ['epsilon', '--epsilon', 'dp'],
    ['clipNorm', '--clip-norm', 'dp'],
    ['clients', '--clients', 'secagg'],
  ];
  for (const [key, flag, defense] of only)
    if (o[key] !== undefined && o.defense !== defense)
      throw new Error(`${flag} applies to --defense ${defense} only (got --defense ${o.defense})`);
  if (o.knownLabels && o.method !== 'optimize')
    throw new Error('--known-labels applies to --method optimize only (the analytic attack needs no labels)');
  if (o.method === 'analytic' && o.model === 'cnn')
    throw new Error(
      '--method analytic needs a dense first layer (mlp or logreg); the cnn starts with a convolution — use --method optimize',
    );
}

function fmt(x: number, digits: number): string {
  return x === Infinity ? '∞' : x.toFixed(digits);
}

/** The human-readable description of what the server saw. */
export function describeSetting(r: AttackReport): string {
  const s = r.setting;
  switch (r.defense) {
    case 'none':
      return `none: each of ${s.clients} client(s) sends its gradient on a batch of ${s.batchSize}`;
    case 'batch':
      return `batch: one client's gradient averaged over a batch of ${s.batchSize}`;
    case 'dp':
      return `dp: each client's update clipped to L2 norm ${s.dp!.clipNorm} plus N(0, (z C)^2) noise, z = ${s.dp!.noiseMultiplier.toFixed(4)}: epsilon ${s.dp!.epsilon.toFixed(2)} at delta ${s.dp!.delta} for this single release (batch ${s.batchSize})`;
    case 'secagg':
      return `secagg: the server learns only the sum over ${s.secagg!.survivors} clients (batch ${s.batchSize} each; SecAgg+ with ${s.secagg!.neighbours} neighbours, ${s.secagg!.bits}-bit quantization over ±${s.secagg!.range.toPrecision(3)}, sum error <= ${s.secagg!.errorBound.toExponential(1)})`;
  }
}

export async function runAttackCommand(
  o: AttackCommandOptions,
  out: (line: string) => void,
): Promise<{ report: AttackReport; dir: string }> {
  checkFlags(o);
  const runtime = nodeRuntime({ intraOpNumThreads: o.threads });
  out(`ONNX Runtime: ${describeRuntime(runtime)}`);
  const data = await loadNamedDataset('mnist');
  const spec = builtInModel(o.model, {
    inputShape: data.train.featureShape,
    classes: data.classes.length,
    seed: o.seed,
  });
  let parameters = initialParameters(spec).values;
  let modelState = 'freshly initialised';
  if (o.trainSteps > 0) {
    const trainer = await Trainer.create(spec, {
      loss: 'softmaxCrossEntropy',
      optimizer: sgd({ lr: 0.05 }),
      runtime,
    });
    const fit = await trainer.fit(data.train, { batchSize: 32, steps: o.trainSteps, seed: o.seed });
    parameters = trainer.getParameters().values;
    modelState = `trained ${o.trainSteps} SGD steps (batch 32, lr 0.05; train loss ${fit.loss.toFixed(3)})`;
    await trainer.dispose();
  }
  out(
    `edgefl attack: ${spec.name} (${parameters.length.toLocaleString('en')} parameters, ${modelState}); clients' images: MNIST test split`,
  );

  // The bar is opened at the first report, when the total number of iterations is known.
  let bar: ProgressLine | undefined;
  const report = await runAttack({
    spec,
    parameters,
    data: data.test,
    defense: o.defense,
    method: o.method,
    images: o.images,
    batchSize: o.batchSize,
    clients: o.clients,
    epsilon: o.epsilon,
    clipNorm: o.clipNorm,
    knownLabels: o.knownLabels,
    iterations: o.iterations,
    seed: o.seed,
    runtime,
    secaggCrypto: nodeSecAggCrypto(),
    onProgress: (done, total, objective) => {
      bar ??= progressLine('inverting', total);
      bar.update(done, { objective });
    },
  });
  bar?.stop();

  out(`defense ${describeSetting(report)}`);
  const labels =
    report.labels.source === 'unused'
      ? 'no labels needed'
      : `labels ${report.labels.source === 'known' ? 'known (given)' : 'inferred from the last bias gradient (iDLG)'}: ${report.labels.correct}/${report.labels.total} correct`;
  out(
    `attack ${report.method}${report.method === 'optimize' ? ` (${o.iterations} iterations per update, cosine gradient matching + TV prior)` : ' (first-layer rows dW_i / db_i)'}; ${labels}`,
  );
  out('');
  out('image  dataset#  label  PSNR dB   SSIM');
  report.scores.forEach((s, i) =>
    out(
      `${String(i + 1).padStart(5)}  ${String(s.index).padStart(8)}  ${String(s.label).padStart(5)}  ${fmt(s.psnr, 2).padStart(7)}  ${fmt(s.ssim, 3).padStart(6)}`,
    ),
  );
  out(
    `${'mean'.padStart(5)}  ${''.padStart(8)}  ${''.padStart(5)}  ${fmt(report.mean.psnr, 2).padStart(7)}  ${fmt(report.mean.ssim, 3).padStart(6)}`,
  );
  out(
    `(PSNR over the pixel range [0, 1]; SSIM with a ${report.image.ssimWindow}x${report.image.ssimWindow} Gaussian window, sigma 1.5, K1 0.01, K2 0.03)`,
  );

  const dir =
    o.out ??
    join('runs', `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-attack-${o.defense}`);
  const png = join(dir, 'attack.png');
  await writeImageGrid(png, [report.originals, report.reconstructions], {
    width: report.image.width,
    height: report.image.height,
    scale: 3,
  });
  await writeFileAtomic(
    join(dir, 'attack.json'),
    JSON.stringify(
      {
        options: o,
        model: spec.name,
        modelState,
        defense: report.defense,
        method: report.method,
        setting: report.setting,
        labels: report.labels,
        scores: report.scores.map((s) => ({ ...s, psnr: Number.isFinite(s.psnr) ? s.psnr : 'Infinity' })),
        mean: {
          psnr: Number.isFinite(report.mean.psnr) ? report.mean.psnr : 'Infinity',
          ssim: report.mean.ssim,
        },
        seconds: report.seconds,
      },
      null,
      2,
    ) + '\n',
  );
  out(
    `picture: ${png} (top row originals, bottom row reconstructions, 3x); scores: ${join(dir, 'attack.json')}`,
  );
  return { report, dir };
}

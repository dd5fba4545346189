/**
 * `edgefl distill --teacher digits.onnx --student mlp:64 --dataset mnist --out student.onnx`: trains
 * a small student on a teacher's temperature-softened outputs plus the hard labels (Hinton et al.
 * 2015), then reports both models' sizes and test accuracies. The teacher is any classifier .onnx;
 * the student a short spec (mlp:64, mlp:128,64, cnn:8,16,64) or a model .json. Everything that can
 * be checked before training is — the files, the spec, the teacher's classes against the
 * dataset's — and nothing is written unless every step succeeded.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { OnnxTeacher, distill, sgd, studentModel, type ModelSpec } from 'edgefl';
import {
  describeRuntime,
  loadModelSpecFile,
  nodeRuntime,
  readInputFile,
  writeFileAtomic,
} from '@edgefl/node';
import { DATASET_SHAPES, DATASETS, loadNamedDataset } from './datasets.js';
import { floatOption, intOption } from './options.js';
import { checkOutputFile } from './output-paths.js';
import { progressLine, type ProgressLine } from './progress.js';

interface DistillFlags {
  teacher: string;
  student: string;
  dataset: string;
  temperature: number;
  alpha: number;
  epochs?: number;
  steps?: number;
  batchSize: number;
  lr: number;
  momentum: number;
  lrDecay: number;
  seed: number;
  limit?: number;
  threads: number;
  out: string;
}

export function registerDistillCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('distill')
    .description(
      "train a small student on a teacher's softened outputs and the labels (knowledge distillation), and write it as .onnx",
    )
    .requiredOption(
      '--teacher <file>',
      'the teacher: any classifier .onnx (its "logits" output, else its first)',
    )
    .requiredOption(
      '--student <spec|file>',
      'the student: mlp:64, mlp:128,64 (hidden layers), cnn:8,16,64 (two conv layers and a dense one) or a model .json',
    )
    .option('--dataset <name>', `dataset: ${DATASETS.join(', ')}`, 'mnist')
    .option(
      '--temperature <T>',
      "softens both models' logits",
      floatOption('--temperature', { min: 0, exclusiveMin: true }),
      4,
    )
    .option(
      '--alpha <a>',
      "weight of the teacher's term; the labels get 1 - alpha",
      floatOption('--alpha', { min: 0, max: 1 }),
      0.9,
    )
    .option('--epochs <n>', 'passes over the training data (default 1)', intOption('--epochs', 1))
    .option('--steps <n>', 'train a fixed number of steps instead of epochs', intOption('--steps', 1))
    .option('--batch-size <n>', 'samples per step', intOption('--batch-size', 1), 32)
    .option(
      '--lr <x>',
      "SGD learning rate (the teacher's term pushes harder than the labels at first: keep it lower than for plain training)",
      floatOption('--lr', { min: 0, exclusiveMin: true }),
      0.02,
    )
    .option('--momentum <x>', 'SGD momentum', floatOption('--momentum', { min: 0, max: 0.999 }), 0.9)
    .option(
      '--lr-decay <x>',
      'multiply the learning rate by this after every epoch',
      floatOption('--lr-decay', { min: 0, max: 1, exclusiveMin: true }),
      1,
    )
    .option('--seed <n>', "seed of the student's initialization and the shuffling", intOption('--seed', 0), 0)
    .option(
      '--limit <n>',
      'use only the first N training and test samples (quick runs)',
      intOption('--limit', 1),
    )
    .option('--threads <n>', 'ONNX Runtime intra-op threads', intOption('--threads', 1), 1)
    .requiredOption('--out <file>', 'where to write the student .onnx')
    .action(async (flags: DistillFlags) => {
      await runDistill(flags, out);
    });
}

export async function runDistill(
  flags: DistillFlags,
  out: (line: string) => void,
): Promise<{ teacherAccuracy: number; studentAccuracy: number; ratio: number }> {
  const studentFile = isFile(flags.student) || flags.student.endsWith('.json') ? flags.student : undefined;
  checkOutputFile(flags.out, [flags.teacher, ...(studentFile ? [studentFile] : [])]);
  if (flags.epochs !== undefined && flags.steps !== undefined)
    throw new Error('--epochs and --steps: give one (passes over the data, or a fixed number of steps)');
  const shapes = DATASET_SHAPES[flags.dataset as (typeof DATASETS)[number]];
  if (!shapes)
    throw new Error(`--dataset: unknown dataset '${flags.dataset}'; available: ${DATASETS.join(', ')}`);
  const student = await studentSpec(flags, studentFile, shapes);
  const runtime = nodeRuntime({ intraOpNumThreads: flags.threads });
  const teacher = await openTeacher(flags.teacher, runtime);
  try {
    if (teacher.classes !== shapes.classes)
      throw new Error(
        `--teacher ${flags.teacher} scores ${teacher.classes} classes (output '${teacher.outputName}'); ${flags.dataset} has ${shapes.classes}`,
      );
    const data = await loadNamedDataset(flags.dataset, { limit: flags.limit });
    out(`ONNX Runtime: ${describeRuntime(runtime)}`);
    out(
      `edgefl distill: teacher ${flags.teacher} (${fmt(teacher.parameters)} parameters, output '${teacher.outputName}'${teacher.probabilities ? ', probabilities: their log is used' : ''}) -> student ${student.name ?? flags.student} on ${flags.dataset} (${data.train.length} train / ${data.test.length} test), T ${flags.temperature}, alpha ${flags.alpha}`,
    );
    const epochs = flags.steps ? 1 : (flags.epochs ?? 1);
    let bar: ProgressLine | undefined;
    let barEpoch = 0;
    out(`scoring the ${data.train.length} training examples with the teacher`);
    const r = await distill({
      teacher,
      student,
      data: data.train,
      test: data.test,
      temperature: flags.temperature,
      alpha: flags.alpha,
      optimizer: sgd({ lr: flags.lr, momentum: flags.momentum }),
      batchSize: flags.batchSize,
      ...(flags.steps !== undefined ? { steps: flags.steps } : { epochs }),
      lrDecay: flags.lrDecay,
      seed: flags.seed,
      runtime,
      onProgress: (p) => {
        if (p.epoch !== barEpoch) {
          bar?.stop();
          bar = progressLine(`epoch ${p.epoch}/${p.epochs}`, p.totalSteps);
          barEpoch = p.epoch;
        }
        bar!.update(p.step, {
          loss: p.loss,
          acc: p.accuracy ?? NaN,
          'samples/s': Math.round(p.samplesPerSecond),
        });
      },
    });
    bar?.stop();
    r.fits.forEach((f, i) =>
      out(
        `epoch ${i + 1}/${r.fits.length}: distillation loss ${f.loss.toFixed(4)}, train accuracy ${pct(f.accuracy!)}, ${Math.round(f.samples / f.seconds)} samples/s`,
      ),
    );
    const ratio = teacher.parameters / r.studentParameters;
    const behind = 100 * (r.teacherAccuracy! - r.studentAccuracy!);
    out(
      `parameters: teacher ${fmt(teacher.parameters)}, student ${fmt(r.studentParameters)} (${ratio.toFixed(1)}x smaller)`,
    );
    out(
      `test accuracy on ${data.test.length} examples: teacher ${pct(r.teacherAccuracy!)}, student ${pct(r.studentAccuracy!)} (${behind >= 0 ? `${behind.toFixed(2)} points behind` : `${(-behind).toFixed(2)} points ahead`})`,
    );
    await writeFileAtomic(flags.out, r.onnx);
    out(`wrote ${flags.out} (${(r.onnx.length / 1024).toFixed(0)} KiB) in ${r.seconds.toFixed(1)} s`);
    return { teacherAccuracy: r.teacherAccuracy!, studentAccuracy: r.studentAccuracy!, ratio };
  } finally {
    await teacher.release();
  }
}

async function studentSpec(
  flags: DistillFlags,
  file: string | undefined,
  shapes: { featureShape: readonly number[]; classes: number },
): Promise<ModelSpec> {
  if (file) {
    if (!existsSync(file)) throw new Error(`--student ${file}: no such file`);
    const spec = await loadModelSpecFile(file).catch((e) => {
      throw new Error(`--student ${(e as Error).message}`);
    });
    return { ...spec, seed: spec.seed ?? flags.seed };
  }
  try {
    return studentModel(flags.student, {
      inputShape: shapes.featureShape,
      classes: shapes.classes,
      seed: flags.seed,
    });
  } catch (e) {
    throw new Error(`--student ${(e as Error).message.replace(/^student /, '')}`);
  }
}

/** The teacher file as a Teacher, or an error that starts with the flag and names the file. */
async function openTeacher(file: string, runtime: ReturnType<typeof nodeRuntime>): Promise<OnnxTeacher> {
  const bytes = await readInputFile(file, `--teacher ${file}`);
  try {
    return await OnnxTeacher.create(bytes, { runtime, name: file });
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(`--teacher ${message.includes(file) ? message : `${file}: ${message}`}`);
  }
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

const fmt = (n: number) => n.toLocaleString('en');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

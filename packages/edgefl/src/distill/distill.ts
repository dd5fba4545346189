/**
 * Distillation as one call: the teacher (any classifier .onnx) runs over the training data once to
 * give its logits, then the student trains on them (DistillationTrainer), epoch by epoch, and comes
 * back as parameters and as a deployable .onnx, with the figures that say whether it was worth it:
 * both models' parameter counts and, given test data, both accuracies.
 */
import type { OptimizerConfig } from '../autodiff/optimizers.js';
import { sgd } from '../autodiff/optimizers.js';
import { allocateFeatures, type Dataset } from '../data/dataset.js';
import { batchIndices } from '../data/loader.js';
import { exportInferenceModel } from '../model/export.js';
import type { ModelSpec } from '../model/layers.js';
import { classifierAccuracy } from '../optimize/model-bench.js';
import type { FitProgress, FitResult } from '../runtime/trainer.js';
import { requireRuntime, type OrtRuntime } from '../runtime/ort.js';
import type { ParameterSet } from '../tensor/parameters.js';
import { DistillationTrainer } from './trainer.js';
import { OnnxTeacher, storedValues, withTeacherLogits, type Teacher } from './teacher.js';

export interface DistillOptions {
  /** A classifier .onnx (its 'logits' output, else its first), or any Teacher. */
  teacher: Uint8Array | Teacher;
  student: ModelSpec;
  /** Training examples labelled with class indices. */
  data: Dataset;
  /** Held-out examples for the teacher's and the student's accuracy (absent: no accuracy). */
  test?: Dataset;
  /** T (default 4). */
  temperature?: number;
  /** Weight of the teacher's term (default 0.9). */
  alpha?: number;
  /**
   * Default: SGD, lr 0.02, momentum 0.9. At the start the soft term's gradients on the logits are up
   * to alpha · T times the hard term's (a confident teacher, an untrained student): a learning rate
   * that trains on the labels alone can be too high here.
   */
  optimizer?: OptimizerConfig;
  /** Default 32. */
  batchSize?: number;
  /** Passes over the data (default 1), each with its own shuffle (seed · 1000 + epoch), unless `steps`. */
  epochs?: number;
  /** A fixed number of steps instead of epochs (one shuffle seed: seed · 1000 + 1). */
  steps?: number;
  /** Multiply the learning rate by this after every epoch (default 1). */
  lrDecay?: number;
  /** Seed of the shuffling (the student's initialization is its spec's seed); default 0. */
  seed?: number;
  runtime: OrtRuntime;
  onProgress?: (p: FitProgress & { epochs: number }) => void;
}

export interface DistillResult {
  student: ModelSpec;
  parameters: ParameterSet;
  /** The student as an inference .onnx (exportInferenceModel: 'logits' and 'probabilities'). */
  onnx: Uint8Array;
  /** Values stored in each model's initializers (undefined for a teacher that is not an .onnx). */
  teacherParameters?: number;
  studentParameters: number;
  /** One per epoch (one in all with `steps`). */
  fits: FitResult[];
  teacherAccuracy?: number;
  studentAccuracy?: number;
  temperature: number;
  alpha: number;
  seconds: number;
}

export async function distill(o: DistillOptions): Promise<DistillResult> {
  const started = performance.now();
  const runtime = requireRuntime(o?.runtime, 'distill');
  if (o.epochs !== undefined && o.steps !== undefined)
    throw new Error('distill: give epochs or steps, not both');
  const epochs = o.steps !== undefined ? 1 : (o.epochs ?? 1);
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw new Error(`distill: epochs must be >= 1, got ${epochs}`);
  const lrDecay = o.lrDecay ?? 1;
  if (!(lrDecay > 0 && lrDecay <= 1)) throw new Error(`distill: lrDecay must lie in (0, 1], got ${lrDecay}`);
  const optimizer = o.optimizer ?? sgd({ lr: 0.02, momentum: 0.9 });
  const seed = o.seed ?? 0;
  const ownTeacher = o.teacher instanceof Uint8Array;
  const teacher = ownTeacher
    ? await OnnxTeacher.create(o.teacher as Uint8Array, { runtime })
    : (o.teacher as Teacher);
  const trainer = await DistillationTrainer.create(o.student, {
    optimizer,
    temperature: o.temperature,
    alpha: o.alpha,
    runtime,
  }).catch(async (e) => {
    if (ownTeacher) await (teacher as OnnxTeacher).release();
    throw e;
  });
  try {
    if (trainer.classes !== teacher.classes)
      throw new Error(
        `distill: the student scores ${trainer.classes} classes, the teacher ${teacher.classes}`,
      );
    const labelled = withTeacherLogits(o.data, await teacher.logits(o.data), teacher.classes);
    const fits: FitResult[] = [];
    let lr = optimizer.lr;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      fits.push(
        await trainer.fit(labelled, {
          batchSize: o.batchSize ?? 32,
          ...(o.steps !== undefined ? { steps: o.steps } : { epochs: 1 }),
          lr,
          seed: seed * 1000 + epoch,
          onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, epoch, epochs })),
        }),
      );
      lr *= lrDecay;
    }
    const parameters = trainer.getParameters();
    const onnx = exportInferenceModel(o.student, parameters, {
      labels: o.data.classes,
      normalization: o.data.normalization,
      metadata: {
        'edgefl.distilled': JSON.stringify({ temperature: trainer.temperature, alpha: trainer.alpha }),
      },
    });
    const result: DistillResult = {
      student: o.student,
      parameters,
      onnx,
      teacherParameters: teacher instanceof OnnxTeacher ? teacher.parameters : undefined,
      studentParameters: storedValues(onnx),
      fits,
      temperature: trainer.temperature,
      alpha: trainer.alpha,
      seconds: 0,
    };
    if (o.test) {
      result.teacherAccuracy = top1(await teacher.logits(o.test), o.test, teacher.classes);
      result.studentAccuracy = (
        await classifierAccuracy(onnx, runtime, o.test, o.test.length, 'the student')
      ).accuracy;
    }
    result.seconds = (performance.now() - started) / 1000;
    return result;
  } finally {
    await trainer.dispose();
    if (ownTeacher) await (teacher as OnnxTeacher).release();
  }
}

/** Share of examples whose arg-max logit is their class index. */
export function top1(logits: Float32Array, data: Dataset, classes: number): number {
  const chunk = 256;
  const features = allocateFeatures(data, chunk);
  const labels = new Int32Array(chunk);
  let correct = 0;
  for (const idx of batchIndices(data.length, { batchSize: chunk })) {
    data.gather(idx, features, labels);
    idx.forEach((i, k) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
      if (best === labels[k]) correct++;
    });
  }
  return correct / data.length;
}

/**
 * A student's training step under the distillation loss, on the TrainingLoop that runs the
 * Trainer's and DP-SGD's steps. The loss's temperature and weight are compiled into the step
 * (they are graph constants), which is why this holds its own session rather than a Trainer's:
 * the Trainer compiles its loss with class weights only. Batches come from a dataset labelled by
 * withTeacherLogits: rows of [hard label, teacher logits...].
 */
import type { InferenceSession } from 'onnxruntime-common';
import { compileTrainingGraph, type CompiledGraph } from '../autodiff/training-graph.js';
import { distillationSettings } from '../autodiff/losses.js';
import { validateOptimizer, type OptimizerConfig } from '../autodiff/optimizers.js';
import { allocateFeatures, allocateLabels, type Dataset } from '../data/dataset.js';
import { validateDataset } from '../data/validate.js';
import { initialParameters } from '../model/build.js';
import type { ModelSpec } from '../model/layers.js';
import type { FitOptions, FitResult } from '../runtime/trainer.js';
import { requireRuntime, type OrtRuntime } from '../runtime/ort.js';
import { TrainingLoop, type TrainingStep } from '../runtime/training-loop.js';
import { ParameterSet, type ParameterEntry } from '../tensor/parameters.js';
import { Rng } from '../util/rng.js';

export interface DistillationTrainerOptions {
  optimizer: OptimizerConfig;
  /** T, softening both models' logits (default 4). */
  temperature?: number;
  /** Weight of the teacher's term; the hard labels get 1 − alpha (default 0.9). */
  alpha?: number;
  /** Starting parameters; default: the student's seeded initialization. */
  parameters?: ParameterSet;
  runtime: OrtRuntime;
  sessionOptions?: InferenceSession.SessionOptions;
}

export type DistillationFitOptions = Pick<
  FitOptions,
  'epochs' | 'steps' | 'shuffle' | 'seed' | 'lr' | 'onProgress' | 'progressEvery' | 'signal'
> & { batchSize: number };

export class DistillationTrainer {
  private readonly loop: TrainingLoop;
  private readonly step: TrainingStep;
  private readonly rng: Rng;
  private readonly checked = new WeakSet<Dataset>();
  readonly layout: readonly ParameterEntry[];

  private constructor(
    readonly student: ModelSpec,
    readonly temperature: number,
    readonly alpha: number,
    /** Classes the student scores: a label row is 1 + classes long. */
    readonly classes: number,
    private readonly session: InferenceSession,
    compiled: CompiledGraph,
    runtime: OrtRuntime,
    optimizer: OptimizerConfig,
    initial: ParameterSet,
  ) {
    this.layout = initial.entries;
    this.loop = new TrainingLoop(runtime, initial.entries, optimizer, initial.values);
    this.step = {
      session,
      names: compiled.names,
      featureShape: student.inputShape,
      featureType: student.inputType ?? 'float32',
      labelShape: compiled.labelShape.slice(1) as number[],
      labelType: 'float32',
      predictionsPerSample: 1,
    };
    // The Trainer's seeding: the same model and seed shuffle the same way under either.
    this.rng = new Rng((student.seed ?? 0) + 1);
  }

  static async create(student: ModelSpec, o: DistillationTrainerOptions): Promise<DistillationTrainer> {
    const runtime = requireRuntime(o?.runtime, 'DistillationTrainer.create');
    validateOptimizer(o.optimizer);
    const { temperature, alpha } = distillationSettings(o);
    const init = initialParameters(student);
    if (o.parameters) init.assertSameLayout(o.parameters, 'DistillationTrainer.create parameters');
    const compiled = compileTrainingGraph(student, {
      loss: 'distillation',
      optimizer: o.optimizer,
      temperature,
      alpha,
    });
    const classes = (compiled.labelShape[1] as number) - 1;
    const session = await runtime.InferenceSession.create(compiled.bytes, {
      ...runtime.defaultSessionOptions,
      ...o.sessionOptions,
    });
    return new DistillationTrainer(
      student,
      temperature,
      alpha,
      classes,
      session,
      compiled,
      runtime,
      o.optimizer,
      o.parameters ?? init,
    );
  }

  /** A copy of the current parameters. */
  getParameters(): ParameterSet {
    return new ParameterSet(this.layout, this.loop.parameters.slice());
  }

  setParameters(p: ParameterSet | Float32Array): void {
    if (!(p instanceof Float32Array)) new ParameterSet(this.layout).assertSameLayout(p, 'setParameters');
    this.loop.setParameters(p instanceof Float32Array ? p : p.values, 'setParameters');
  }

  resetOptimizerState(): void {
    this.loop.resetOptimizerState();
  }

  /** Trains on a dataset whose labels are [hard label, teacher logits...] (withTeacherLogits). */
  async fit(data: Dataset, o: DistillationFitOptions): Promise<FitResult> {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
      throw new Error(`fit: batchSize must be a positive integer, got ${o.batchSize}`);
    if (data.length === 0) throw new Error('fit: the dataset is empty');
    this.checkData(data);
    const r = await this.loop.run(
      this.step,
      {
        dataset: data,
        batchSize: Math.min(o.batchSize, data.length),
        shuffle: o.shuffle ?? true,
        rng: o.seed !== undefined ? new Rng(o.seed) : this.rng.fork(),
        epochs: o.epochs,
        steps: o.steps,
      },
      { lr: o.lr, onProgress: o.onProgress, progressEvery: o.progressEvery, signal: o.signal },
    );
    return { steps: r.steps, samples: r.samples, loss: r.loss, accuracy: r.accuracy, seconds: r.seconds };
  }

  /** Shapes against the student, then every value: finite features and logits, hard labels in range. */
  private checkData(data: Dataset): void {
    if (this.checked.has(data)) return;
    const want = this.student.inputShape;
    if (data.featureShape.length !== want.length || data.featureShape.some((d, i) => d !== want[i]))
      throw new Error(`fit: samples have shape [${data.featureShape}], the student expects [${want}]`);
    if (data.featureType !== (this.student.inputType ?? 'float32'))
      throw new Error(
        `fit: features are ${data.featureType}, the student expects ${this.student.inputType ?? 'float32'}`,
      );
    const row = 1 + this.classes;
    if (data.labelType !== 'float32' || data.labelShape.length !== 1 || data.labelShape[0] !== row)
      throw new Error(
        `fit: labels are ${data.labelType} [${data.labelShape}]; distillation into ${this.classes} classes needs float32 [${row}] (hard label, then the teacher's logits: withTeacherLogits)`,
      );
    // Finite features and labels; class names, if the data has them, describe the hard labels only.
    validateDataset({
      length: data.length,
      featureShape: data.featureShape,
      featureType: data.featureType,
      labelShape: data.labelShape,
      labelType: data.labelType,
      gather: (indices, features, labels) => data.gather(indices, features, labels),
    });
    const chunk = 1024;
    const features = allocateFeatures(data, chunk);
    const labels = allocateLabels(data, chunk);
    for (let start = 0; start < data.length; start += chunk) {
      const count = Math.min(chunk, data.length - start);
      data.gather(
        Array.from({ length: count }, (_, k) => start + k),
        features,
        labels,
      );
      for (let k = 0; k < count; k++) {
        const y = labels[k * row];
        if (!(Number.isInteger(y) && y >= 0 && y < this.classes))
          throw new Error(
            `fit: sample ${start + k}: hard label ${y} is not a class index in [0, ${this.classes})`,
          );
      }
    }
    this.checked.add(data);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

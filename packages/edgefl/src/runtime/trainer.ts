/**
 * Trainer: a model's compiled training step on ONNX Runtime.
 *
 * One session per compiled graph (plain, and with FedProx's proximal term), created once and reused
 * for every step; the steps themselves run on the TrainingLoop, which holds the parameters and
 * optimizer state. The Trainer checks data against the model and evaluates.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import {
  compileEvaluationGraph,
  compileTrainingGraph,
  type CompiledGraph,
} from '../autodiff/training-graph.js';
import type { LossName } from '../autodiff/losses.js';
import { validateOptimizer, type OptimizerConfig } from '../autodiff/optimizers.js';
import { BatchBuffer, batchIndices, type Batch } from '../data/loader.js';
import type { Dataset } from '../data/dataset.js';
import { validateDataset } from '../data/validate.js';
import type { ModelSpec } from '../model/layers.js';
import { initialParameters } from '../model/build.js';
import { ParameterSet, type ParameterEntry } from '../tensor/parameters.js';
import { Rng } from '../util/rng.js';
import { requireRuntime, type OrtRuntime } from './ort.js';
import { TrainingLoop, tensorViews, type FitProgress, type TrainingStep } from './training-loop.js';

export { TrainingDivergedError, type FitProgress } from './training-loop.js';

export interface TrainerOptions {
  loss: LossName;
  optimizer: OptimizerConfig;
  classWeights?: readonly number[];
  /** Starting parameters; default: the model's seeded initialization. */
  parameters?: ParameterSet;
  /** The ONNX Runtime to train on: nodeRuntime() from '@edgefl/node', or webRuntime(ort) from 'edgefl/web'. */
  runtime: OrtRuntime;
  sessionOptions?: InferenceSession.SessionOptions;
}

export interface FitOptions {
  /** Samples per step (required when training on a Dataset; a BatchSource brings its own). */
  batchSize?: number;
  /** Full passes over the data (default 1), unless `steps` is given. */
  epochs?: number;
  /** A fixed number of local steps instead of epochs (cycling through reshuffled epochs). */
  steps?: number;
  shuffle?: boolean;
  /** Seed of the shuffling; default: a fresh stream of the trainer's own generator. */
  seed?: number;
  /** Learning rate for this fit (default: the optimizer's). */
  lr?: number;
  /**
   * FedProx: adds mu/2 ||w - reference||^2 to the loss for this fit. The reference must not change
   * during the fit; one in shared memory (a worker's global model) is copied at its start.
   */
  proximal?: { mu: number; reference: Float32Array };
  onProgress?: (p: FitProgress) => void;
  /** How often onProgress is called, in steps (default: about 100 times per fit). */
  progressEvery?: number;
  signal?: AbortSignal;
}

export interface FitResult {
  steps: number;
  samples: number;
  loss: number;
  accuracy: number | undefined;
  seconds: number;
}

export interface EvaluateResult {
  loss: number;
  accuracy: number | undefined;
  count: number;
}

interface TrainSession {
  compiled: CompiledGraph;
  session: InferenceSession;
}

export class Trainer {
  private readonly loop: TrainingLoop;
  private readonly sessions = new Map<string, Promise<TrainSession>>();
  private evalSession?: Promise<TrainSession>;
  private readonly validated = new WeakSet<Dataset>();
  private readonly rng: Rng;
  readonly layout: readonly ParameterEntry[];
  readonly slots: readonly string[];

  private constructor(
    readonly model: ModelSpec,
    readonly options: TrainerOptions,
    readonly runtime: OrtRuntime,
    initial: ParameterSet,
    readonly outputClasses: number,
  ) {
    this.layout = initial.entries;
    this.loop = new TrainingLoop(runtime, initial.entries, options.optimizer, initial.values);
    this.slots = this.loop.slots;
    this.rng = new Rng((model.seed ?? 0) + 1);
  }

  static async create(model: ModelSpec, options: TrainerOptions): Promise<Trainer> {
    const runtime = requireRuntime(options?.runtime, 'Trainer.create');
    validateOptimizer(options.optimizer);
    const init = initialParameters(model);
    if (options.parameters) init.assertSameLayout(options.parameters, 'Trainer.create parameters');
    const trainer = new Trainer(model, options, runtime, options.parameters ?? init, 0);
    // Compile the plain training step now, so model errors surface at creation.
    const s = await trainer.trainSession(false);
    const out = s.compiled;
    (trainer as { outputClasses: number }).outputClasses = out.labelType === 'int32' ? classesOf(out) : 0;
    return trainer;
  }

  private sessionOptions(): InferenceSession.SessionOptions {
    return { ...this.runtime.defaultSessionOptions, ...this.options.sessionOptions };
  }

  private trainSession(proximal: boolean): Promise<TrainSession> {
    const key = proximal ? 'prox' : 'plain';
    let s = this.sessions.get(key);
    if (!s) {
      s = (async () => {
        const compiled = compileTrainingGraph(this.model, {
          loss: this.options.loss,
          optimizer: this.options.optimizer,
          proximal,
          classWeights: this.options.classWeights,
        });
        const session = await this.runtime.InferenceSession.create(compiled.bytes, this.sessionOptions());
        return { compiled, session };
      })();
      this.sessions.set(key, s);
    }
    return s;
  }

  private evaluationSession(): Promise<TrainSession> {
    this.evalSession ??= (async () => {
      const compiled = compileEvaluationGraph(this.model, {
        loss: this.options.loss,
        classWeights: this.options.classWeights,
      });
      const session = await this.runtime.InferenceSession.create(compiled.bytes, this.sessionOptions());
      return { compiled, session };
    })();
    return this.evalSession;
  }

  /** A copy of the current parameters. */
  getParameters(): ParameterSet {
    return new ParameterSet(this.layout, this.loop.parameters.slice());
  }

  /** Replaces the parameters (e.g. with the global model of a federated round). */
  setParameters(p: ParameterSet | Float32Array): void {
    if (!(p instanceof Float32Array)) new ParameterSet(this.layout).assertSameLayout(p, 'setParameters');
    this.loop.setParameters(p instanceof Float32Array ? p : p.values, 'setParameters');
  }

  /** Optimizer state (momentum, Adam moments) and update count, for checkpoints. */
  getOptimizerState(): { slots: readonly string[]; values: Float32Array; updates: number } {
    return this.loop.getOptimizerState();
  }

  setOptimizerState(s: { values: Float32Array; updates: number }): void {
    this.loop.setOptimizerState(s);
  }

  resetOptimizerState(): void {
    this.loop.resetOptimizerState();
  }

  private checkData(ds: Dataset, compiled: CompiledGraph, what: string): void {
    if (this.validated.has(ds)) return;
    const want = this.model.inputShape;
    if (ds.featureShape.length !== want.length || ds.featureShape.some((d, i) => d !== want[i]))
      throw new Error(`${what}: samples have shape [${ds.featureShape}], the model expects [${want}]`);
    if (ds.featureType !== (this.model.inputType ?? 'float32'))
      throw new Error(
        `${what}: features are ${ds.featureType}, the model expects ${this.model.inputType ?? 'float32'}`,
      );
    const labelShape = compiled.labelShape.slice(1);
    if (ds.labelShape.length !== labelShape.length || ds.labelShape.some((d, i) => d !== labelShape[i]))
      throw new Error(
        `${what}: labels have shape [${ds.labelShape}], the ${this.options.loss} loss on this model needs [${labelShape}]`,
      );
    if (ds.labelType !== compiled.labelType)
      throw new Error(
        `${what}: labels are ${ds.labelType}, the ${this.options.loss} loss needs ${compiled.labelType}`,
      );
    const numTokens = this.model.inputType === 'int32' ? embeddingVocab(this.model) : undefined;
    validateDataset(ds, {
      numClasses: compiled.labelType === 'int32' ? this.outputClasses : undefined,
      numTokens,
    });
    this.validated.add(ds);
  }

  /**
   * Trains on a Dataset (batched, shuffled and validated here) or on any source of ready-made
   * typed-array batches (an iterable or async iterable, e.g. a stream from disk or a sensor; each
   * batch is checked as it arrives).
   */
  async fit(data: Dataset | BatchSource, o: FitOptions): Promise<FitResult> {
    const isDataset = isDatasetLike(data);
    if (isDataset && (!Number.isInteger(o.batchSize) || o.batchSize! < 1))
      throw new Error(`fit: batchSize must be a positive integer, got ${o.batchSize}`);
    if (o.steps !== undefined && (!Number.isInteger(o.steps) || o.steps < 0))
      throw new Error(`fit: steps must be a non-negative integer, got ${o.steps}`);
    if (o.epochs !== undefined && (!Number.isInteger(o.epochs) || o.epochs < 0))
      throw new Error(`fit: epochs must be a non-negative integer, got ${o.epochs}`);
    if (isDataset && data.length === 0) throw new Error('fit: the dataset is empty');
    const prox = o.proximal;
    if (prox) {
      if (!(prox.mu >= 0)) throw new Error(`fit: proximal mu must be >= 0, got ${prox.mu}`);
      if (prox.reference.length !== this.loop.size)
        throw new Error(
          `fit: proximal reference has ${prox.reference.length} values, the model has ${this.loop.size}`,
        );
    }
    const { compiled, session } = await this.trainSession(!!prox);
    if (isDataset) this.checkData(data, compiled, 'fit');
    // Drawn for every fit, a stream's too, so that the shuffling of later fits does not depend on
    // where this one's data came from.
    const rng = o.seed !== undefined ? new Rng(o.seed) : this.rng.fork();
    const n = compiled.names;
    const r = await this.loop.run(
      this.stepOf(compiled, session),
      isDataset
        ? {
            dataset: data,
            batchSize: Math.min(o.batchSize!, data.length),
            shuffle: o.shuffle ?? true,
            rng,
            epochs: o.epochs,
            steps: o.steps,
          }
        : { source: checkedBatches(data, this.model, compiled, this.outputClasses), steps: o.steps },
      {
        lr: o.lr,
        onProgress: o.onProgress,
        progressEvery: o.progressEvery,
        signal: o.signal,
        ...(prox && {
          scalars: { [n.proxMu!]: prox.mu },
          parameterInputs: [{ names: n.proxRef, values: prox.reference }],
        }),
      },
    );
    return { steps: r.steps, samples: r.samples, loss: r.loss, accuracy: r.accuracy, seconds: r.seconds };
  }

  private stepOf(compiled: CompiledGraph, session: InferenceSession): TrainingStep {
    return {
      session,
      names: compiled.names,
      featureShape: this.model.inputShape,
      featureType: this.model.inputType ?? 'float32',
      labelShape: compiled.labelShape.slice(1) as number[],
      labelType: compiled.labelType,
      predictionsPerSample: compiled.predictionsPerSample,
    };
  }

  /** Loss and accuracy of the current parameters on a dataset (inference mode: no dropout). */
  async evaluate(data: Dataset, o: { batchSize?: number } = {}): Promise<EvaluateResult> {
    const { compiled } = await this.evaluationSession();
    const n = compiled.names;
    let lossSum = 0;
    let correctSum = 0;
    let count = 0;
    await this.inferBatches(
      data,
      o.batchSize,
      n.correct ? [n.loss, n.correct] : [n.loss],
      'evaluate',
      (out, size) => {
        lossSum += (out[n.loss].data as Float32Array)[0] * size;
        if (n.correct) correctSum += (out[n.correct].data as Float32Array)[0];
        count += size;
      },
    );
    return {
      loss: lossSum / count,
      accuracy: n.correct ? correctSum / (count * compiled.predictionsPerSample) : undefined,
      count,
    };
  }

  /**
   * The model's outputs (logits for a classifier) for every sample of a dataset with the current
   * parameters, sample after sample: the scores to rank by, threshold or draw curves from.
   */
  async predict(data: Dataset, o: { batchSize?: number } = {}): Promise<Float32Array> {
    const { compiled } = await this.evaluationSession();
    const perSample = compiled.outputShape.slice(1).reduce((a: number, d) => a * (d as number), 1);
    const outputs = new Float32Array(data.length * perSample);
    let at = 0;
    await this.inferBatches(data, o.batchSize, ['output'], 'predict', (out) => {
      const values = out.output.data as Float32Array;
      outputs.set(values, at);
      at += values.length;
    });
    return outputs;
  }

  /** Runs the evaluation graph over a dataset in batches, handing each batch's fetched outputs on. */
  private async inferBatches(
    data: Dataset,
    batchSize: number | undefined,
    fetchNames: string[],
    what: string,
    onBatch: (out: InferenceSession.OnnxValueMapType, size: number) => void,
  ): Promise<void> {
    const { compiled, session } = await this.evaluationSession();
    this.checkData(data, compiled, what);
    // 256 keeps evaluation activations (and so the session arena) small even for convolutional models.
    const size = Math.min(batchSize ?? 256, data.length);
    const buffer = new BatchBuffer(data, size);
    const T = this.runtime.Tensor;
    const n = compiled.names;
    const feeds: Record<string, Tensor> = {};
    const params = tensorViews(T, this.loop.parameters, this.layout);
    n.params.forEach((name, i) => (feeds[name] = params[i]));
    const labelShape = compiled.labelShape.slice(1) as number[];
    for (const idx of batchIndices(data.length, { batchSize: size })) {
      const b = buffer.gather(idx);
      feeds[n.input] = new T(data.featureType, b.features, [b.size, ...data.featureShape]);
      feeds[n.labels] = new T(compiled.labelType, b.labels, [b.size, ...labelShape]);
      onBatch(await session.run(feeds, fetchNames), b.size);
    }
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values(), ...(this.evalSession ? [this.evalSession] : [])];
    for (const s of all) await (await s).session.release();
    this.sessions.clear();
    this.evalSession = undefined;
  }
}

/** A source of ready-made batches: features and labels laid out sample after sample. */
export type BatchSource = Iterable<Batch> | AsyncIterable<Batch>;

function isDatasetLike(d: Dataset | BatchSource): d is Dataset {
  return typeof (d as Dataset).gather === 'function';
}

/** Batches from a caller's source, each checked for layout, NaN/Inf features and label range. */
async function* checkedBatches(
  source: BatchSource,
  spec: ModelSpec,
  c: CompiledGraph,
  classes: number,
): AsyncGenerator<Batch> {
  const featureSize = spec.inputShape.reduce((a, b) => a * b, 1);
  const labelSize = (c.labelShape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const wantFeatures = spec.inputType === 'int32' ? Int32Array : Float32Array;
  const wantLabels = c.labelType === 'int32' ? Int32Array : Float32Array;
  let k = 0;
  for await (const b of source) {
    const where = `fit: batch ${k}`;
    if (!Number.isInteger(b.size) || b.size < 1)
      throw new Error(`${where}: size must be a positive integer, got ${b.size}`);
    if (!(b.features instanceof wantFeatures))
      throw new Error(`${where}: features must be a ${wantFeatures.name}`);
    if (!(b.labels instanceof wantLabels)) throw new Error(`${where}: labels must be a ${wantLabels.name}`);
    if (b.features.length !== b.size * featureSize)
      throw new Error(
        `${where}: ${b.features.length} feature values for ${b.size} samples of shape [${spec.inputShape}]`,
      );
    if (b.labels.length !== b.size * labelSize)
      throw new Error(`${where}: ${b.labels.length} labels for ${b.size} samples`);
    if (b.features instanceof Float32Array)
      for (let i = 0; i < b.features.length; i++)
        if (!Number.isFinite(b.features[i]))
          throw new Error(
            `${where}: sample ${Math.floor(i / featureSize)} has feature ${b.features[i]} at ${i % featureSize}`,
          );
    if (c.labelType === 'int32')
      for (let i = 0; i < b.labels.length; i++)
        if (b.labels[i] < 0 || b.labels[i] >= classes)
          throw new Error(
            `${where}: label ${b.labels[i]} of sample ${Math.floor(i / labelSize)} is not a class index in [0, ${classes})`,
          );
    yield b;
    k++;
  }
}

/** Number of classes of a classifier: the last axis of its output. */
function classesOf(c: CompiledGraph): number {
  return c.outputShape[c.outputShape.length - 1] as number;
}

function embeddingVocab(spec: ModelSpec): number | undefined {
  const first = spec.layers[0];
  return first && first.type === 'embedding' ? first.vocabSize : undefined;
}

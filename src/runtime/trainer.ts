/**
 * Trainer: runs a model's compiled training step on ONNX Runtime.
 *
 * One session per compiled graph, created once and reused for every step; parameters and optimizer
 * state live in two flat Float32Arrays each (current and next). A step feeds views of the current
 * arrays and — where the runtime honours preallocated outputs — has ONNX Runtime write the updated
 * values straight into views of the next arrays; then the two swap. No per-step allocation of
 * parameter-sized buffers and no per-step graph rebuilds.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import {
  compileEvaluationGraph,
  compileTrainingGraph,
  type CompiledGraph,
} from '../autodiff/training-graph.js';
import type { LossName } from '../autodiff/losses.js';
import {
  hyperParameterValues,
  stateSlots,
  validateOptimizer,
  type OptimizerConfig,
} from '../autodiff/optimizers.js';
import { BatchBuffer, batchIndices, type Batch } from '../data/loader.js';
import type { Dataset } from '../data/dataset.js';
import { validateDataset } from '../data/validate.js';
import type { ModelSpec } from '../model/layers.js';
import { initialParameters } from '../model/build.js';
import { ParameterSet, type ParameterEntry } from '../tensor/parameters.js';
import { Rng } from '../util/rng.js';
import { getDefaultRuntime, type OrtRuntime } from './ort.js';

export interface TrainerOptions {
  loss: LossName;
  optimizer: OptimizerConfig;
  classWeights?: readonly number[];
  /** Starting parameters; default: the model's seeded initialization. */
  parameters?: ParameterSet;
  runtime?: OrtRuntime;
  sessionOptions?: InferenceSession.SessionOptions;
}

export interface FitProgress {
  epoch: number;
  step: number;
  totalSteps: number;
  samples: number;
  /** Mean loss and accuracy over this fit so far. */
  loss: number;
  accuracy: number | undefined;
  samplesPerSecond: number;
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
  /** FedProx: adds mu/2 ||w - reference||^2 to the loss for this fit. */
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

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

interface TrainSession {
  compiled: CompiledGraph;
  session: InferenceSession;
}

export class Trainer {
  private params: Float32Array;
  private paramsNext: Float32Array;
  private states: Float32Array;
  private statesNext: Float32Array;
  private readonly sessions = new Map<string, Promise<TrainSession>>();
  private evalSession?: Promise<TrainSession>;
  private readonly validated = new WeakSet<Dataset>();
  private updates = 0;
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
    this.params = Float32Array.from(initial.values);
    this.paramsNext = new Float32Array(initial.size);
    this.slots = stateSlots(options.optimizer);
    this.states = new Float32Array(initial.size * this.slots.length);
    this.statesNext = new Float32Array(initial.size * this.slots.length);
    this.rng = new Rng((model.seed ?? 0) + 1);
  }

  static async create(model: ModelSpec, options: TrainerOptions): Promise<Trainer> {
    validateOptimizer(options.optimizer);
    const runtime = options.runtime ?? getDefaultRuntime();
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
    return new ParameterSet(this.layout, Float32Array.from(this.params));
  }

  /** Replaces the parameters (e.g. with the global model of a federated round). */
  setParameters(p: ParameterSet | Float32Array): void {
    const values = p instanceof Float32Array ? p : p.values;
    if (!(p instanceof Float32Array)) new ParameterSet(this.layout).assertSameLayout(p, 'setParameters');
    if (values.length !== this.params.length)
      throw new Error(
        `setParameters: ${values.length} values, the model has ${this.params.length} parameters`,
      );
    for (let i = 0; i < values.length; i++)
      if (!Number.isFinite(values[i]))
        throw new Error(
          `setParameters: value ${i} (${paramAt(this.layout, i)}) is ${values[i]}; refusing non-finite parameters`,
        );
    this.params.set(values);
  }

  /** Optimizer state (momentum, Adam moments) and update count, for checkpoints. */
  getOptimizerState(): { slots: readonly string[]; values: Float32Array; updates: number } {
    return { slots: this.slots, values: Float32Array.from(this.states), updates: this.updates };
  }

  setOptimizerState(s: { values: Float32Array; updates: number }): void {
    if (s.values.length !== this.states.length)
      throw new Error(`setOptimizerState: ${s.values.length} values, expected ${this.states.length}`);
    this.states.set(s.values);
    this.updates = s.updates;
  }

  resetOptimizerState(): void {
    this.states.fill(0);
    this.updates = 0;
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
      if (prox.reference.length !== this.params.length)
        throw new Error(
          `fit: proximal reference has ${prox.reference.length} values, the model has ${this.params.length}`,
        );
    }
    const { compiled, session } = await this.trainSession(!!prox);
    if (isDataset) this.checkData(data, compiled, 'fit');

    const batchSize = isDataset ? Math.min(o.batchSize!, data.length) : 0;
    const totalSteps = isDataset
      ? (o.steps ?? Math.ceil(data.length / batchSize) * (o.epochs ?? 1))
      : (o.steps ?? Infinity);
    const rng = o.seed !== undefined ? new Rng(o.seed) : this.rng.fork();
    const featureType = isDataset ? data.featureType : (this.model.inputType ?? 'float32');
    const batches = isDataset
      ? datasetBatches(data, batchSize, o.shuffle ?? true, rng)
      : checkedBatches(data, this.model, compiled, this.outputClasses);
    const T = this.runtime.Tensor;
    const n = compiled.names;
    const preallocate = this.runtime.supportsPreallocatedOutputs;

    // Tensors over views of the flat arrays, built once per fit for both halves of the ping-pong.
    const paramTensors = (flat: Float32Array) => n.params.map((_, i) => tensorView(T, flat, this.layout[i]));
    const stateTensors = (flat: Float32Array) =>
      this.slots.map((_, s) =>
        n.params.map((__, i) => tensorView(T, flat, this.layout[i], s * this.params.length)),
      );
    let cur = {
      params: this.params,
      states: this.states,
      pt: paramTensors(this.params),
      st: stateTensors(this.states),
    };
    let nxt = {
      params: this.paramsNext,
      states: this.statesNext,
      pt: paramTensors(this.paramsNext),
      st: stateTensors(this.statesNext),
    };
    const startParams = Float32Array.from(this.params);
    const startStates = Float32Array.from(this.states);
    const startUpdates = this.updates;

    const fixedFeeds: Record<string, Tensor> = {};
    if (prox) {
      fixedFeeds[n.proxMu!] = new T('float32', Float32Array.of(prox.mu), []);
      n.proxRef.forEach((name, i) => (fixedFeeds[name] = tensorView(T, prox.reference, this.layout[i])));
    }
    const hyperTensors = n.hyper.map(() => new T('float32', new Float32Array(1), []));
    n.hyper.forEach((h, i) => (fixedFeeds[h] = hyperTensors[i]));
    const lossOut = new T('float32', new Float32Array(1), []);
    const correctOut = new T('float32', new Float32Array(1), []);
    // Feeds and fetches for both directions of the ping-pong, built once: a step only swaps them.
    const plan = (from: typeof cur, to: typeof cur) => {
      const feeds: Record<string, Tensor> = { ...fixedFeeds };
      n.params.forEach((name, i) => (feeds[name] = from.pt[i]));
      n.states.forEach((row, s) => row.forEach((name, i) => (feeds[name] = from.st[s][i])));
      const fetches: Record<string, Tensor> = { [n.loss]: lossOut };
      if (n.correct) fetches[n.correct] = correctOut;
      n.paramsOut.forEach((name, i) => (fetches[name] = to.pt[i]));
      n.statesOut.forEach((row, s) => row.forEach((name, i) => (fetches[name] = to.st[s][i])));
      return { feeds, fetches };
    };
    let [curPlan, nxtPlan] = [plan(cur, nxt), plan(nxt, cur)];
    const fetchNames = Object.keys(curPlan.fetches);
    const featureShape = [...this.model.inputShape];
    const labelShape = compiled.labelShape.slice(1) as number[];
    let fullInput: Tensor | undefined;
    let fullLabels: Tensor | undefined;

    let steps = 0;
    let samples = 0;
    let lossSum = 0;
    let correctSum = 0;
    const started = performance.now();
    const every =
      o.progressEvery ?? (Number.isFinite(totalSteps) ? Math.max(1, Math.floor(totalSteps / 100)) : 10);
    let epoch = 0;
    try {
      for await (const [batch, batchEpoch] of batches) {
        if (steps >= totalSteps) break;
        if (o.signal?.aborted) throw new Error('fit: aborted');
        epoch = batchEpoch;
        let input: Tensor;
        let labels: Tensor;
        if (isDataset && batch.size === batchSize) {
          // The batch buffer is reused, so the full-batch tensors are too.
          fullInput ??= new T(featureType, batch.features, [batchSize, ...featureShape]);
          fullLabels ??= new T(compiled.labelType, batch.labels, [batchSize, ...labelShape]);
          [input, labels] = [fullInput, fullLabels];
        } else {
          input = new T(featureType, batch.features, [batch.size, ...featureShape]);
          labels = new T(compiled.labelType, batch.labels, [batch.size, ...labelShape]);
        }
        this.updates++;
        const hv = hyperParameterValues(this.options.optimizer, this.updates, o.lr);
        hv.forEach((v, i) => ((hyperTensors[i].data as Float32Array)[0] = v));
        const { feeds, fetches } = curPlan;
        feeds[n.input] = input;
        feeds[n.labels] = labels;
        let loss: number;
        let correct = 0;
        if (preallocate) {
          await session.run(feeds, fetches);
          loss = (lossOut.data as Float32Array)[0];
          if (n.correct) correct = (correctOut.data as Float32Array)[0];
        } else {
          const out = await session.run(feeds, fetchNames);
          loss = (out[n.loss].data as Float32Array)[0];
          if (n.correct) correct = (out[n.correct].data as Float32Array)[0];
          n.paramsOut.forEach((name, i) =>
            nxt.params.set(out[name].data as Float32Array, this.layout[i].offset),
          );
          n.statesOut.forEach((row, s) =>
            row.forEach((name, i) =>
              nxt.states.set(out[name].data as Float32Array, s * this.params.length + this.layout[i].offset),
            ),
          );
        }
        if (!Number.isFinite(loss))
          throw new TrainingDivergedError(
            `training diverged at step ${steps + 1} (loss ${loss}); the parameters were restored to their values before this fit — lower the learning rate (now ${o.lr ?? this.options.optimizer.lr}) or check the data`,
          );
        [cur, nxt] = [nxt, cur];
        [curPlan, nxtPlan] = [nxtPlan, curPlan];
        steps++;
        samples += batch.size;
        lossSum += loss * batch.size;
        correctSum += correct;
        if (o.onProgress && (steps % every === 0 || steps === totalSteps))
          o.onProgress(
            this.progress(epoch, steps, totalSteps, samples, lossSum, correctSum, compiled, started),
          );
      }
      epoch++;
    } catch (e) {
      // Lose nothing: a failed or diverged fit leaves the trainer as it was before it.
      cur.params.set(startParams);
      cur.states.set(startStates);
      this.updates = startUpdates;
      throw e;
    } finally {
      this.params = cur.params;
      this.states = cur.states;
      this.paramsNext = nxt.params;
      this.statesNext = nxt.states;
    }
    const p = this.progress(epoch, steps, totalSteps, samples, lossSum, correctSum, compiled, started);
    return {
      steps,
      samples,
      loss: p.loss,
      accuracy: p.accuracy,
      seconds: (performance.now() - started) / 1000,
    };
  }

  private progress(
    epoch: number,
    step: number,
    totalSteps: number,
    samples: number,
    lossSum: number,
    correctSum: number,
    c: CompiledGraph,
    started: number,
  ): FitProgress {
    const seconds = (performance.now() - started) / 1000;
    return {
      epoch,
      step,
      totalSteps,
      samples,
      loss: samples ? lossSum / samples : NaN,
      accuracy: c.names.correct && samples ? correctSum / (samples * c.predictionsPerSample) : undefined,
      samplesPerSecond: seconds > 0 ? samples / seconds : 0,
    };
  }

  /** Loss and accuracy of the current parameters on a dataset (inference mode: no dropout). */
  async evaluate(data: Dataset, o: { batchSize?: number } = {}): Promise<EvaluateResult> {
    const { compiled, session } = await this.evaluationSession();
    this.checkData(data, compiled, 'evaluate');
    // 256 keeps evaluation activations (and so the session arena) small even for convolutional models.
    const batchSize = Math.min(o.batchSize ?? 256, data.length);
    const buffer = new BatchBuffer(data, batchSize);
    const T = this.runtime.Tensor;
    const n = compiled.names;
    const feeds: Record<string, Tensor> = {};
    n.params.forEach((name, i) => (feeds[name] = tensorView(T, this.params, this.layout[i])));
    const labelShape = compiled.labelShape.slice(1) as number[];
    let lossSum = 0;
    let correctSum = 0;
    let count = 0;
    const fetchNames = n.correct ? [n.loss, n.correct] : [n.loss];
    for (const idx of batchIndices(data.length, { batchSize })) {
      const b = buffer.gather(idx);
      feeds[n.input] = new T(data.featureType, b.features, [b.size, ...data.featureShape]);
      feeds[n.labels] = new T(compiled.labelType, b.labels, [b.size, ...labelShape]);
      const out = await session.run(feeds, fetchNames);
      lossSum += (out[n.loss].data as Float32Array)[0] * b.size;
      if (n.correct) correctSum += (out[n.correct].data as Float32Array)[0];
      count += b.size;
    }
    return {
      loss: lossSum / count,
      accuracy: n.correct ? correctSum / (count * compiled.predictionsPerSample) : undefined,
      count,
    };
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

/** Epochs of shuffled batches gathered into one reused buffer, tagged with their epoch. */
function* datasetBatches(
  data: Dataset,
  batchSize: number,
  shuffle: boolean,
  rng: Rng,
): Generator<[Batch, number]> {
  const buffer = new BatchBuffer(data, batchSize);
  for (let epoch = 0; ; epoch++)
    for (const idx of batchIndices(data.length, { batchSize, shuffle, rng }))
      yield [buffer.gather(idx), epoch];
}

/** Batches from a caller's source, each checked for layout, NaN/Inf features and label range. */
async function* checkedBatches(
  source: BatchSource,
  spec: ModelSpec,
  c: CompiledGraph,
  classes: number,
): AsyncGenerator<[Batch, number]> {
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
    yield [b, 0];
    k++;
  }
}

function tensorView(T: typeof Tensor, flat: Float32Array, e: ParameterEntry, base = 0): Tensor {
  return new T('float32', flat.subarray(base + e.offset, base + e.offset + e.size), [...e.shape]);
}

/** Number of classes of a classifier: the last axis of its output. */
function classesOf(c: CompiledGraph): number {
  return c.outputShape[c.outputShape.length - 1] as number;
}

function paramAt(layout: readonly ParameterEntry[], i: number): string {
  const e = layout.find((p) => i >= p.offset && i < p.offset + p.size);
  return e ? `${e.name}[${i - e.offset}]` : `#${i}`;
}

function embeddingVocab(spec: ModelSpec): number | undefined {
  const first = spec.layers[0];
  return first && first.type === 'embedding' ? first.vocabSize : undefined;
}

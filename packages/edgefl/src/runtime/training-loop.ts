/**
 * The training loop: runs any compiled training step — the Trainer's, DP-SGD's — over batches.
 *
 * It owns what every step has in common: the flat parameter and optimizer-state arrays, the
 * batches (shuffled epochs of a Dataset, or a stream of ready-made batches), the optimizer's
 * hyper-parameter inputs, the divergence check and the restore that goes with it, progress reports
 * and the metrics of a run. What belongs to one kind of step comes in as extras: scalar and
 * per-parameter inputs fixed for the run (FedProx's mu and reference, DP-SGD's clip norm), a hook
 * before each step (DP-SGD's fresh noise) and after it (DP-SGD's accountant), and scalar outputs to
 * sum (DP-SGD's clipped count).
 *
 * Parameters and optimizer state live in two flat Float32Arrays each (current and next). A step
 * feeds views of the current arrays and — where the runtime honours preallocated outputs — has ONNX
 * Runtime write the updated values straight into views of the next arrays; then the two swap. The
 * tensors, feeds and fetches of both directions are built once per run: a step allocates no
 * parameter-sized buffer, no tensor over one and no feed object.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { hyperParameterValues, stateSlots, type OptimizerConfig } from '../autodiff/optimizers.js';
import type { Dataset, ElementType } from '../data/dataset.js';
import { BatchBuffer, batchCount, batchIndices, type Batch } from '../data/loader.js';
import type { ParameterEntry } from '../tensor/parameters.js';
import type { Rng } from '../util/rng.js';
import { unshared, type OrtRuntime } from './ort.js';
import { firstNonFinite } from '../tensor/math.js';

/**
 * The graph names a training step must have. The training graph's (`CompiledGraph`) and the DP-SGD
 * graph's names are both of this shape, with their own extra inputs and outputs besides.
 */
export interface TrainingStepNames {
  input: string;
  labels: string;
  /** Outputs: the batch's mean loss and, for classifiers, its number of correct predictions. */
  loss: string;
  correct?: string;
  params: readonly string[];
  paramsOut: readonly string[];
  /** Optimizer state inputs and outputs, [slot][parameter]. */
  states: readonly (readonly string[])[];
  statesOut: readonly (readonly string[])[];
  hyper: readonly string[];
}

/** A compiled training step in its session, and the shape of the batches it takes. */
export interface TrainingStep {
  session: InferenceSession;
  names: TrainingStepNames;
  /** One sample's features and label. */
  featureShape: readonly number[];
  featureType: ElementType;
  labelShape: readonly number[];
  labelType: ElementType;
  /** Predictions the `correct` output counts per sample (one per position for sequence models). */
  predictionsPerSample: number;
}

/** Where a run's batches come from. */
export type TrainingBatches =
  | {
      /** Shuffled (or in-order) epochs of a dataset, gathered into one reused buffer. */
      dataset: Dataset;
      batchSize: number;
      shuffle: boolean;
      rng: Rng;
      /** Full passes (default 1), unless `steps` is given: then epochs follow each other until it. */
      epochs?: number;
      steps?: number;
    }
  | {
      /**
       * Ready-made batches (checked by the caller), e.g. a stream from disk or DP-SGD's Poisson
       * samples. Batches of size 0 are run but count for no metric and no divergence check.
       */
      source: Iterable<Batch> | AsyncIterable<Batch>;
      /** At most this many steps (default: until the source ends). */
      steps?: number;
    };

/** What a kind of training step feeds and reads besides what every step does. */
export interface StepExtras {
  /** Scalar float inputs, fixed for the run. */
  scalars?: Readonly<Record<string, number>>;
  /**
   * Inputs with one tensor per parameter (same shapes), read from a flat array in the parameter
   * layout. The array may be refilled in place between steps (by `beforeStep`) — unless it lies in
   * shared memory: then it is copied once, at the start of the run (ONNX Runtime refuses it).
   */
  parameterInputs?: readonly { names: readonly string[]; values: Float32Array }[];
  /** Called before each step with the number of the update it makes (1, 2, ... over the loop's life). */
  beforeStep?: (update: number) => void;
  /** Called after each step that completed. */
  afterStep?: () => void;
  /** Scalar outputs summed over the run's non-empty batches (in `RunResult.sums`). */
  sums?: readonly string[];
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

export interface RunOptions extends StepExtras {
  /** Learning rate for this run (default: the optimizer's). */
  lr?: number;
  onProgress?: (p: FitProgress) => void;
  /** How often onProgress is called, in steps (default: about 100 times per run). */
  progressEvery?: number;
  signal?: AbortSignal;
}

export interface RunResult {
  steps: number;
  samples: number;
  /** Mean loss and accuracy over the samples of the run. */
  loss: number;
  accuracy: number | undefined;
  seconds: number;
  /** The `sums` outputs, by name. */
  sums: Record<string, number>;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

/** Two halves of the ping-pong: flat arrays and the tensors over their per-parameter views. */
interface Half {
  params: Float32Array;
  states: Float32Array;
  paramTensors: Tensor[];
  stateTensors: Tensor[][];
}

export class TrainingLoop {
  private params: Float32Array;
  private paramsNext: Float32Array;
  private states: Float32Array;
  private statesNext: Float32Array;
  private updateCount = 0;
  readonly slots: readonly string[];

  constructor(
    readonly runtime: OrtRuntime,
    readonly layout: readonly ParameterEntry[],
    readonly optimizer: OptimizerConfig,
    initial: Float32Array,
  ) {
    this.params = Float32Array.from(initial);
    this.paramsNext = new Float32Array(initial.length);
    this.slots = stateSlots(optimizer);
    this.states = new Float32Array(initial.length * this.slots.length);
    this.statesNext = new Float32Array(initial.length * this.slots.length);
  }

  /** Number of parameters. */
  get size(): number {
    return this.params.length;
  }

  /**
   * The current parameters: the loop's own array, for reading now — a run replaces it (the halves
   * swap), so copy it to keep it.
   */
  get parameters(): Float32Array {
    return this.params;
  }

  /** Copies `values` in as the parameters, refusing a wrong length or a non-finite value. */
  setParameters(values: Float32Array, what: string): void {
    if (values.length !== this.params.length)
      throw new Error(`${what}: ${values.length} values, the model has ${this.params.length} parameters`);
    const i = firstNonFinite(values);
    if (i >= 0)
      throw new Error(
        `${what}: value ${i} (${paramAt(this.layout, i)}) is ${values[i]}; refusing non-finite parameters`,
      );
    this.params.set(values);
  }

  /** Updates made so far: the optimizer's step count (Adam's bias correction). */
  get updates(): number {
    return this.updateCount;
  }

  /** Optimizer state (momentum, Adam moments) and update count, for checkpoints. */
  getOptimizerState(): { slots: readonly string[]; values: Float32Array; updates: number } {
    return { slots: this.slots, values: Float32Array.from(this.states), updates: this.updateCount };
  }

  setOptimizerState(s: { values: Float32Array; updates: number }): void {
    if (s.values.length !== this.states.length)
      throw new Error(`setOptimizerState: ${s.values.length} values, expected ${this.states.length}`);
    this.states.set(s.values);
    this.updateCount = s.updates;
  }

  resetOptimizerState(): void {
    this.states.fill(0);
    this.updateCount = 0;
  }

  /**
   * Runs `step` over the batches. A run that fails or diverges (a non-finite loss, or non-finite
   * parameters at its end) leaves parameters, optimizer state and update count as they were.
   */
  async run(step: TrainingStep, data: TrainingBatches, o: RunOptions = {}): Promise<RunResult> {
    const T = this.runtime.Tensor;
    const n = step.names;
    const size = this.params.length;
    const preallocate = this.runtime.supportsPreallocatedOutputs;
    let epoch = 0;
    const batches =
      'dataset' in data ? datasetEpochs(data, (e) => (epoch = e)) : iteratorOf<Batch>(data.source);
    const totalSteps =
      'dataset' in data
        ? (data.steps ?? batchCount(data.dataset.length, data.batchSize) * (data.epochs ?? 1))
        : (data.steps ?? Infinity);

    const half = (params: Float32Array, states: Float32Array): Half => ({
      params,
      states,
      paramTensors: tensorViews(T, params, this.layout),
      stateTensors: this.slots.map((_, s) => tensorViews(T, states, this.layout, s * size)),
    });
    let cur = half(this.params, this.states);
    let nxt = half(this.paramsNext, this.statesNext);
    const start = {
      params: this.params.slice(),
      states: this.states.slice(),
      updates: this.updateCount,
    };

    const fixedFeeds: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(o.scalars ?? {}))
      fixedFeeds[name] = new T('float32', Float32Array.of(value), []);
    for (const input of o.parameterInputs ?? []) {
      const views = tensorViews(T, unshared(input.values), this.layout);
      input.names.forEach((name, i) => (fixedFeeds[name] = views[i]));
    }
    const hyperTensors = n.hyper.map(() => new T('float32', new Float32Array(1), []));
    n.hyper.forEach((h, i) => (fixedFeeds[h] = hyperTensors[i]));
    const lossOut = new T('float32', new Float32Array(1), []);
    const correctOut = new T('float32', new Float32Array(1), []);
    const sumNames = o.sums ?? [];
    const sumOuts = sumNames.map(() => new T('float32', new Float32Array(1), []));
    // Feeds and fetches for both directions of the ping-pong, built once: a step only swaps them.
    const plan = (from: Half, to: Half) => {
      const feeds: Record<string, Tensor> = { ...fixedFeeds };
      n.params.forEach((name, i) => (feeds[name] = from.paramTensors[i]));
      n.states.forEach((row, s) => row.forEach((name, i) => (feeds[name] = from.stateTensors[s][i])));
      const fetches: Record<string, Tensor> = { [n.loss]: lossOut };
      if (n.correct) fetches[n.correct] = correctOut;
      sumNames.forEach((name, k) => (fetches[name] = sumOuts[k]));
      n.paramsOut.forEach((name, i) => (fetches[name] = to.paramTensors[i]));
      n.statesOut.forEach((row, s) => row.forEach((name, i) => (fetches[name] = to.stateTensors[s][i])));
      return { feeds, fetches };
    };
    let [curPlan, nxtPlan] = [plan(cur, nxt), plan(nxt, cur)];
    const fetchNames = Object.keys(curPlan.fetches);
    // The input tensors of the last batch: a reused batch buffer (every full batch of a Dataset)
    // keeps its arrays, and then its tensors are kept too.
    let input: Tensor | undefined;
    let labels: Tensor | undefined;
    let inputOf: { features: Batch['features']; labels: Batch['labels']; size: number } | undefined;

    let steps = 0;
    let samples = 0;
    let lossSum = 0;
    let correctSum = 0;
    const sums = new Float64Array(sumNames.length);
    const started = performance.now();
    const every =
      o.progressEvery ?? (Number.isFinite(totalSteps) ? Math.max(1, Math.floor(totalSteps / 100)) : 10);
    const progress = (): FitProgress => {
      const seconds = (performance.now() - started) / 1000;
      return {
        epoch,
        step: steps,
        totalSteps,
        samples,
        loss: samples ? lossSum / samples : NaN,
        accuracy: n.correct && samples ? correctSum / (samples * step.predictionsPerSample) : undefined,
        samplesPerSecond: seconds > 0 ? samples / seconds : 0,
      };
    };
    const restoreHint = `the parameters were restored to their values before this fit — lower the learning rate (now ${o.lr ?? this.optimizer.lr}) or check the data`;
    let exhausted = false;
    let yielded = performance.now();
    try {
      while (steps < totalSteps) {
        // Not pulled once `steps` is reached: a stream keeps its next batch, a sampler draws no more.
        const next = await batches.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const batch = next.value;
        if (performance.now() - yielded > YIELD_EVERY_MS) {
          await yieldToEventLoop();
          yielded = performance.now();
        }
        if (o.signal?.aborted) throw new Error('fit: aborted');
        // A Dataset's batches are gathered into the loop's own buffer; a stream's may be shared.
        const features = unshared(batch.features);
        const labelValues = unshared(batch.labels);
        if (inputOf?.features !== features || inputOf.labels !== labelValues || inputOf.size !== batch.size) {
          input = new T(step.featureType, features, [batch.size, ...step.featureShape]);
          labels = new T(step.labelType, labelValues, [batch.size, ...step.labelShape]);
          inputOf = { features, labels: labelValues, size: batch.size };
        }
        this.updateCount++;
        const hv = hyperParameterValues(this.optimizer, this.updateCount, o.lr);
        hv.forEach((v, i) => ((hyperTensors[i].data as Float32Array)[0] = v));
        o.beforeStep?.(this.updateCount);
        const { feeds, fetches } = curPlan;
        feeds[n.input] = input!;
        feeds[n.labels] = labels!;
        let loss: number;
        let correct = 0;
        if (preallocate) {
          await step.session.run(feeds, fetches);
          loss = (lossOut.data as Float32Array)[0];
          if (n.correct) correct = (correctOut.data as Float32Array)[0];
          if (batch.size > 0)
            for (let k = 0; k < sums.length; k++) sums[k] += (sumOuts[k].data as Float32Array)[0];
        } else {
          const out = await step.session.run(feeds, fetchNames);
          loss = (out[n.loss].data as Float32Array)[0];
          if (n.correct) correct = (out[n.correct].data as Float32Array)[0];
          if (batch.size > 0)
            for (let k = 0; k < sums.length; k++) sums[k] += (out[sumNames[k]].data as Float32Array)[0];
          n.paramsOut.forEach((name, i) =>
            nxt.params.set(out[name].data as Float32Array, this.layout[i].offset),
          );
          n.statesOut.forEach((row, s) =>
            row.forEach((name, i) =>
              nxt.states.set(out[name].data as Float32Array, s * size + this.layout[i].offset),
            ),
          );
        }
        // An empty batch (DP-SGD's Poisson sampling) has no loss to check; the parameters' final
        // check below still covers the update it made.
        if (batch.size > 0 && !Number.isFinite(loss))
          throw new TrainingDivergedError(
            `training diverged at step ${steps + 1} (loss ${loss}); ${restoreHint}`,
          );
        [cur, nxt] = [nxt, cur];
        [curPlan, nxtPlan] = [nxtPlan, curPlan];
        steps++;
        if (batch.size > 0) {
          samples += batch.size;
          lossSum += loss * batch.size;
          correctSum += correct;
        }
        o.afterStep?.();
        if (o.onProgress && (steps % every === 0 || steps === totalSteps)) o.onProgress(progress());
      }
      // A finite loss is computed before the update: the last step's update, or one whose only
      // effect is on a unit the loss no longer sees, can still have left a non-finite parameter.
      const bad = firstNonFinite(cur.params);
      if (bad >= 0)
        throw new TrainingDivergedError(
          `training diverged: after step ${steps} parameter ${paramAt(this.layout, bad)} is ${cur.params[bad]}; ${restoreHint}`,
        );
    } catch (e) {
      // Lose nothing: a failed or diverged run leaves the loop as it was before it.
      cur.params.set(start.params);
      cur.states.set(start.states);
      this.updateCount = start.updates;
      throw e;
    } finally {
      this.params = cur.params;
      this.states = cur.states;
      this.paramsNext = nxt.params;
      this.statesNext = nxt.states;
      if (!exhausted) await batches.return?.();
    }
    const end = progress();
    return {
      steps,
      samples,
      loss: end.loss,
      accuracy: end.accuracy,
      seconds: (performance.now() - started) / 1000,
      sums: Object.fromEntries(sumNames.map((name, k) => [name, sums[k]])),
    };
  }
}

/** One tensor per parameter over its view of `flat` (from `base` on: a slot of optimizer state). */
export function tensorViews(
  T: typeof Tensor,
  flat: Float32Array,
  layout: readonly ParameterEntry[],
  base = 0,
): Tensor[] {
  return layout.map(
    (e) => new T('float32', flat.subarray(base + e.offset, base + e.offset + e.size), [...e.shape]),
  );
}

/** Epochs of batches gathered into one reused buffer; `onEpoch` hears when each one starts. */
function* datasetEpochs(
  d: { dataset: Dataset; batchSize: number; shuffle: boolean; rng: Rng },
  onEpoch: (epoch: number) => void,
): Generator<Batch, void, undefined> {
  const buffer = new BatchBuffer(d.dataset, d.batchSize);
  for (let epoch = 0; ; epoch++) {
    onEpoch(epoch);
    for (const idx of batchIndices(d.dataset.length, {
      batchSize: d.batchSize,
      shuffle: d.shuffle,
      rng: d.rng,
    }))
      yield buffer.gather(idx);
  }
}

/**
 * A native runtime's run() does its work on the calling thread and resolves at once, so a fit is one
 * unbroken chain of microtasks: timers, I/O and signal handlers (Ctrl-C) would wait for the whole fit,
 * and a browser tab would freeze. The loop steps out to the event loop this often (about 1% of the time).
 */
const YIELD_EVERY_MS = 100;
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function iteratorOf<V>(source: Iterable<V> | AsyncIterable<V>): Iterator<V> | AsyncIterator<V> {
  return Symbol.asyncIterator in source
    ? source[Symbol.asyncIterator]()
    : (source as Iterable<V>)[Symbol.iterator]();
}

/** A flat index as a parameter name and position, e.g. dense_0.bias[4]. */
function paramAt(layout: readonly ParameterEntry[], i: number): string {
  const e = layout.find((p) => i >= p.offset && i < p.offset + p.size);
  return e ? `${e.name}[${i - e.offset}]` : `#${i}`;
}

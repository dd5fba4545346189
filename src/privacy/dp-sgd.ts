/**
 * Local differential privacy for one device's training: DP-SGD (Abadi et al. 2016) — every
 * example's gradient clipped to L2 norm C, Gaussian noise N(0, (zC)²) added to their sum, the sum
 * divided by the expected batch size — with Poisson sampling of the batches (each example joins a
 * step with probability q = batchSize / N, the sampling the RDP accountant's analysis assumes) and
 * the accountant reporting the (ε, δ) the steps have spent, at the level of one training example.
 *
 * The step runs as one ONNX graph (`compileDpSgdGraph`): per-example norms from one backward pass,
 * the clipped sum from a second one seeded with the clip factors; the noise is drawn here — from
 * the platform's cryptographic generator unless a seed is given for an experiment — and fed in.
 *
 * Covers models made of dense layers (the zoo's MLP and logistic regression); the compiler names
 * the parameter of any other layer it cannot clip per example.
 */
import type { Dataset } from '../data/dataset.js';
import { sizeOf } from '../data/dataset.js';
import { compileDpSgdGraph, type DpSgdGraph } from '../autodiff/dp-sgd-graph.js';
import { hyperParameterValues, stateSlots, type OptimizerConfig } from '../autodiff/optimizers.js';
import { initialParameters } from '../model/build.js';
import type { ModelSpec } from '../model/layers.js';
import { getDefaultRuntime, type OrtRuntime, type OrtSession, type OrtTensor } from '../runtime/ort.js';
import { Rng } from '../util/rng.js';
import { RdpAccountant } from './dp/accountant.js';
import { secureGaussian, secureUniform, seededGaussian, type GaussianSource } from './dp/noise.js';
import { roundRng } from '../fl/engine.js';

export interface DpSgdOptions {
  /** z: noise std over the clip norm. */
  noiseMultiplier: number;
  /** C: the L2 bound of one example's gradient. */
  clipNorm: number;
  /** The expected batch size L; each step includes each example with probability L / N. */
  batchSize: number;
  optimizer: OptimizerConfig;
  /** δ of the reported guarantee (default 1e-5). */
  delta?: number;
  /** Reproducible noise and sampling for experiments; omit for cryptographic noise. */
  noiseSeed?: number;
  runtime?: OrtRuntime;
}

export interface DpSgdFitResult {
  steps: number;
  /** Examples the Poisson-sampled steps used. */
  samples: number;
  /** Mean loss and accuracy over the examples the steps saw. */
  loss: number;
  accuracy: number;
  /** Fraction of per-example gradients that were clipped. */
  clippedFraction: number;
  /** The guarantee after this fit, over every step this trainer has taken. */
  epsilon: number;
  delta: number;
  seconds: number;
}

export class DpSgdTrainer {
  private readonly accountant = new RdpAccountant();
  private params: Float32Array;
  private states: Float32Array[];
  private updates = 0;

  private constructor(
    readonly spec: ModelSpec,
    readonly options: DpSgdOptions,
    private readonly runtime: OrtRuntime,
    private readonly graph: DpSgdGraph,
    private readonly session: OrtSession,
  ) {
    this.params = initialParameters(spec).values.slice();
    this.states = stateSlots(options.optimizer).map(() => new Float32Array(this.params.length));
  }

  static async create(spec: ModelSpec, options: DpSgdOptions): Promise<DpSgdTrainer> {
    const { noiseMultiplier: z, clipNorm: C, batchSize } = options;
    if (!(z > 0 && Number.isFinite(z)))
      throw new RangeError(`DP-SGD: noiseMultiplier must be positive, got ${z}`);
    if (!(C > 0 && Number.isFinite(C))) throw new RangeError(`DP-SGD: clipNorm must be positive, got ${C}`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new RangeError(`DP-SGD: batchSize must be an integer >= 1, got ${batchSize}`);
    const runtime = options.runtime ?? getDefaultRuntime();
    const graph = compileDpSgdGraph(spec, { optimizer: options.optimizer });
    const session = await runtime.InferenceSession.create(graph.bytes, runtime.defaultSessionOptions);
    return new DpSgdTrainer(spec, options, runtime, graph, session);
  }

  getParameters(): Float32Array {
    return this.params.slice();
  }

  setParameters(values: Float32Array): void {
    if (values.length !== this.params.length)
      throw new Error(`DP-SGD: ${values.length} parameters given, the model has ${this.params.length}`);
    this.params = values.slice();
  }

  /** Fresh optimizer state (momentum, Adam moments), as a federated client starts each round. */
  resetOptimizerState(): void {
    for (const s of this.states) s.fill(0);
    this.updates = 0;
  }

  /** The (ε, δ) spent by every step so far. */
  spent(): { epsilon: number; delta: number } {
    const delta = this.options.delta ?? 1e-5;
    return { epsilon: this.accountant.spent(delta).epsilon, delta };
  }

  /** Trains for `steps` Poisson-sampled steps (or `epochs` × N / L of them). */
  async fit(
    data: Dataset,
    o: {
      steps?: number;
      epochs?: number;
      seed?: number;
      /** This fit's learning rate and expected batch size (default: the trainer's options). */
      lr?: number;
      batchSize?: number;
      /** Seeded mode only: this fit's noise seed (default: the trainer's noiseSeed). */
      noiseSeed?: number;
      onStep?: (step: number, steps: number, running: { loss: number; accuracy: number }) => void;
    },
  ): Promise<DpSgdFitResult> {
    const started = performance.now();
    const { clipNorm, noiseMultiplier, optimizer } = this.options;
    const batchSize = o.batchSize ?? this.options.batchSize;
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new RangeError(`DP-SGD: batchSize must be an integer >= 1, got ${batchSize}`);
    const n = data.length;
    if (n === 0) throw new Error('DP-SGD: the dataset is empty');
    if (data.labelType !== 'int32' || data.labelShape.length !== 0)
      throw new Error('DP-SGD: needs integer class labels, one per example');
    const q = Math.min(1, batchSize / n);
    const steps = o.steps ?? dpSgdStepsPerEpochs(n, batchSize, o.epochs ?? 1);
    if (!(Number.isInteger(steps) && steps >= 1))
      throw new RangeError(`DP-SGD: steps must be >= 1, got ${steps}`);
    // Which examples a step uses must be as unpredictable as the noise (amplification by sampling
    // assumes nobody knows): cryptographic unless the run is a seeded experiment.
    const uniform =
      this.options.noiseSeed === undefined
        ? secureUniform()
        : (
            (r: Rng) => () =>
              r.uniform()
          )(new Rng((o.seed ?? this.options.noiseSeed) >>> 0));
    const T = this.runtime.Tensor;
    const featureSize = sizeOf(data.featureShape);
    const layout = this.graph.layout;
    // One noise buffer per parameter tensor for the whole fit, refilled every step.
    const noiseBuffers = layout.map((e) => new Float32Array(e.size));
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let clipped = 0;
    for (let s = 0; s < steps; s++) {
      const noise = this.noiseFor(o.noiseSeed);
      const indices: number[] = [];
      for (let i = 0; i < n; i++) if (uniform() < q) indices.push(i);
      const b = indices.length;
      const features = new Float32Array(b * featureSize);
      const labels = new Int32Array(b);
      if (b > 0) data.gather(indices, features, labels);
      const feeds: Record<string, OrtTensor> = {
        [this.graph.names.input]: new T('float32', features, [b, ...data.featureShape]),
        [this.graph.names.labels]: new T('int32', labels, [b]),
        [this.graph.names.clipNorm]: new T('float32', Float32Array.of(clipNorm), []),
        [this.graph.names.denominator]: new T('float32', Float32Array.of(batchSize), []),
      };
      const hyper = hyperParameterValues(optimizer, this.updates + 1, o.lr ?? optimizer.lr);
      this.graph.names.hyper.forEach((h, k) => (feeds[h] = new T('float32', Float32Array.of(hyper[k]), [])));
      layout.forEach((e, i) => {
        feeds[this.graph.names.params[i]] = new T(
          'float32',
          this.params.subarray(e.offset, e.offset + e.size),
          [...e.shape],
        );
        const z = noiseBuffers[i];
        z.fill(0);
        // Even an empty batch releases a (pure noise) step: skipping it would reveal that it was empty.
        noise.addNoise(z, noiseMultiplier * clipNorm);
        feeds[this.graph.names.noise[i]] = new T('float32', z, [...e.shape]);
        this.graph.names.states.forEach((row, k) => {
          feeds[row[i]] = new T('float32', this.states[k].subarray(e.offset, e.offset + e.size), [
            ...e.shape,
          ]);
        });
      });
      const out = await this.session.run(feeds);
      const next = new Float32Array(this.params.length);
      const nextStates = this.states.map(() => new Float32Array(this.params.length));
      layout.forEach((e, i) => {
        next.set(out[this.graph.names.paramsOut[i]].data as Float32Array, e.offset);
        this.graph.names.statesOut.forEach((row, k) =>
          nextStates[k].set(out[row[i]].data as Float32Array, e.offset),
        );
      });
      for (let i = 0; i < next.length; i++)
        if (!Number.isFinite(next[i]))
          throw new Error(`DP-SGD diverged at step ${s + 1} (parameter ${i} is ${next[i]})`);
      this.params = next;
      this.states = nextStates;
      this.updates++;
      this.accountant.step({ noiseMultiplier, samplingRate: q });
      if (b > 0) {
        lossSum += (out[this.graph.names.loss].data as Float32Array)[0] * b;
        correct += (out[this.graph.names.correct].data as Float32Array)[0];
        clipped += (out[this.graph.names.clipped].data as Float32Array)[0];
        seen += b;
      }
      o.onStep?.(s + 1, steps, { loss: seen ? lossSum / seen : NaN, accuracy: seen ? correct / seen : NaN });
    }
    const spent = this.spent();
    return {
      steps,
      samples: seen,
      loss: seen ? lossSum / seen : NaN,
      accuracy: seen ? correct / seen : NaN,
      clippedFraction: seen ? clipped / seen : 0,
      epsilon: spent.epsilon,
      delta: spent.delta,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** The step's noise: cryptographic, or seeded by (noiseSeed, step number) for experiments. */
  private noiseFor(fitSeed: number | undefined): GaussianSource {
    if (this.options.noiseSeed === undefined) return (this.secure ??= secureGaussian());
    const seed = fitSeed ?? this.options.noiseSeed;
    return seededGaussian(roundRng(seed, this.updates).nextUint32());
  }
  private secure: GaussianSource | undefined;

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Steps of a fit given in epochs: N·epochs / L, at least one (each step sees L examples on average). */
export function dpSgdStepsPerEpochs(examples: number, batchSize: number, epochs: number): number {
  return Math.max(1, Math.round((epochs * examples) / batchSize));
}

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
 * The steps run on the TrainingLoop, like the Trainer's; DP-SGD brings its batches (Poisson
 * samples), the noise, the clip norm and the accountant.
 *
 * Covers models made of dense layers (the zoo's MLP and logistic regression); the compiler names
 * the parameter of any other layer it cannot clip per example.
 */
import type { Dataset } from '../data/dataset.js';
import { BatchBuffer, type Batch } from '../data/loader.js';
import { compileDpSgdGraph, type DpSgdGraph } from '../autodiff/dp-sgd-graph.js';
import type { OptimizerConfig } from '../autodiff/optimizers.js';
import { initialParameters } from '../model/build.js';
import type { ModelSpec } from '../model/layers.js';
import { requireRuntime, type OrtRuntime, type OrtSession } from '../runtime/ort.js';
import { TrainingLoop, type TrainingStep } from '../runtime/training-loop.js';
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
  /** The ONNX Runtime to train on: nodeRuntime() from '@edgefl/node', or webRuntime(ort) from 'edgefl/web'. */
  runtime: OrtRuntime;
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
  private readonly loop: TrainingLoop;
  private readonly step: TrainingStep;

  private constructor(
    readonly spec: ModelSpec,
    readonly options: DpSgdOptions,
    runtime: OrtRuntime,
    private readonly graph: DpSgdGraph,
    private readonly session: OrtSession,
  ) {
    this.loop = new TrainingLoop(runtime, graph.layout, options.optimizer, initialParameters(spec).values);
    this.step = {
      session,
      names: graph.names,
      featureShape: spec.inputShape,
      featureType: 'float32',
      labelShape: [],
      labelType: 'int32',
      predictionsPerSample: 1,
    };
  }

  static async create(spec: ModelSpec, options: DpSgdOptions): Promise<DpSgdTrainer> {
    const runtime = requireRuntime(options?.runtime, 'DpSgdTrainer.create');
    const { noiseMultiplier: z, clipNorm: C, batchSize } = options;
    if (!(z > 0 && Number.isFinite(z)))
      throw new RangeError(`DP-SGD: noiseMultiplier must be positive, got ${z}`);
    if (!(C > 0 && Number.isFinite(C))) throw new RangeError(`DP-SGD: clipNorm must be positive, got ${C}`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new RangeError(`DP-SGD: batchSize must be an integer >= 1, got ${batchSize}`);
    const graph = compileDpSgdGraph(spec, { optimizer: options.optimizer });
    const session = await runtime.InferenceSession.create(graph.bytes, runtime.defaultSessionOptions);
    return new DpSgdTrainer(spec, options, runtime, graph, session);
  }

  getParameters(): Float32Array {
    return this.loop.parameters.slice();
  }

  setParameters(values: Float32Array): void {
    this.loop.setParameters(values, 'DP-SGD setParameters');
  }

  /** Fresh optimizer state (momentum, Adam moments), as a federated client starts each round. */
  resetOptimizerState(): void {
    this.loop.resetOptimizerState();
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
    const { clipNorm, noiseMultiplier } = this.options;
    const batchSize = o.batchSize ?? this.options.batchSize;
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new RangeError(`DP-SGD: batchSize must be an integer >= 1, got ${batchSize}`);
    const n = data.length;
    if (n === 0) throw new Error('DP-SGD: the dataset is empty');
    if (data.labelType !== 'int32' || data.labelShape.length !== 0)
      throw new Error('DP-SGD: needs integer class labels, one per example');
    const want = this.spec.inputShape;
    if (
      data.featureType !== 'float32' ||
      data.featureShape.length !== want.length ||
      data.featureShape.some((d, i) => d !== want[i])
    )
      throw new Error(
        `DP-SGD: samples are ${data.featureType} of shape [${data.featureShape}], the model expects float32 of shape [${want}]`,
      );
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
    const names = this.graph.names;
    const sigma = noiseMultiplier * clipNorm;
    // One noise array for the whole fit, refilled before every step (a view per parameter tensor,
    // filled in layout order: the order the seeded streams have always been drawn in).
    const noise = new Float32Array(this.loop.size);
    const noiseViews = this.graph.layout.map((e) => noise.subarray(e.offset, e.offset + e.size));
    const r = await this.loop.run(
      this.step,
      { source: poissonBatches(data, q, batchSize, uniform), steps },
      {
        lr: o.lr,
        progressEvery: 1,
        onProgress:
          o.onStep && ((p) => o.onStep!(p.step, steps, { loss: p.loss, accuracy: p.accuracy ?? NaN })),
        scalars: { [names.clipNorm]: clipNorm, [names.denominator]: batchSize },
        parameterInputs: [{ names: names.noise, values: noise }],
        beforeStep: (update) => {
          // Even an empty batch releases a (pure noise) step: skipping it would reveal that it was empty.
          const source = this.noiseFor(o.noiseSeed, update - 1);
          for (const z of noiseViews) {
            z.fill(0);
            source.addNoise(z, sigma);
          }
        },
        afterStep: () => this.accountant.step({ noiseMultiplier, samplingRate: q }),
        sums: [names.clipped],
      },
    );
    const spent = this.spent();
    return {
      steps: r.steps,
      samples: r.samples,
      loss: r.loss,
      accuracy: r.accuracy ?? NaN,
      clippedFraction: r.samples ? r.sums[names.clipped] / r.samples : 0,
      epsilon: spent.epsilon,
      delta: spent.delta,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /**
   * The step's noise: cryptographic, or seeded by (noiseSeed, updates made before this step) for
   * experiments.
   */
  private noiseFor(fitSeed: number | undefined, updatesBefore: number): GaussianSource {
    if (this.options.noiseSeed === undefined) return (this.secure ??= secureGaussian());
    const seed = fitSeed ?? this.options.noiseSeed;
    return seededGaussian(roundRng(seed, updatesBefore).nextUint32());
  }
  private secure: GaussianSource | undefined;

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Poisson-sampled batches, endlessly: each example joins each batch with probability q, drawn from
 * `uniform`. The batches are gathered into one buffer, grown when a batch outnumbers it (from twice
 * the expected size L: larger batches are rare), never sized for the whole dataset.
 */
function* poissonBatches(
  data: Dataset,
  q: number,
  expected: number,
  uniform: () => number,
): Generator<Batch, never, undefined> {
  const n = data.length;
  const indices = new Uint32Array(n);
  let buffer = new BatchBuffer(data, Math.min(n, 2 * expected));
  for (;;) {
    let b = 0;
    for (let i = 0; i < n; i++) if (uniform() < q) indices[b++] = i;
    if (b > buffer.capacity) buffer = new BatchBuffer(data, Math.min(n, Math.max(b, 2 * buffer.capacity)));
    yield buffer.gather(indices.subarray(0, b));
  }
}

/** Steps of a fit given in epochs: N·epochs / L, at least one (each step sees L examples on average). */
export function dpSgdStepsPerEpochs(examples: number, batchSize: number, epochs: number): number {
  return Math.max(1, Math.round((epochs * examples) / batchSize));
}

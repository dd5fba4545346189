/**
 * Optimization-based gradient inversion (Zhu et al. 2019, "Deep Leakage from Gradients"; Geiping
 * et al. 2020, "Inverting Gradients — How easy is it to break privacy in federated learning?"):
 * start from a random dummy batch and move it until the gradient it produces matches the observed
 * one.
 *
 * Each iteration is one run of the inversion graph (objective.ts) in one ONNX Runtime session,
 * created once: it returns the objective and its gradient w.r.t. the dummy batch. The step is Adam
 * on the sign of that gradient (Geiping et al.: signed gradients are robust to the objective's
 * wildly varying scale), with the learning rate cut by 10x at 3/8, 5/8 and 7/8 of the iterations,
 * and every pixel is projected back into the valid range after each step (box constraint). The
 * iterate with the lowest objective is returned: the attacker can evaluate the objective, so
 * choosing by it is fair.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { ModelSpec } from '../../model/layers.js';
import { requireRuntime, unshared, type OrtRuntime } from '../../runtime/ort.js';
import { Rng } from '../../util/rng.js';
import { buildInversionGraph, type InversionGraph, type MatchDistance } from './objective.js';

export interface InversionOptions {
  /** Optimization steps (default 1000). */
  iterations?: number;
  /** Initial Adam step size, in pixel units (default 0.1). */
  lr?: number;
  /** Weight of the total-variation prior (default 1e-2; ignored for non-image inputs). */
  tvWeight?: number;
  /** Adam on sign(gradient) (default) or on the raw gradient. */
  signed?: boolean;
  /** The valid pixel range [min, max] (default [0, 1]). */
  bounds?: readonly [number, number];
  /** Seed of the dummy batch's random initialization. */
  seed?: number;
  /** Called every `progressEvery` iterations and after the last. */
  onProgress?: (iteration: number, iterations: number, objective: number) => void;
  progressEvery?: number;
}

export interface InversionResult {
  /** The reconstructed batch, sample after sample. */
  images: Float32Array;
  /** Objective of the returned batch, and its gradient-matching part alone. */
  objective: number;
  distance: number;
  iterations: number;
  seconds: number;
}

/**
 * A gradient-inversion attacker for one model: compiles the double-differentiated graph and opens
 * its session once, then inverts any number of observed gradients.
 */
export class GradientInverter {
  private constructor(
    readonly spec: ModelSpec,
    readonly graph: InversionGraph,
    private readonly session: InferenceSession,
    private readonly runtime: OrtRuntime,
  ) {}

  static async create(
    spec: ModelSpec,
    o: {
      distance?: MatchDistance;
      runtime: OrtRuntime;
      sessionOptions?: InferenceSession.SessionOptions;
    },
  ): Promise<GradientInverter> {
    const runtime = requireRuntime(o?.runtime, 'GradientInverter.create');
    const graph = buildInversionGraph(spec, { distance: o.distance });
    const session = await runtime.InferenceSession.create(graph.bytes, {
      ...runtime.defaultSessionOptions,
      ...o.sessionOptions,
    });
    return new GradientInverter(spec, graph, session, runtime);
  }

  /**
   * Reconstructs `labels.length` inputs from `observed`, the gradient (layout order) that the model
   * with `parameters` produced on them.
   */
  async invert(
    parameters: Float32Array,
    observed: Float32Array,
    labels: Int32Array,
    o: InversionOptions = {},
  ): Promise<InversionResult> {
    const started = performance.now();
    const iterations = o.iterations ?? 1000;
    if (!Number.isInteger(iterations) || iterations < 1)
      throw new RangeError(`inversion: iterations must be a positive integer, got ${iterations}`);
    const lr0 = o.lr ?? 0.1;
    if (!(lr0 > 0)) throw new RangeError(`inversion: lr must be > 0, got ${lr0}`);
    const [lo, hi] = o.bounds ?? [0, 1];
    if (!(hi > lo))
      throw new RangeError(`inversion: bounds must be [min, max] with max > min, got [${lo}, ${hi}]`);
    const layout = this.graph.layout;
    const size = layout.reduce((s, e) => s + e.size, 0);
    for (const [what, v] of [
      ['parameters', parameters],
      ['observed gradient', observed],
    ] as const)
      if (v.length !== size)
        throw new RangeError(`inversion: ${what} has ${v.length} values, the model has ${size}`);
    const batch = labels.length;
    if (batch < 1) throw new RangeError('inversion: no labels (the batch size is the number of labels)');

    const T = this.runtime.Tensor;
    const n = this.graph.names;
    const sample = this.spec.inputShape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(batch * sample);
    const rng = new Rng(o.seed ?? 0);
    for (let i = 0; i < x.length; i++) x[i] = lo + (hi - lo) * rng.uniform();

    // Every feed is built once; the dummy batch's tensor wraps `x`, which is updated in place.
    const feeds: Record<string, Tensor> = {
      [n.input]: new T('float32', x, [batch, ...this.spec.inputShape]),
      [n.labels]: new T('int32', unshared(labels), [batch]),
      [n.tvWeight]: new T('float32', Float32Array.of(o.tvWeight ?? 1e-2), []),
    };
    const [params, targets] = [unshared(parameters), unshared(observed)];
    layout.forEach((e, i) => {
      const shape = [...e.shape];
      feeds[n.params[i]] = new T('float32', params.subarray(e.offset, e.offset + e.size), shape);
      feeds[n.targets[i]] = new T('float32', targets.subarray(e.offset, e.offset + e.size), shape);
    });
    const fetches = [n.objective, n.distance, n.inputGradient];

    const m = new Float32Array(x.length);
    const v = new Float32Array(x.length);
    const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
    const signed = o.signed ?? true;
    const best = { images: Float32Array.from(x), objective: Infinity, distance: Infinity };
    const every = o.progressEvery ?? Math.max(1, Math.floor(iterations / 100));
    const milestones = [3 / 8, 5 / 8, 7 / 8].map((f) => Math.floor(f * iterations));

    const evaluate = async () => {
      const out = await this.session.run(feeds, fetches);
      const objective = (out[n.objective].data as Float32Array)[0];
      const distance = (out[n.distance].data as Float32Array)[0];
      if (objective < best.objective) {
        best.images.set(x);
        best.objective = objective;
        best.distance = distance;
      }
      return { objective, dx: out[n.inputGradient].data as Float32Array };
    };

    for (let t = 1; t <= iterations; t++) {
      const { objective, dx } = await evaluate();
      if (!Number.isFinite(objective))
        throw new Error(`inversion: the objective became ${objective} at iteration ${t}`);
      const lr = lr0 * 0.1 ** milestones.filter((s) => t > s).length;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      for (let i = 0; i < x.length; i++) {
        const d = signed ? Math.sign(dx[i]) : dx[i];
        m[i] = beta1 * m[i] + (1 - beta1) * d;
        v[i] = beta2 * v[i] + (1 - beta2) * d * d;
        const step = (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
        x[i] = Math.min(hi, Math.max(lo, x[i] - step));
      }
      if (o.onProgress && (t % every === 0 || t === iterations)) o.onProgress(t, iterations, best.objective);
    }
    // The last step's result has not been evaluated yet.
    await evaluate();
    return {
      images: best.images,
      objective: best.objective,
      distance: best.distance,
      iterations,
      seconds: (performance.now() - started) / 1000,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * What an attacked client computes: the gradient of the mean softmax cross-entropy loss of its
 * batch, from the model's ordinary training graph (compiled without an optimizer, so it outputs the
 * raw gradients), on ONNX Runtime. In FedSGD the client sends one SGD step, -lr * g; the learning
 * rate is public, so the server holds g itself — the attack works on g.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { compileTrainingGraph, type CompiledGraph } from '../../autodiff/training-graph.js';
import type { ModelSpec } from '../../model/layers.js';
import type { ParameterEntry } from '../../tensor/parameters.js';
import { requireRuntime, unshared, type OrtRuntime } from '../../runtime/ort.js';

export interface ClientGradientOptions {
  runtime: OrtRuntime;
  sessionOptions?: InferenceSession.SessionOptions;
}

export class ClientGradient {
  private constructor(
    readonly spec: ModelSpec,
    private readonly compiled: CompiledGraph,
    private readonly session: InferenceSession,
    private readonly runtime: OrtRuntime,
  ) {}

  static async create(spec: ModelSpec, o: ClientGradientOptions): Promise<ClientGradient> {
    const runtime = requireRuntime(o?.runtime, 'ClientGradient.create');
    const compiled = compileTrainingGraph(spec, { loss: 'softmaxCrossEntropy' });
    const session = await runtime.InferenceSession.create(compiled.bytes, {
      ...runtime.defaultSessionOptions,
      ...o.sessionOptions,
    });
    return new ClientGradient(spec, compiled, session, runtime);
  }

  get layout(): readonly ParameterEntry[] {
    return this.compiled.layout;
  }

  /** Number of parameters (the length of a gradient). */
  get size(): number {
    const last = this.compiled.layout[this.compiled.layout.length - 1];
    return last.offset + last.size;
  }

  /**
   * The flat gradient (layout order) of the mean loss over `labels.length` samples whose features
   * are laid one after another in `features`.
   */
  async compute(parameters: Float32Array, features: Float32Array, labels: Int32Array): Promise<Float32Array> {
    const batch = labels.length;
    const sample = this.spec.inputShape.reduce((a, b) => a * b, 1);
    if (batch < 1) throw new RangeError('ClientGradient.compute: the batch is empty');
    if (features.length !== batch * sample)
      throw new RangeError(
        `ClientGradient.compute: ${features.length} feature values for ${batch} samples of ${sample}`,
      );
    if (parameters.length !== this.size)
      throw new RangeError(
        `ClientGradient.compute: ${parameters.length} parameters, the model has ${this.size}`,
      );
    const T = this.runtime.Tensor;
    const n = this.compiled.names;
    const feeds: Record<string, Tensor> = {
      [n.input]: new T('float32', unshared(features), [batch, ...this.spec.inputShape]),
      [n.labels]: new T('int32', unshared(labels), [batch]),
    };
    const params = unshared(parameters);
    this.compiled.layout.forEach((e, i) => {
      feeds[n.params[i]] = new T('float32', params.subarray(e.offset, e.offset + e.size), [...e.shape]);
    });
    const out = await this.session.run(feeds, n.paramsOut);
    const flat = new Float32Array(this.size);
    n.paramsOut.forEach((name, i) =>
      flat.set(out[name].data as Float32Array, this.compiled.layout[i].offset),
    );
    return flat;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

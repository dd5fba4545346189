/**
 * The teacher of a distillation: any classifier .onnx, run by ONNX Runtime over a dataset to get its
 * logits — once, before the student trains (the teacher's weights never change during distillation,
 * so neither do its outputs). Then each sample's label becomes [hard label, teacher logits...], the
 * labels the distillation loss reads (autodiff/losses.ts).
 *
 * The teacher's scores are its output named 'logits' when it has one (edgefl's exports do), else its
 * first output. When that output is made by a Softmax node, the log of those probabilities is used:
 * log p is a set of logits whose softmax at any temperature is the same as the original logits'.
 */
import type { Tensor } from 'onnxruntime-common';
import { sizeOf, type Dataset, type FeatureArray, type LabelArray } from '../data/dataset.js';
import { batchIndices } from '../data/loader.js';
import { importModel } from '../onnx/edit/io.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import { requireRuntime, type OrtRuntime, type OrtSession } from '../runtime/ort.js';

/** A model whose scores a student learns from. */
export interface Teacher {
  /** Classes the teacher scores. */
  readonly classes: number;
  /** The teacher's logits for every sample of `data`, in order: data.length × classes values. */
  logits(data: Dataset): Promise<Float32Array>;
}

export interface OnnxTeacherOptions {
  /** The ONNX Runtime to run the teacher on: nodeRuntime() from '@edgefl/node', or webRuntime(ort). */
  runtime: OrtRuntime;
  /** Named in messages (e.g. the file the model came from). */
  name?: string;
  /** Samples per inference call (default 256). */
  batchSize?: number;
}

/** A classifier .onnx as a teacher. */
export class OnnxTeacher implements Teacher {
  private constructor(
    private readonly session: OrtSession,
    private readonly runtime: OrtRuntime,
    readonly name: string,
    readonly inputName: string,
    /** One example's dimensions as the model declares them ([] entries unknown when symbolic). */
    private readonly inputDims: readonly (number | undefined)[],
    /** The output read as the teacher's scores. */
    readonly outputName: string,
    readonly classes: number,
    /** Whether the scores are softmax probabilities (their log is used as logits). */
    readonly probabilities: boolean,
    /** Values stored in the model's initializers: its parameters, as a size to compare. */
    readonly parameters: number,
    private readonly batchSize: number,
  ) {}

  /** Opens a classifier .onnx; refuses, naming the problem, bytes that are not ONNX or not a classifier. */
  static async create(model: Uint8Array, o: OnnxTeacherOptions): Promise<OnnxTeacher> {
    const runtime = requireRuntime(o?.runtime, 'OnnxTeacher.create');
    const name = o.name ?? 'the teacher';
    const batchSize = o.batchSize ?? 256;
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new Error(`${name}: batchSize must be a positive integer, got ${batchSize}`);
    const m = importModel(model, name);
    const inputs = m.inputs.filter((i) => !m.isInitializer(i.name));
    if (inputs.length !== 1)
      throw new Error(`${name} has ${inputs.length} inputs; a teacher is a classifier with one`);
    const input = inputs[0];
    if ((input.type?.tensorType?.elemType ?? 1) !== 1)
      throw new Error(`${name}'s input '${input.name}' is not float32; a teacher reads float features`);
    const output = m.outputs.find((v) => v.name === 'logits') ?? m.outputs[0];
    if (!output) throw new Error(`${name} has no output`);
    const outDims = output.type?.tensorType?.shape?.dim;
    if (outDims && outDims.length !== 2)
      throw new Error(
        `${name}'s output '${output.name}' has rank ${outDims.length}; a teacher scores classes: [batch, classes]`,
      );
    const declared = outDims ? Number(outDims[1].dimValue ?? 0) : 0;
    const inputDims = (input.type?.tensorType?.shape?.dim ?? [])
      .slice(1)
      .map((d) => (Number(d.dimValue ?? 0) > 0 ? Number(d.dimValue) : undefined));
    const parameters = storedValues(m);
    const probabilities = m.producer(output.name)?.opType === 'Softmax';
    const session = await runtime.InferenceSession.create(model, runtime.defaultSessionOptions);
    let classes = declared;
    if (!(classes > 0)) {
      // Not declared: one example of zeros tells, when the input's own dimensions are known.
      if (inputDims.length === 0 || inputDims.some((d) => d === undefined)) {
        await session.release();
        throw new Error(`${name}: neither its output's classes nor its input's shape is declared`);
      }
      const dims = inputDims as number[];
      const out = await session.run({
        [input.name]: new runtime.Tensor('float32', new Float32Array(sizeOf(dims)), [1, ...dims]) as Tensor,
      });
      classes = out[output.name].data.length;
    }
    return new OnnxTeacher(
      session,
      runtime,
      name,
      input.name,
      inputDims,
      output.name,
      classes,
      probabilities,
      parameters,
      batchSize,
    );
  }

  /** The dimensions one example of `data` is fed with: the model's own when their sizes agree. */
  private exampleDims(data: Dataset): readonly number[] {
    const perExample = sizeOf(data.featureShape);
    if (this.inputDims.length > 0 && this.inputDims.every((d) => d !== undefined)) {
      const dims = this.inputDims as number[];
      if (sizeOf(dims) !== perExample)
        throw new Error(
          `${this.name}'s input '${this.inputName}' takes [batch, ${dims.join(', ')}]; the data's examples are [${data.featureShape.join(', ')}]`,
        );
      return dims;
    }
    return data.featureShape;
  }

  async logits(data: Dataset): Promise<Float32Array> {
    if (data.featureType !== 'float32')
      throw new Error(`${this.name} reads float32 features; the data's are ${data.featureType}`);
    const dims = this.exampleDims(data);
    const perExample = sizeOf(data.featureShape);
    const C = this.classes;
    const result = new Float32Array(data.length * C);
    const features = new Float32Array(Math.min(this.batchSize, data.length) * perExample);
    const labels: LabelArray =
      data.labelType === 'int32'
        ? new Int32Array(Math.min(this.batchSize, data.length) * sizeOf(data.labelShape))
        : new Float32Array(Math.min(this.batchSize, data.length) * sizeOf(data.labelShape));
    let done = 0;
    for (const idx of batchIndices(data.length, { batchSize: this.batchSize })) {
      const size = idx.length;
      data.gather(idx, features as FeatureArray, labels);
      const view = features.subarray(0, size * perExample);
      const out = await this.session.run(
        { [this.inputName]: new this.runtime.Tensor('float32', view, [size, ...dims]) as Tensor },
        [this.outputName],
      );
      const scores = out[this.outputName].data as Float32Array;
      if (scores.length !== size * C)
        throw new Error(
          `${this.name}'s output '${this.outputName}' gave ${scores.length} values for ${size} examples of ${C} classes`,
        );
      for (let k = 0; k < scores.length; k++) {
        const v = this.probabilities ? Math.log(Math.max(scores[k], 1e-30)) : scores[k];
        if (!Number.isFinite(v))
          throw new Error(
            `${this.name} scored example ${done + Math.floor(k / C)} with ${scores[k]} for class ${k % C}`,
          );
        result[done * C + k] = v;
      }
      done += size;
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Values stored in a model's initializers: its parameters, counted the same way for any .onnx. */
export function storedValues(model: Uint8Array | OnnxModel, name = 'the model'): number {
  const m = model instanceof Uint8Array ? importModel(model, name) : model;
  let n = 0;
  for (const init of m.initializerNames())
    n += (m.initializerProto(init)?.dims ?? []).reduce((a, d) => a * Number(d), 1);
  return n;
}

/**
 * `data` with each label replaced by [hard label, teacher logits...] (float32, shape [1 + classes]):
 * the labels of the distillation loss. A view: the features stay where they are.
 */
export function withTeacherLogits(data: Dataset, logits: Float32Array, classes: number): Dataset {
  return new TeacherLabelledDataset(data, logits, classes);
}

class TeacherLabelledDataset implements Dataset {
  readonly length: number;
  readonly labelShape: readonly number[];
  readonly labelType = 'float32' as const;
  private hard = new Int32Array(0);

  constructor(
    private readonly parent: Dataset,
    private readonly logits: Float32Array,
    private readonly classCount: number,
  ) {
    const classes = classCount;
    if (!(Number.isInteger(classes) && classes >= 2))
      throw new Error(`withTeacherLogits: classes must be an integer >= 2, got ${classes}`);
    if (parent.labelType !== 'int32' || parent.labelShape.length !== 0)
      throw new Error(
        `withTeacherLogits: the data's labels must be class indices (int32, one per example), got ${parent.labelType} [${parent.labelShape}]`,
      );
    if (parent.classes && parent.classes.length !== classes)
      throw new Error(
        `withTeacherLogits: the data has ${parent.classes.length} classes, the teacher scores ${classes}`,
      );
    if (logits.length !== parent.length * classes)
      throw new Error(
        `withTeacherLogits: ${logits.length} logits for ${parent.length} examples of ${classes} classes`,
      );
    this.length = parent.length;
    this.labelShape = [1 + classes];
  }
  get featureShape() {
    return this.parent.featureShape;
  }
  get featureType() {
    return this.parent.featureType;
  }
  get normalization() {
    return this.parent.normalization;
  }

  gather(indices: ArrayLike<number>, features: FeatureArray, labels: LabelArray): void {
    if (this.hard.length < indices.length) this.hard = new Int32Array(indices.length);
    this.parent.gather(indices, features, this.hard);
    const C = this.classCount;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      labels[i * (1 + C)] = this.hard[i];
      labels.set(this.logits.subarray(j * C, (j + 1) * C), i * (1 + C) + 1);
    }
  }
}

/**
 * The one data interface the trainer, evaluator, partitioners and simulation share.
 *
 * A dataset is a table of samples addressed by index. Everything downstream works on index lists
 * (a client's partition, a shuffled epoch, a batch), so a federated simulation of thousands of
 * clients holds one copy of the data and only index lists per client.
 */
export type FeatureArray = Float32Array | Int32Array;
export type LabelArray = Int32Array | Float32Array;
export type ElementType = 'float32' | 'int32';

export interface Dataset {
  /** Number of samples. */
  readonly length: number;
  /** Shape of one sample's features, e.g. [1, 28, 28] or [784] or [seqLen] (token ids). */
  readonly featureShape: readonly number[];
  readonly featureType: ElementType;
  /** Shape of one sample's label: [] for a class index, [seqLen] for next-token targets, [k] for regression. */
  readonly labelShape: readonly number[];
  readonly labelType: ElementType;
  /** Class names, when labels are class indices. */
  readonly classes?: readonly string[];
  /** How raw inputs were turned into features (recorded in exported models so devices do the same). */
  readonly normalization?: Normalization;
  /** Copies the samples at `indices` into `features` and `labels`, sample after sample. */
  gather(indices: ArrayLike<number>, features: FeatureArray, labels: LabelArray): void;
}

/** features = (raw * scale - mean) / std, applied elementwise. */
export interface Normalization {
  scale: number;
  mean: number;
  std: number;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function allocateFeatures(
  ds: Pick<Dataset, 'featureShape' | 'featureType'>,
  count: number,
): FeatureArray {
  const n = count * sizeOf(ds.featureShape);
  return ds.featureType === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

export function allocateLabels(ds: Pick<Dataset, 'labelShape' | 'labelType'>, count: number): LabelArray {
  const n = count * sizeOf(ds.labelShape);
  return ds.labelType === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

export interface ArrayDatasetInit {
  features: FeatureArray;
  labels: LabelArray;
  featureShape: readonly number[];
  labelShape?: readonly number[];
  classes?: readonly string[];
  normalization?: Normalization;
}

/** A dataset held in two contiguous typed arrays. */
export class ArrayDataset implements Dataset {
  readonly length: number;
  readonly featureShape: readonly number[];
  readonly featureType: ElementType;
  readonly labelShape: readonly number[];
  readonly labelType: ElementType;
  readonly classes?: readonly string[];
  readonly normalization?: Normalization;
  readonly features: FeatureArray;
  readonly labels: LabelArray;
  private readonly featureSize: number;
  private readonly labelSize: number;

  constructor(init: ArrayDatasetInit) {
    this.featureShape = [...init.featureShape];
    this.labelShape = [...(init.labelShape ?? [])];
    this.featureSize = sizeOf(this.featureShape);
    this.labelSize = sizeOf(this.labelShape);
    if (this.featureSize === 0) throw new Error('ArrayDataset: featureShape must not be empty of elements');
    if (init.features.length % this.featureSize !== 0)
      throw new Error(
        `ArrayDataset: ${init.features.length} feature values is not a whole number of samples of shape [${this.featureShape}]`,
      );
    this.length = init.features.length / this.featureSize;
    if (init.labels.length !== this.length * this.labelSize)
      throw new Error(
        `ArrayDataset: ${this.length} samples need ${this.length * this.labelSize} label values of shape [${this.labelShape}], got ${init.labels.length}`,
      );
    this.features = init.features;
    this.labels = init.labels;
    this.featureType = init.features instanceof Int32Array ? 'int32' : 'float32';
    this.labelType = init.labels instanceof Int32Array ? 'int32' : 'float32';
    this.classes = init.classes;
    this.normalization = init.normalization;
  }

  gather(indices: ArrayLike<number>, features: FeatureArray, labels: LabelArray): void {
    const fs = this.featureSize;
    const ls = this.labelSize;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      if (j < 0 || j >= this.length || !Number.isInteger(j))
        throw new RangeError(`dataset index ${j} is out of range [0, ${this.length})`);
      features.set(this.features.subarray(j * fs, (j + 1) * fs), i * fs);
      if (ls === 1) labels[i] = this.labels[j];
      else labels.set(this.labels.subarray(j * ls, (j + 1) * ls), i * ls);
    }
  }
}

/** A view of some samples of another dataset, by index; holds only the index list. */
export class SubsetDataset implements Dataset {
  readonly length: number;
  /** Reused across calls (batches are gathered once per step; allocating per call is garbage). */
  private scratch = new Uint32Array(0);
  constructor(
    readonly parent: Dataset,
    readonly indices: Uint32Array,
  ) {
    this.length = indices.length;
  }
  get featureShape() {
    return this.parent.featureShape;
  }
  get featureType() {
    return this.parent.featureType;
  }
  get labelShape() {
    return this.parent.labelShape;
  }
  get labelType() {
    return this.parent.labelType;
  }
  get classes() {
    return this.parent.classes;
  }
  get normalization() {
    return this.parent.normalization;
  }
  gather(indices: ArrayLike<number>, features: FeatureArray, labels: LabelArray): void {
    if (this.scratch.length < indices.length) this.scratch = new Uint32Array(indices.length);
    const mapped = this.scratch;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      // j >>> 0 !== j also catches fractions and NaN, which would otherwise read index 0.
      if (j >>> 0 !== j || j >= this.length)
        throw new RangeError(`subset index ${j} is out of range [0, ${this.length})`);
      mapped[i] = this.indices[j];
    }
    this.parent.gather(mapped.subarray(0, indices.length), features, labels);
  }
}

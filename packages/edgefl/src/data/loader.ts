/**
 * Mini-batches without garbage: an epoch is one permutation whose consecutive slices are the batches, and a
 * BatchBuffer gathers each batch into the same preallocated typed arrays, which are what the training
 * step feeds to ONNX Runtime. At tens of thousands of samples per second, allocating per batch would make
 * the garbage collector a noticeable part of training time.
 */
import {
  allocateFeatures,
  allocateLabels,
  sizeOf,
  type Dataset,
  type FeatureArray,
  type LabelArray,
} from './dataset.js';
import type { Rng } from '../util/rng.js';

export interface BatchIndicesOptions {
  batchSize: number;
  /** Visit samples in a random order drawn from `rng` (default false: 0, 1, 2, ...). */
  shuffle?: boolean;
  /** The seeded generator for shuffling; required when shuffle is true, so epochs are reproducible. */
  rng?: Rng;
  /** Leave out a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** How many batches batchIndices yields. */
export function batchCount(length: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(length / batchSize) : Math.ceil(length / batchSize);
}

/**
 * The index batches of one epoch over samples 0..length-1: subarray views of one permutation (or of
 * 0..length-1 without shuffling), each batchSize long except possibly the last.
 */
export function* batchIndices(
  length: number,
  options: BatchIndicesOptions,
): Generator<Uint32Array, void, undefined> {
  const { batchSize, shuffle = false, rng, dropLast = false } = options;
  if (!Number.isInteger(length) || length < 0)
    throw new Error(`batchIndices: length must be a non-negative integer, got ${length}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  if (shuffle && !rng)
    throw new Error('batchIndices: shuffle needs an rng (a seeded Rng) so the order is reproducible');

  let order: Uint32Array;
  if (shuffle) order = (rng as Rng).permutation(length);
  else {
    order = new Uint32Array(length);
    for (let i = 0; i < length; i++) order[i] = i;
  }
  const end = dropLast ? length - (length % batchSize) : length;
  for (let start = 0; start < end; start += batchSize)
    yield order.subarray(start, Math.min(start + batchSize, end));
}

/** One gathered batch; its arrays are views into a BatchBuffer and are overwritten by the next gather. */
export interface Batch {
  /** Number of samples. */
  size: number;
  /** size * featureSize values. */
  features: FeatureArray;
  /** size * labelSize values. */
  labels: LabelArray;
}

/** Preallocated feature and label arrays for batches of up to `capacity` samples of one dataset. */
export class BatchBuffer {
  readonly features: FeatureArray;
  readonly labels: LabelArray;
  private readonly featureSize: number;
  private readonly labelSize: number;
  private readonly full: Batch;

  constructor(
    readonly dataset: Dataset,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`BatchBuffer: capacity must be a positive integer, got ${capacity}`);
    this.features = allocateFeatures(dataset, capacity);
    this.labels = allocateLabels(dataset, capacity);
    this.featureSize = sizeOf(dataset.featureShape);
    this.labelSize = sizeOf(dataset.labelShape);
    this.full = { size: capacity, features: this.features, labels: this.labels };
  }

  /**
   * Gathers the samples at `indices` (indices into the dataset). A full batch returns the whole buffers; a
   * smaller one returns views of their first part (the arrays themselves are never reallocated).
   */
  gather(indices: ArrayLike<number>): Batch {
    const n = indices.length;
    if (n > this.capacity)
      throw new Error(
        `BatchBuffer: a batch of ${n} samples does not fit the buffer's capacity of ${this.capacity}`,
      );
    this.dataset.gather(indices, this.features, this.labels);
    if (n === this.capacity) return this.full;
    return {
      size: n,
      features: this.features.subarray(0, n * this.featureSize),
      labels: this.labels.subarray(0, n * this.labelSize),
    };
  }
}

/**
 * One epoch of gathered batches of a dataset. The yielded arrays are reused: use (or copy) each batch
 * before asking for the next.
 */
export function* batches(dataset: Dataset, options: BatchIndicesOptions): Generator<Batch, void, undefined> {
  const epoch = batchIndices(dataset.length, options);
  const first = epoch.next(); // validates the options before the buffer is sized from them
  if (first.done) return;
  const buffer = new BatchBuffer(dataset, Math.min(options.batchSize, dataset.length));
  yield buffer.gather(first.value);
  for (const indices of epoch) yield buffer.gather(indices);
}

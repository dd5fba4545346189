/**
 * The class label of every sample of a dataset, as the label-aware partitioners (shards, dirichlet)
 * and partitionSummary read them.
 *
 * Labels are read through `Dataset.gather` a chunk at a time, so any dataset works (not only
 * in-memory ones) and the scratch features never take more than one chunk's worth of memory.
 */
import { allocateFeatures, allocateLabels, sizeOf, type Dataset } from '../dataset.js';

export interface ClassLabelsOptions {
  /** Samples gathered per call (default 1024): bounds the scratch feature buffer. */
  chunkSize?: number;
}

/** One class index per sample; refuses datasets whose labels are not single non-negative integers. */
export function classLabels(dataset: Dataset, options: ClassLabelsOptions = {}): Int32Array {
  const { chunkSize = 1024 } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`classLabels: chunkSize must be a positive integer, got ${chunkSize}`);
  if (sizeOf(dataset.labelShape) !== 1)
    throw new Error(
      `classLabels: labels of shape [${dataset.labelShape}] are not one class per sample; ` +
        'label-aware partitioning needs a class index per sample (use iid, quantity or natural instead)',
    );
  const n = dataset.length;
  const out = new Int32Array(n);
  const count = Math.min(chunkSize, n);
  const features = allocateFeatures(dataset, count);
  const labels = allocateLabels(dataset, count);
  const indices = new Uint32Array(count);
  for (let start = 0; start < n; start += count) {
    const m = Math.min(count, n - start);
    for (let i = 0; i < m; i++) indices[i] = start + i;
    dataset.gather(indices.subarray(0, m), features, labels);
    for (let i = 0; i < m; i++) {
      const y = labels[i];
      if (!Number.isInteger(y) || y < 0 || y > 0x7fffffff)
        throw new RangeError(
          `classLabels: sample ${start + i} has label ${y}, not a class index (integer >= 0)`,
        );
      out[start + i] = y;
    }
  }
  return out;
}

/**
 * A scan of a dataset for values that would silently ruin training: a NaN or infinite feature turns every
 * weight into NaN within a step, and an out-of-range class index makes ONNX Runtime read outside the
 * logits (or fail far from the cause). Trainers call this once before training so the error names the
 * sample instead.
 */
import { allocateFeatures, allocateLabels, sizeOf, type Dataset } from './dataset.js';

export interface ValidateDatasetOptions {
  /**
   * Labels must be integers in [0, numClasses). Defaults to the number of `classes` of the dataset; without
   * either, labels are only checked to be finite.
   */
  numClasses?: number;
  /** For int32 (token id) features: ids must lie in [0, numTokens). */
  numTokens?: number;
}

/** Throws an error naming the first bad sample, element and value; returns normally for a clean dataset. */
export function validateDataset(ds: Dataset, options: ValidateDatasetOptions = {}): void {
  const featureSize = sizeOf(ds.featureShape);
  const labelSize = sizeOf(ds.labelShape);
  const known = ds.classes?.length;
  if (options.numClasses !== undefined) {
    if (!Number.isInteger(options.numClasses) || options.numClasses < 1)
      throw new Error(`validateDataset: numClasses must be a positive integer, got ${options.numClasses}`);
    if (known !== undefined && known !== options.numClasses)
      throw new Error(
        `validateDataset: numClasses is ${options.numClasses} but the dataset names ${known} classes`,
      );
  }
  const numClasses = options.numClasses ?? known;
  const { numTokens } = options;
  if (numTokens !== undefined && (!Number.isInteger(numTokens) || numTokens < 1))
    throw new Error(`validateDataset: numTokens must be a positive integer, got ${numTokens}`);

  // Read through gather() in chunks, so any Dataset (a subset, a lazily decoded one) can be checked
  // without materializing it whole.
  const chunk = Math.max(1, Math.floor(65536 / Math.max(featureSize, labelSize, 1)));
  const features = allocateFeatures(ds, chunk);
  const labels = allocateLabels(ds, chunk);
  const indices = new Uint32Array(chunk);
  const intFeatures = ds.featureType === 'int32';

  for (let start = 0; start < ds.length; start += chunk) {
    const count = Math.min(chunk, ds.length - start);
    for (let i = 0; i < count; i++) indices[i] = start + i;
    ds.gather(indices.subarray(0, count), features, labels);

    for (let e = 0; e < count * featureSize; e++) {
      const v = features[e];
      const bad = intFeatures ? numTokens !== undefined && (v < 0 || v >= numTokens) : !Number.isFinite(v);
      if (bad) {
        const sample = start + Math.floor(e / featureSize);
        const what = intFeatures ? `is not a token id in [0, ${numTokens})` : 'is not finite';
        throw new Error(
          `validateDataset: sample ${sample}, feature element ${e % featureSize}: ${v} ${what}`,
        );
      }
    }

    for (let e = 0; e < count * labelSize; e++) {
      const v = labels[e];
      let problem: string | undefined;
      if (!Number.isFinite(v)) problem = 'is not finite';
      else if (numClasses !== undefined && !(Number.isInteger(v) && v >= 0 && v < numClasses))
        problem = `is not a class index in [0, ${numClasses})`;
      if (problem) {
        const sample = start + Math.floor(e / labelSize);
        const where = labelSize === 1 ? 'label' : `label element ${e % labelSize}`;
        throw new Error(`validateDataset: sample ${sample}, ${where}: ${v} ${problem}`);
      }
    }
  }
}

/**
 * Analytic (exact) input reconstruction from the gradient of a dense first layer.
 *
 * For y = W x + b and one example, dL/dW = (dL/dy) x^T and dL/db = dL/dy: every row i of the weight
 * gradient is x scaled by dL/db_i. So any row with dL/db_i != 0 gives x = (dL/dW)_i / (dL/db)_i —
 * no optimization, no prior, exact up to float rounding (Phong et al. 2017 made this observation
 * for federated learning; Geiping et al. 2020, Prop. 3.1, for any fully connected layer with bias).
 *
 * The estimate here is the least-squares fit over the k rows with the largest |dL/db_i|:
 * x = sum_i db_i dW_i / sum_i db_i^2, which weights each row by how far its bias gradient is from
 * zero (rows with tiny db_i are ratios of two rounding errors). For a gradient summed over several
 * examples each row is a different mixture of them; `rowReconstructions` returns those per-row
 * mixtures, the best an honest-but-curious server can read off such an aggregate this way.
 */
import type { ParameterEntry } from '../../tensor/parameters.js';

export interface DenseLayerEntries {
  weight: ParameterEntry;
  bias: ParameterEntry;
  /** Output units (rows of the weight). */
  units: number;
  /** Input features (columns of the weight): the size of the reconstructed input. */
  features: number;
}

/**
 * The model's first parameter tensors if they are a dense layer with bias acting on the input:
 * a weight [units, features] followed by a bias [units]. Throws, naming what it found, otherwise.
 */
export function firstDenseLayer(layout: readonly ParameterEntry[], inputSize?: number): DenseLayerEntries {
  const [weight, bias] = layout;
  const describe = () =>
    layout
      .slice(0, 2)
      .map((e) => `${e.name} [${e.shape.join(', ')}]`)
      .join(', ');
  if (
    !weight ||
    !bias ||
    weight.shape.length !== 2 ||
    bias.shape.length !== 1 ||
    bias.shape[0] !== weight.shape[0]
  )
    throw new Error(
      `analytic reconstruction needs a dense first layer with bias (weight [units, features], bias [units]); the model starts with ${describe() || 'no parameters'}`,
    );
  const [units, features] = weight.shape;
  if (inputSize !== undefined && features !== inputSize)
    throw new Error(
      `analytic reconstruction: the first dense layer takes ${features} features, the input has ${inputSize} values (is there a layer with parameters before it?)`,
    );
  return { weight, bias, units, features };
}

/** Row indices sorted by decreasing |dL/db_i|, skipping exact zeros (inactive units). */
export function rowsByBiasGradient(gradient: Float32Array, layer: DenseLayerEntries): number[] {
  const db = gradient.subarray(layer.bias.offset, layer.bias.offset + layer.units);
  const rows: number[] = [];
  for (let i = 0; i < layer.units; i++) if (db[i] !== 0 && Number.isFinite(db[i])) rows.push(i);
  return rows.sort((p, q) => Math.abs(db[q]) - Math.abs(db[p]));
}

export interface AnalyticOptions {
  /** How many rows (largest |dL/db_i| first) the least-squares estimate uses; default 8. */
  rows?: number;
}

/**
 * x from the flat gradient of a model whose first layer is dense with bias (see the file comment).
 * Throws when every bias gradient is zero (nothing to divide by: the example taught the layer
 * nothing).
 */
export function analyticReconstruction(
  gradient: Float32Array,
  layout: readonly ParameterEntry[],
  o: AnalyticOptions = {},
): Float32Array {
  const layer = firstDenseLayer(layout);
  const rows = rowsByBiasGradient(gradient, layer).slice(0, Math.max(1, o.rows ?? 8));
  if (rows.length === 0)
    throw new Error('analytic reconstruction: every bias gradient of the first layer is zero');
  const { features } = layer;
  const acc = new Float64Array(features);
  let norm = 0;
  for (const i of rows) {
    const db = gradient[layer.bias.offset + i];
    const dw = gradient.subarray(
      layer.weight.offset + i * features,
      layer.weight.offset + (i + 1) * features,
    );
    for (let j = 0; j < features; j++) acc[j] += db * dw[j];
    norm += db * db;
  }
  return Float32Array.from(acc, (v) => v / norm);
}

/** The single-row estimates x_i = dW_i / db_i for the `count` rows with the largest |dL/db_i|. */
export function rowReconstructions(
  gradient: Float32Array,
  layout: readonly ParameterEntry[],
  count: number,
): Float32Array[] {
  const layer = firstDenseLayer(layout);
  const { features } = layer;
  return rowsByBiasGradient(gradient, layer)
    .slice(0, count)
    .map((i) => {
      const db = gradient[layer.bias.offset + i];
      const start = layer.weight.offset + i * features;
      return Float32Array.from(gradient.subarray(start, start + features), (w) => w / db);
    });
}

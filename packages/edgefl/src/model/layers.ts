/**
 * The layers API. A layer is plain data (JSON-serializable), so a model definition can be saved
 * with a run, sent to clients, and rebuilt anywhere; build.ts turns it into ONNX nodes.
 */

export type Initializer =
  | 'pytorch' // U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear/Conv
  | 'glorotUniform'
  | 'heUniform'
  | 'heNormal'
  | 'zeros'
  | 'ones'
  | { normal: number } // N(0, std^2)
  | { uniform: number }; // U(-a, a)

export type Padding = 'same' | 'valid' | number | readonly number[];

export type LayerSpec =
  | { type: 'dense'; units: number; useBias?: boolean; kernelInit?: Initializer; biasInit?: Initializer }
  | {
      type: 'conv2d';
      filters: number;
      kernel: number | readonly [number, number];
      strides?: number | readonly [number, number];
      padding?: Padding;
      dilation?: number | readonly [number, number];
      useBias?: boolean;
      kernelInit?: Initializer;
      biasInit?: Initializer;
    }
  | {
      type: 'maxPool2d';
      size: number | readonly [number, number];
      strides?: number | readonly [number, number];
      padding?: Padding;
    }
  | {
      type: 'avgPool2d';
      size: number | readonly [number, number];
      strides?: number | readonly [number, number];
    }
  | { type: 'globalAvgPool' }
  | { type: 'flatten' }
  | { type: 'reshape'; shape: readonly number[] }
  | { type: 'relu' }
  | { type: 'leakyRelu'; alpha?: number }
  | { type: 'sigmoid' }
  | { type: 'tanh' }
  | { type: 'gelu' }
  | { type: 'softmax'; axis?: number }
  | { type: 'dropout'; rate: number }
  | { type: 'embedding'; vocabSize: number; dim: number; init?: Initializer }
  | { type: 'positionalEmbedding'; maxLength: number; init?: Initializer }
  | { type: 'layerNorm'; epsilon?: number }
  | { type: 'causalSelfAttention'; heads: number; dropout?: number }
  | { type: 'residual'; layers: readonly LayerSpec[] };

export interface ModelSpec {
  /** Shape of one sample, without the batch dimension, e.g. [1, 28, 28] or [seqLen]. */
  inputShape: readonly number[];
  inputType?: 'float32' | 'int32';
  layers: readonly LayerSpec[];
  /** Seed of the weight initialization. */
  seed?: number;
  name?: string;
}

const pair = (v: number | readonly [number, number]): [number, number] =>
  typeof v === 'number' ? [v, v] : [v[0], v[1]];
export { pair };

export const dense = (
  units: number,
  o: Omit<Extract<LayerSpec, { type: 'dense' }>, 'type' | 'units'> = {},
): LayerSpec => ({ type: 'dense', units, ...o });
export const conv2d = (o: Omit<Extract<LayerSpec, { type: 'conv2d' }>, 'type'>): LayerSpec => ({
  type: 'conv2d',
  ...o,
});
export const maxPool2d = (
  size: number | [number, number],
  o: { strides?: number | [number, number]; padding?: Padding } = {},
): LayerSpec => ({ type: 'maxPool2d', size, ...o });
export const avgPool2d = (
  size: number | [number, number],
  o: { strides?: number | [number, number] } = {},
): LayerSpec => ({ type: 'avgPool2d', size, ...o });
export const globalAvgPool = (): LayerSpec => ({ type: 'globalAvgPool' });
export const flatten = (): LayerSpec => ({ type: 'flatten' });
export const reshape = (shape: readonly number[]): LayerSpec => ({ type: 'reshape', shape: [...shape] });
export const relu = (): LayerSpec => ({ type: 'relu' });
export const leakyRelu = (alpha = 0.01): LayerSpec => ({ type: 'leakyRelu', alpha });
export const sigmoid = (): LayerSpec => ({ type: 'sigmoid' });
export const tanh = (): LayerSpec => ({ type: 'tanh' });
export const gelu = (): LayerSpec => ({ type: 'gelu' });
export const softmax = (axis = -1): LayerSpec => ({ type: 'softmax', axis });
export const dropout = (rate: number): LayerSpec => ({ type: 'dropout', rate });
export const embedding = (vocabSize: number, dim: number, init?: Initializer): LayerSpec => ({
  type: 'embedding',
  vocabSize,
  dim,
  ...(init ? { init } : {}),
});
export const positionalEmbedding = (maxLength: number): LayerSpec => ({
  type: 'positionalEmbedding',
  maxLength,
});
export const layerNorm = (epsilon = 1e-5): LayerSpec => ({ type: 'layerNorm', epsilon });
export const causalSelfAttention = (heads: number, o: { dropout?: number } = {}): LayerSpec => ({
  type: 'causalSelfAttention',
  heads,
  ...o,
});
export const residual = (layers: readonly LayerSpec[]): LayerSpec => ({
  type: 'residual',
  layers: [...layers],
});

/** A pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)). */
export function transformerBlock(o: {
  dim: number;
  heads: number;
  mlpRatio?: number;
  dropout?: number;
}): LayerSpec[] {
  const hidden = Math.round(o.dim * (o.mlpRatio ?? 4));
  const drop = o.dropout ? [dropout(o.dropout)] : [];
  return [
    residual([layerNorm(), causalSelfAttention(o.heads, { dropout: o.dropout }), ...drop]),
    residual([layerNorm(), dense(hidden), gelu(), dense(o.dim), ...drop]),
  ];
}

export function sequential(
  layers: readonly LayerSpec[],
  o: { inputShape: readonly number[]; inputType?: 'float32' | 'int32'; seed?: number; name?: string },
): ModelSpec {
  return {
    inputShape: [...o.inputShape],
    inputType: o.inputType ?? 'float32',
    layers: [...layers],
    seed: o.seed ?? 0,
    name: o.name,
  };
}

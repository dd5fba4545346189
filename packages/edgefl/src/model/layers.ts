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
  | { type: 'standardize'; mean: readonly number[]; std: readonly number[] }
  | { type: 'causalSelfAttention'; heads: number; dropout?: number }
  | { type: 'residual'; layers: readonly LayerSpec[] }
  | FakeQuantizeSpec;

/** A float range an activation is quantized over (uint8, asymmetric; widened to include 0). */
export interface QuantizationRange {
  readonly low: number;
  readonly high: number;
}

/**
 * Fake quantization for quantization-aware training: the wrapped layer computes on values rounded
 * to the grids static int8 quantization will use (quantize-dequantize), so training sees the int8
 * model's errors, while the gradient passes the rounding straight through (model/fake-quantize.ts).
 * The wrapped layer is built at the wrapper's place, so its parameters keep their names: the float
 * model's parameters load into the fake-quantized model as they are.
 */
export interface FakeQuantizeSpec {
  readonly type: 'fakeQuantize';
  /**
   * The layer to wrap. A dense or conv2d layer computes with quantized weights (and, with `input`,
   * its bias on the int32 grid); any other layer (a residual block whose input static int8
   * quantizes for its skip connection too) only has its input and output quantized.
   */
  readonly layer?: LayerSpec;
  /** The range of the layer's input: a uint8 quantize-dequantize before the layer. */
  readonly input?: QuantizationRange;
  /**
   * int8 symmetric weights with the scale max|w|/127, computed from the current weights, per output
   * channel (the default for dense and conv2d, as quantizeStaticInt8's) or per tensor. With `input`,
   * the bias is rounded to int32 in steps of input scale x weight scale, as static int8 stores it.
   */
  readonly weights?: 'perChannel' | 'perTensor';
  /** The range of the layer's output: a uint8 quantize-dequantize after it. */
  readonly output?: QuantizationRange;
}

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
/**
 * (x − mean) / std per feature, with fixed constants (no parameters): the scaling of raw tabular
 * features (lab values, amounts, sensor readings) travels inside the model, so a device feeds the
 * raw values and an exported .onnx means the same wherever it runs.
 */
export const standardize = (mean: readonly number[], std: readonly number[]): LayerSpec => ({
  type: 'standardize',
  mean: [...mean],
  std: [...std],
});
export const causalSelfAttention = (heads: number, o: { dropout?: number } = {}): LayerSpec => ({
  type: 'causalSelfAttention',
  heads,
  ...o,
});
export const residual = (layers: readonly LayerSpec[]): LayerSpec => ({
  type: 'residual',
  layers: [...layers],
});

export const fakeQuantize = (o: Omit<FakeQuantizeSpec, 'type'>): LayerSpec => ({
  type: 'fakeQuantize',
  ...o,
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

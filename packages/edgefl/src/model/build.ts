/**
 * Turns a ModelSpec into ONNX nodes. The same builder makes the inference graph (exported, used by
 * the evaluator) and the forward half of the training graph; `mode` only changes what training
 * needs (dropout active, max-pool indices kept for the gradient).
 */
import { Graph, GraphError, type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { isStatic, shapeToString } from '../onnx/types.js';
import { ParameterSet, type ParameterEntry } from '../tensor/parameters.js';
import { Rng } from '../util/rng.js';
import { initialize } from './init.js';
import {
  fakeQuantizeActivation,
  fakeQuantizeBias,
  fakeQuantizeWeight,
  type FakeQuantizedWeight,
} from './fake-quantize.js';
import {
  pair,
  type FakeQuantizeSpec,
  type Initializer,
  type LayerSpec,
  type ModelSpec,
  type Padding,
  type QuantizationRange,
} from './layers.js';

export type BuildMode = 'train' | 'infer';

export interface BuiltModel {
  graph: Graph;
  input: Value;
  output: Value;
  /** Parameter values, in declaration order (graph inputs, or initializers when baked). */
  parameters: Value[];
  layout: ParameterEntry[];
}

interface BuildOptions {
  mode: BuildMode;
  /** Bake these values in as initializers (for export) instead of declaring parameter inputs. */
  bake?: ParameterSet;
  /** Collect initial values (seeded) into this array as parameters are declared. */
  initialValues?: Float32Array[];
  graph?: Graph;
  inputName?: string;
}

class BuildContext {
  readonly params: Value[] = [];
  readonly shapes: { name: string; shape: number[] }[] = [];
  private readonly initRng: Rng;
  private readonly dropoutRng: Rng;
  constructor(
    readonly graph: Graph,
    readonly spec: ModelSpec,
    readonly options: BuildOptions,
  ) {
    this.initRng = new Rng(spec.seed ?? 0);
    this.dropoutRng = new Rng((spec.seed ?? 0) ^ 0x5eed);
  }
  get training(): boolean {
    return this.options.mode === 'train';
  }
  param(name: string, shape: number[], init: Initializer, fanIn?: number): Value {
    const size = shape.reduce((a, b) => a * b, 1);
    if (this.options.initialValues) {
      const values = new Float32Array(size);
      initialize(values, shape, init, this.initRng, fanIn);
      this.options.initialValues.push(values);
    }
    this.shapes.push({ name, shape });
    const v = this.options.bake
      ? this.graph.initializer(name, { dtype: 'float32', dims: shape, data: this.options.bake.view(name) })
      : this.graph.input(name, 'float32', shape);
    this.params.push(v);
    return this.parameterView ? this.parameterView(name, v) : v;
  }
  /** What the layers built inside `body` compute with in place of each parameter (fake quantization). */
  private parameterView: ((name: string, v: Value) => Value) | undefined;
  withParameterView<T>(view: (name: string, v: Value) => Value, body: () => T): T {
    const saved = this.parameterView;
    this.parameterView = view;
    try {
      return body();
    } finally {
      this.parameterView = saved;
    }
  }
  dropoutSeed(): number {
    return this.dropoutRng.int(2 ** 31 - 1);
  }
}

function fail(path: string, layer: LayerSpec, message: string): never {
  throw new GraphError(`layer ${path} (${layer.type}): ${message}`);
}

function positiveInt(path: string, layer: LayerSpec, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    fail(path, layer, `${what} must be a positive integer, got ${String(v)}`);
  return v;
}

function spatialPads(
  path: string,
  layer: LayerSpec,
  padding: Padding | undefined,
  input: Value,
  kernel: [number, number],
  strides: [number, number],
  dil: [number, number],
): number[] {
  if (padding === undefined || padding === 'valid') return [0, 0, 0, 0];
  if (typeof padding === 'number') return [padding, padding, padding, padding];
  if (padding !== 'same') {
    if (padding.length === 2) return [padding[0], padding[1], padding[0], padding[1]];
    if (padding.length === 4) return [...padding];
    fail(path, layer, `padding must be 'same', 'valid', a number, [h, w] or [top, left, bottom, right]`);
  }
  // 'same': output = ceil(input / stride), extra padding at the end (as TensorFlow and PyTorch do).
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const size = input.shape![2 + i] as number;
    const out = Math.ceil(size / strides[i]);
    const total = Math.max((out - 1) * strides[i] + dil[i] * (kernel[i] - 1) + 1 - size, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

function requireRank(path: string, layer: LayerSpec, x: Value, rank: number, what: string): void {
  if (x.rank !== rank)
    fail(path, layer, `expects ${what} (rank ${rank} with the batch), got ${shapeToString(x.shape)}`);
}

function denseApply(
  ctx: BuildContext,
  name: string,
  x: Value,
  units: number,
  o: { useBias?: boolean; kernelInit?: Initializer; biasInit?: Initializer } = {},
): Value {
  const inFeatures = x.shape?.[x.shape.length - 1];
  if (typeof inFeatures !== 'number')
    throw new GraphError(`${name}: input features must be static, got ${x}`);
  const w = ctx.param(`${name}.weight`, [units, inFeatures], o.kernelInit ?? 'pytorch');
  const b =
    o.useBias === false ? null : ctx.param(`${name}.bias`, [units], o.biasInit ?? 'pytorch', inFeatures);
  if (x.rank === 2) return op.gemm(x, w, b, { transB: true });
  // Higher rank ([batch, time, features]): fold the leading axes into rows for one Gemm.
  const lead = x.shape!.slice(1, -1) as number[];
  const rows = op.reshape(x, [-1, inFeatures]);
  return op.reshape(op.gemm(rows, w, b, { transB: true }), [-1, ...lead, units]);
}

function causalMask(g: Graph, t: number): Value {
  const data = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) data[i * t + j] = -1e9;
  return op.constant(g, { dtype: 'float32', dims: [t, t], data }, 'causal_mask');
}

/** The layers whose weights fake quantization rounds: those static int8 quantizes (Gemm, Conv). */
const WEIGHTED: ReadonlySet<string> = new Set(['dense', 'conv2d']);

function checkRange(path: string, layer: LayerSpec, what: string, r: QuantizationRange | undefined): void {
  if (r === undefined) return;
  if (typeof r !== 'object' || !Number.isFinite(r.low) || !Number.isFinite(r.high) || !(r.low <= r.high))
    fail(path, layer, `${what} must be { low, high } with finite low <= high, got ${JSON.stringify(r)}`);
}

/**
 * Quantize-dequantize around a layer (see FakeQuantizeSpec): its input, then — for dense and conv2d
 * — its weight and bias as the layer declares them (same names, so the same parameters), then its
 * output.
 */
function buildFakeQuantize(ctx: BuildContext, layer: FakeQuantizeSpec, x: Value, path: string): Value {
  const inner = layer.layer;
  if (!inner && !layer.input && !layer.output)
    fail(path, layer, 'quantizes nothing: give it a layer to wrap, an input range or an output range');
  if (layer.weights !== undefined && layer.weights !== 'perChannel' && layer.weights !== 'perTensor')
    fail(path, layer, `weights must be 'perChannel' or 'perTensor', got ${JSON.stringify(layer.weights)}`);
  if (layer.weights !== undefined && !inner) fail(path, layer, 'weights needs a layer to wrap');
  if (layer.weights !== undefined && !WEIGHTED.has(inner!.type))
    fail(
      path,
      layer,
      `weights: only dense and conv2d weights are quantized (as static int8 does), got '${inner!.type}'`,
    );
  if (inner?.type === 'fakeQuantize') fail(path, layer, 'wraps another fakeQuantize layer');
  checkRange(path, layer, 'input', layer.input);
  checkRange(path, layer, 'output', layer.output);
  let y = x;
  let inputScale: number | undefined;
  if (layer.input) {
    if (y.dtype !== 'float32') fail(path, layer, `quantizes float activations, got ${y}`);
    ({ value: y, scale: inputScale } = fakeQuantizeActivation(y, layer.input));
  }
  if (inner && WEIGHTED.has(inner.type)) {
    const perChannel = (layer.weights ?? 'perChannel') === 'perChannel';
    let weight: FakeQuantizedWeight | undefined;
    // The wrapped layer declares its weight before its bias, and the bias's step needs the weight's scale.
    const view = (name: string, v: Value): Value => {
      if (name.endsWith('.weight')) {
        weight = fakeQuantizeWeight(v, perChannel);
        return weight.value;
      }
      if (name.endsWith('.bias') && weight && inputScale !== undefined)
        return fakeQuantizeBias(v, inputScale, weight);
      return v;
    };
    y = ctx.withParameterView(view, () => buildLayer(ctx, inner, y, path));
  } else if (inner) y = buildLayer(ctx, inner, y, path);
  if (layer.output) y = fakeQuantizeActivation(y, layer.output).value;
  return y;
}

/** The layer spec of one type: what its builder receives. */
type LayerOf<T extends LayerSpec['type']> = Extract<LayerSpec, { type: T }>;

/** Builds one layer on `x`. `name` prefixes its parameters (`dense_1.weight`), `path` locates it in errors. */
type LayerBuilder<T extends LayerSpec['type']> = (
  ctx: BuildContext,
  layer: LayerOf<T>,
  x: Value,
  path: string,
  name: string,
) => Value;

/**
 * Every layer type, one entry each: adding a layer is one entry here (and its spec in layers.ts),
 * as adding an operator to the autodiff is one entry in its rules table.
 */
const layerBuilders: { readonly [T in LayerSpec['type']]: LayerBuilder<T> } = {
  dense: (ctx, layer, x, path, name) => {
    positiveInt(path, layer, 'units', layer.units);
    if (x.rank === undefined || x.rank < 2)
      fail(path, layer, `expects [batch, ..., features], got ${shapeToString(x.shape)}`);
    if (x.rank > 3 && x.rank !== undefined)
      fail(path, layer, `expects rank 2 or 3 input, got ${shapeToString(x.shape)}; add flatten() before it`);
    return denseApply(ctx, name, x, layer.units, layer);
  },
  conv2d: (ctx, layer, x, path, name) => {
    requireRank(path, layer, x, 4, '[batch, channels, height, width]');
    positiveInt(path, layer, 'filters', layer.filters);
    const kernel = pair(layer.kernel);
    const strides = pair(layer.strides ?? 1);
    const dil = pair(layer.dilation ?? 1);
    const cin = x.shape![1] as number;
    const w = ctx.param(`${name}.weight`, [layer.filters, cin, ...kernel], layer.kernelInit ?? 'pytorch');
    const b =
      layer.useBias === false
        ? null
        : ctx.param(
            `${name}.bias`,
            [layer.filters],
            layer.biasInit ?? 'pytorch',
            cin * kernel[0] * kernel[1],
          );
    const pads = spatialPads(path, layer, layer.padding, x, kernel, strides, dil);
    return op.conv(x, w, b, { strides, pads, dilations: dil });
  },
  maxPool2d: (ctx, layer, x, path) => {
    requireRank(path, layer, x, 4, '[batch, channels, height, width]');
    const kernel = pair(layer.size);
    const strides = pair(layer.strides ?? layer.size);
    const pads = spatialPads(path, layer, layer.padding, x, kernel, strides, [1, 1]);
    const o = { kernel, strides, pads };
    // Training graphs keep the argmax indices: their gradient (MaxUnpool, or a scatter-add for
    // overlapping windows) costs a fraction of the mask form's. Inference needs no indices.
    return ctx.training ? op.maxPoolWithIndices(x, o)[0] : op.maxPool(x, o);
  },
  avgPool2d: (_ctx, layer, x, path) => {
    requireRank(path, layer, x, 4, '[batch, channels, height, width]');
    const kernel = pair(layer.size);
    return op.averagePool(x, { kernel, strides: pair(layer.strides ?? layer.size) });
  },
  globalAvgPool: (_ctx, layer, x, path) => {
    requireRank(path, layer, x, 4, '[batch, channels, height, width]');
    return op.flatten(op.globalAveragePool(x), 1);
  },
  flatten: (_ctx, _layer, x) => op.flatten(x, 1),
  reshape: (_ctx, layer, x, path) => {
    const per = x.shape!.slice(1);
    const want = layer.shape.reduce((a, b) => a * b, 1);
    const have = per.every((d) => typeof d === 'number')
      ? (per as number[]).reduce((a, b) => a * b, 1)
      : undefined;
    if (have !== undefined && !layer.shape.includes(-1) && have !== want)
      fail(
        path,
        layer,
        `cannot reshape a sample of shape [${per}] (${have} values) to [${layer.shape}] (${want})`,
      );
    return op.reshape(x, [-1, ...layer.shape]);
  },
  relu: (_ctx, _layer, x) => op.relu(x),
  leakyRelu: (_ctx, layer, x) => op.leakyRelu(x, layer.alpha ?? 0.01),
  sigmoid: (_ctx, _layer, x) => op.sigmoid(x),
  tanh: (_ctx, _layer, x) => op.tanh(x),
  gelu: (_ctx, _layer, x) => {
    // The exact (erf) form, as in the original GELU paper and PyTorch's default, written as
    // PyTorch exports it — x / √2 — which ONNX Runtime fuses into one Gelu by itself (it leaves
    // the x · (1/√2) form as five ops).
    const g = x.graph;
    const inner = op.add(op.erf(op.div(x, op.scalar(g, Math.SQRT2))), op.scalar(g, 1));
    return op.mul(op.mul(x, inner), op.scalar(g, 0.5));
  },
  softmax: (_ctx, layer, x) => op.softmax(x, layer.axis ?? -1),
  dropout: (ctx, layer, x, path) => {
    if (!(layer.rate >= 0 && layer.rate < 1)) fail(path, layer, `rate must be in [0, 1), got ${layer.rate}`);
    return ctx.training && layer.rate > 0 ? op.dropout(x, layer.rate, ctx.dropoutSeed())[0] : x;
  },
  embedding: (ctx, layer, x, path, name) => {
    if (x.dtype !== 'int32' && x.dtype !== 'int64') fail(path, layer, `expects integer token ids, got ${x}`);
    const w = ctx.param(
      `${name}.weight`,
      [positiveInt(path, layer, 'vocabSize', layer.vocabSize), positiveInt(path, layer, 'dim', layer.dim)],
      layer.init ?? { normal: 1 },
    );
    return op.gather(w, x, 0);
  },
  positionalEmbedding: (ctx, layer, x, path, name) => {
    requireRank(path, layer, x, 3, '[batch, time, features]');
    const [t, d] = x.shape!.slice(1) as number[];
    if (t > layer.maxLength) fail(path, layer, `sequence length ${t} exceeds maxLength ${layer.maxLength}`);
    let p = ctx.param(`${name}.weight`, [layer.maxLength, d], layer.init ?? { normal: 0.02 });
    if (t < layer.maxLength) p = op.slice(p, [0], [t], [0]);
    return op.add(x, p);
  },
  layerNorm: (ctx, layer, x, path, name) => {
    const d = x.shape?.[x.shape.length - 1];
    if (typeof d !== 'number')
      fail(path, layer, `needs a static last dimension, got ${shapeToString(x.shape)}`);
    const scale = ctx.param(`${name}.weight`, [d], 'ones');
    const bias = ctx.param(`${name}.bias`, [d], 'zeros');
    return op.layerNormalization(x, scale, bias, -1, layer.epsilon ?? 1e-5)[0];
  },
  standardize: (_ctx, layer, x, path) => {
    const d = x.shape?.[x.shape.length - 1];
    if (typeof d !== 'number')
      fail(path, layer, `needs a static last dimension, got ${shapeToString(x.shape)}`);
    if (layer.mean.length !== d || layer.std.length !== d)
      fail(path, layer, `has ${layer.mean.length} means and ${layer.std.length} stds for ${d} features`);
    const bad = layer.std.findIndex((s) => !(Number.isFinite(s) && s > 0));
    if (bad >= 0) fail(path, layer, `std[${bad}] must be a positive finite number, got ${layer.std[bad]}`);
    const badMean = layer.mean.findIndex((m) => !Number.isFinite(m));
    if (badMean >= 0) fail(path, layer, `mean[${badMean}] must be finite, got ${layer.mean[badMean]}`);
    const g = x.graph;
    const mean = op.constant(g, op.tensorOf('float32', layer.mean, [d]), `${path}.mean`);
    const std = op.constant(g, op.tensorOf('float32', layer.std, [d]), `${path}.std`);
    return op.div(op.sub(x, mean), std);
  },
  causalSelfAttention: (ctx, layer, x, path, name) => {
    requireRank(path, layer, x, 3, '[batch, time, features]');
    const [t, d] = x.shape!.slice(1) as number[];
    const h = positiveInt(path, layer, 'heads', layer.heads);
    if (d % h !== 0) fail(path, layer, `features ${d} are not divisible by ${h} heads`);
    const dh = d / h;
    const g = x.graph;
    const qkv = denseApply(ctx, `${name}.qkv`, x, 3 * d);
    // [batch, t, 3, heads, dh] -> [3, batch, heads, t, dh]
    const split = op.transpose(op.reshape(qkv, [-1, t, 3, h, dh]), [2, 0, 3, 1, 4]);
    const pick = (i: number) =>
      op.gather(split, op.constant(g, op.tensorOf('int64', [i], []), 'qkv_index'), 0);
    const [q, k, v] = [pick(0), pick(1), pick(2)];
    const scores = op.add(
      op.mul(op.matmul(q, op.transpose(k, [0, 1, 3, 2])), op.scalar(g, 1 / Math.sqrt(dh))),
      causalMask(g, t),
    );
    let attn = op.softmax(scores, -1);
    if (ctx.training && layer.dropout) attn = op.dropout(attn, layer.dropout, ctx.dropoutSeed())[0];
    const heads = op.reshape(op.transpose(op.matmul(attn, v), [0, 2, 1, 3]), [-1, t, d]);
    return denseApply(ctx, `${name}.out`, heads, d);
  },
  residual: (ctx, layer, x, path) => {
    const y = buildSequence(ctx, layer.layers, x, `${path}.`);
    if (y.shape && x.shape && y.shape.join() !== x.shape.join())
      fail(
        path,
        layer,
        `its layers change the shape from ${shapeToString(x.shape)} to ${shapeToString(y.shape)}, so they cannot be added to the input`,
      );
    return op.add(x, y);
  },
  fakeQuantize: (ctx, layer, x, path) => buildFakeQuantize(ctx, layer, x, path),
};

function buildLayer(ctx: BuildContext, layer: LayerSpec, x: Value, path: string): Value {
  // Own entries only: a spec's type such as 'constructor' must not find Object's prototype.
  const build = Object.hasOwn(layerBuilders, layer.type)
    ? (layerBuilders[layer.type] as LayerBuilder<LayerSpec['type']>)
    : undefined;
  if (!build)
    throw new GraphError(`unknown layer type '${(layer as { type: string }).type}' at layer ${path}`);
  return build(ctx, layer, x, path, `${layer.type}_${path}`);
}

/**
 * Builds layers in order, except that a ReLU directly followed by a max pooling is built as the
 * pooling first: max(relu(x)) = relu(max(x)) exactly (ReLU is monotonic), and the ReLU — and its
 * gradient — then touch a quarter of the values. Layer paths (and so parameter names) are unchanged.
 */
function buildSequence(ctx: BuildContext, layers: readonly LayerSpec[], x: Value, prefix: string): Value {
  let y = x;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    const next = layers[i + 1];
    if (l.type === 'relu' && next?.type === 'maxPool2d') {
      y = buildLayer(ctx, next, y, `${prefix}${i + 1}`);
      y = buildLayer(ctx, l, y, `${prefix}${i}`);
      i++;
      continue;
    }
    y = buildLayer(ctx, l, y, `${prefix}${i}`);
  }
  return y;
}

export function validateSpec(spec: ModelSpec): void {
  if (
    !Array.isArray(spec.inputShape) ||
    spec.inputShape.length === 0 ||
    !spec.inputShape.every((d) => Number.isInteger(d) && d > 0)
  )
    throw new GraphError(
      `model inputShape must be a non-empty list of positive integers (one sample, no batch), got ${JSON.stringify(spec.inputShape)}`,
    );
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) throw new GraphError('model has no layers');
}

/** Builds the model's forward pass into a graph (a new one unless given). */
export function buildModel(spec: ModelSpec, options: BuildOptions): BuiltModel {
  validateSpec(spec);
  const graph = options.graph ?? new Graph(spec.name ?? 'edgefl_model');
  const ctx = new BuildContext(graph, spec, options);
  const input = graph.input(options.inputName ?? 'input', spec.inputType ?? 'float32', [
    'batch',
    ...spec.inputShape,
  ]);
  let y = input;
  y = buildSequence(ctx, spec.layers, y, '');
  if (!isStatic(y.shape?.slice(1)))
    throw new GraphError(`model output has unknown per-sample shape ${shapeToString(y.shape)}`);
  return { graph, input, output: y, parameters: ctx.params, layout: ParameterSet.layout(ctx.shapes) };
}

/** The model's parameters with their seeded initial values. */
export function initialParameters(spec: ModelSpec): ParameterSet {
  const values: Float32Array[] = [];
  const built = buildModel(spec, { mode: 'infer', initialValues: values });
  const set = new ParameterSet(built.layout);
  built.layout.forEach((e, i) => set.values.set(values[i], e.offset));
  return set;
}

/**
 * Typed constructors for the ONNX operators edgefl uses (opset 17). Each checks its inputs and
 * infers its outputs' types and shapes as the graph is built, so a mistake is reported at the node
 * that makes it ("Gemm: inner dimensions 784 and 200 differ"), not later by the runtime.
 */
import { Graph, GraphError, Value } from './graph.js';
import {
  attr,
  isFloat,
  shapeToString,
  type Attribute,
  type DType,
  type Dim,
  type Shape,
  type TensorData,
} from './types.js';
import { broadcastShapes, convOutputSize, divideSymbolic, normalizeAxis, product } from './shape.js';

function fail(op: string, message: string): never {
  throw new GraphError(`${op}: ${message}`);
}

function sameGraph(op: string, ...vs: Value[]): Graph {
  const g = vs[0].graph;
  for (const v of vs) if (v.graph !== g) fail(op, `inputs come from different graphs`);
  return g;
}

function one(
  g: Graph,
  op: string,
  inputs: (Value | null)[],
  attrs: Record<string, Attribute>,
  dtype: DType,
  shape: Shape | undefined,
): Value {
  return g.node(op, inputs, attrs, [{ dtype, shape }])[0];
}

function requireFloat(op: string, v: Value): void {
  if (!isFloat(v.dtype)) fail(op, `expects a floating-point tensor, got ${v}`);
}

// ---------------------------------------------------------------- constants

/** A constant tensor stored as an initializer. */
export function constant(g: Graph, data: TensorData, hint = 'const'): Value {
  return g.initializer(g.fresh(hint), data);
}

export function scalar(g: Graph, value: number, dtype: DType = 'float32'): Value {
  return constant(g, tensorOf(dtype, [value], []), 'scalar');
}

export function int64s(g: Graph, values: readonly number[], hint = 'ints'): Value {
  return constant(g, tensorOf('int64', values, [values.length]), hint);
}

export function tensorOf(dtype: DType, values: readonly number[], dims: readonly number[]): TensorData {
  switch (dtype) {
    case 'float32':
      return { dtype, dims, data: Float32Array.from(values) };
    case 'float64':
      return { dtype, dims, data: Float64Array.from(values) };
    case 'int64':
      return { dtype, dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) };
    case 'int32':
      return { dtype, dims, data: Int32Array.from(values) };
    case 'int8':
      return { dtype, dims, data: Int8Array.from(values) };
    case 'uint8':
    case 'bool':
      return { dtype, dims, data: Uint8Array.from(values) };
    case 'float16':
      throw new GraphError('tensorOf: float16 constants must be given as raw bits');
  }
}

// ---------------------------------------------------------------- elementwise

function binary(op: string, a: Value, b: Value, outType?: DType): Value {
  const g = sameGraph(op, a, b);
  if (a.dtype !== b.dtype) fail(op, `element types differ: ${a} and ${b}`);
  return one(g, op, [a, b], {}, outType ?? a.dtype, broadcastShapes(a.shape, b.shape, op));
}

export const add = (a: Value, b: Value) => binary('Add', a, b);
export const sub = (a: Value, b: Value) => binary('Sub', a, b);
export const mul = (a: Value, b: Value) => binary('Mul', a, b);
export const div = (a: Value, b: Value) => binary('Div', a, b);
export const pow = (a: Value, b: Value) => binary('Pow', a, b);
export const max2 = (a: Value, b: Value) => binary('Max', a, b);
export const min2 = (a: Value, b: Value) => binary('Min', a, b);
export const greater = (a: Value, b: Value) => binary('Greater', a, b, 'bool');
export const less = (a: Value, b: Value) => binary('Less', a, b, 'bool');
export const equal = (a: Value, b: Value) => binary('Equal', a, b, 'bool');

/** Sum of any number of same-typed tensors (with broadcasting). */
export function sum(vs: readonly Value[]): Value {
  if (vs.length === 0) throw new GraphError('Sum: needs at least one input');
  if (vs.length === 1) return vs[0];
  if (vs.length === 2) return add(vs[0], vs[1]);
  const g = sameGraph('Sum', ...vs);
  let shape: Shape | undefined = vs[0].shape;
  for (const v of vs.slice(1)) shape = broadcastShapes(shape, v.shape, 'Sum');
  return one(g, 'Sum', [...vs], {}, vs[0].dtype, shape);
}

export function where(cond: Value, a: Value, b: Value): Value {
  const g = sameGraph('Where', cond, a, b);
  if (cond.dtype !== 'bool') fail('Where', `condition must be bool, got ${cond}`);
  if (a.dtype !== b.dtype) fail('Where', `branches differ in type: ${a} and ${b}`);
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'Where'), b.shape, 'Where');
  return one(g, 'Where', [cond, a, b], {}, a.dtype, shape);
}

function unary(op: string, x: Value, attrs: Record<string, Attribute> = {}, float = true): Value {
  if (float) requireFloat(op, x);
  return one(x.graph, op, [x], attrs, x.dtype, x.shape);
}

export const relu = (x: Value) => unary('Relu', x);
export const sigmoid = (x: Value) => unary('Sigmoid', x);
export const tanh = (x: Value) => unary('Tanh', x);
export const exp = (x: Value) => unary('Exp', x);
export const log = (x: Value) => unary('Log', x);
export const neg = (x: Value) => unary('Neg', x, {}, false);
export const abs = (x: Value) => unary('Abs', x, {}, false);
export const sqrt = (x: Value) => unary('Sqrt', x);
export const reciprocal = (x: Value) => unary('Reciprocal', x);
export const erf = (x: Value) => unary('Erf', x);
export const sign = (x: Value) => unary('Sign', x, {}, false);
export const identity = (x: Value) => unary('Identity', x, {}, false);
export const leakyRelu = (x: Value, alpha: number) => unary('LeakyRelu', x, { alpha: attr.float(alpha) });

export function cast(x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  return one(x.graph, 'Cast', [x], { to: attr.int(onnxTypeCode(to)) }, to, x.shape);
}

export function onnxTypeCode(dtype: DType): number {
  const codes: Record<DType, number> = {
    float32: 1,
    uint8: 2,
    int8: 3,
    int32: 6,
    int64: 7,
    bool: 9,
    float16: 10,
    float64: 11,
  };
  return codes[dtype];
}

export function softmax(x: Value, axis = -1): Value {
  requireFloat('Softmax', x);
  return one(x.graph, 'Softmax', [x], { axis: attr.int(axis) }, x.dtype, x.shape);
}

export function logSoftmax(x: Value, axis = -1): Value {
  requireFloat('LogSoftmax', x);
  return one(x.graph, 'LogSoftmax', [x], { axis: attr.int(axis) }, x.dtype, x.shape);
}

// ---------------------------------------------------------------- linear algebra

function matmulShape(a: Shape, b: Shape): Dim[] {
  if (a.length < 1 || b.length < 1)
    fail('MatMul', `needs tensors of rank >= 1, got ${shapeToString(a)} and ${shapeToString(b)}`);
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k1 = a2[a2.length - 1];
  const k2 = b2[b2.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2)
    fail('MatMul', `inner dimensions ${k1} and ${k2} differ (${shapeToString(a)} x ${shapeToString(b)})`);
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2), 'MatMul') ?? [];
  const out: Dim[] = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

export function matmul(a: Value, b: Value): Value {
  const g = sameGraph('MatMul', a, b);
  requireFloat('MatMul', a);
  if (a.dtype !== b.dtype) fail('MatMul', `element types differ: ${a} and ${b}`);
  const shape = a.shape && b.shape ? matmulShape(a.shape, b.shape) : undefined;
  return one(g, 'MatMul', [a, b], {}, a.dtype, shape);
}

export interface GemmOptions {
  alpha?: number;
  beta?: number;
  transA?: boolean;
  transB?: boolean;
}

/** Y = alpha * op(A) op(B) + beta * C, with A and B matrices. */
export function gemm(a: Value, b: Value, c: Value | null, o: GemmOptions = {}): Value {
  const g = sameGraph('Gemm', a, b, ...(c ? [c] : []));
  requireFloat('Gemm', a);
  if (a.rank !== 2 || b.rank !== 2) fail('Gemm', `A and B must be matrices, got ${a} and ${b}`);
  const [m, ka] = o.transA ? [a.shape![1], a.shape![0]] : [a.shape![0], a.shape![1]];
  const [kb, n] = o.transB ? [b.shape![1], b.shape![0]] : [b.shape![0], b.shape![1]];
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb)
    fail(
      'Gemm',
      `inner dimensions ${ka} and ${kb} differ (A ${shapeToString(a.shape)}${o.transA ? 'ᵀ' : ''}, B ${shapeToString(b.shape)}${o.transB ? 'ᵀ' : ''})`,
    );
  if (c) broadcastShapes(c.shape, [m, n], 'Gemm (C)');
  const attrs: Record<string, Attribute> = {};
  if (o.alpha !== undefined && o.alpha !== 1) attrs.alpha = attr.float(o.alpha);
  if (o.beta !== undefined && o.beta !== 1) attrs.beta = attr.float(o.beta);
  if (o.transA) attrs.transA = attr.int(1);
  if (o.transB) attrs.transB = attr.int(1);
  return one(g, 'Gemm', [a, b, c], attrs, a.dtype, [m, n]);
}

// ---------------------------------------------------------------- shape manipulation

export function transpose(x: Value, perm?: readonly number[]): Value {
  const rank = x.rank;
  const p = perm ?? (rank === undefined ? undefined : [...Array(rank).keys()].reverse());
  if (p === undefined) fail('Transpose', `needs a known rank or an explicit perm for ${x}`);
  if (rank !== undefined && (p.length !== rank || [...p].sort((u, v) => u - v).some((v, i) => v !== i)))
    fail('Transpose', `perm [${p}] is not a permutation of the ${rank} axes of ${x}`);
  const shape = x.shape ? p.map((i) => x.shape![i]) : undefined;
  return one(x.graph, 'Transpose', [x], { perm: attr.ints(p) }, x.dtype, shape);
}

/** Reshape to a static target (0 copies a dim, -1 infers one), checked against known sizes. */
export function reshape(x: Value, target: readonly number[]): Value {
  const g = x.graph;
  if (target.filter((d) => d === -1).length > 1) fail('Reshape', `at most one -1 in target [${target}]`);
  let shape: Dim[] | undefined;
  if (x.shape) {
    shape = target.map((d, i) => (d === 0 ? x.shape![i] : d));
    const known = shape.filter((d) => d !== -1);
    const total = product(x.shape);
    const part = product(known);
    const inferIdx = shape.indexOf(-1);
    if (inferIdx >= 0) {
      if (typeof total === 'number' && typeof part === 'number') {
        if (total % part !== 0) fail('Reshape', `cannot reshape ${x} to [${target}]`);
        shape[inferIdx] = total / part;
      } else {
        // A symbolic total (e.g. 'batch*6') divided by the static rest of the target.
        const inferred =
          typeof total === 'string' && typeof part === 'number' ? divideSymbolic(total, part) : undefined;
        shape[inferIdx] = inferred ?? `${x.name}_dim`;
      }
    } else if (typeof total === 'number' && typeof part === 'number' && total !== part) {
      fail('Reshape', `cannot reshape ${x} (${total} elements) to [${target}] (${part} elements)`);
    }
  }
  return one(g, 'Reshape', [x, int64s(g, target, 'shape')], {}, x.dtype, shape);
}

/** Reshape to the run-time shape held in an int64 tensor (e.g. Shape(other)). */
export function reshapeTo(x: Value, shapeTensor: Value, staticShape?: Shape): Value {
  if (shapeTensor.dtype !== 'int64') fail('Reshape', `shape tensor must be int64, got ${shapeTensor}`);
  return one(x.graph, 'Reshape', [x, shapeTensor], {}, x.dtype, staticShape);
}

export function flatten(x: Value, axis = 1): Value {
  const shape = x.shape ? [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))] : undefined;
  return one(x.graph, 'Flatten', [x], { axis: attr.int(axis) }, x.dtype, shape);
}

export function shapeOf(x: Value): Value {
  return one(x.graph, 'Shape', [x], {}, 'int64', x.rank === undefined ? undefined : [x.rank]);
}

export function unsqueeze(x: Value, axes: readonly number[]): Value {
  let shape: Dim[] | undefined;
  if (x.shape) {
    const rank = x.shape.length + axes.length;
    const norm = axes.map((a) => normalizeAxis(a, rank, 'Unsqueeze')).sort((a, b) => a - b);
    shape = [...x.shape];
    for (const a of norm) shape.splice(a, 0, 1);
  }
  return one(x.graph, 'Unsqueeze', [x, int64s(x.graph, axes, 'axes')], {}, x.dtype, shape);
}

export function squeeze(x: Value, axes: readonly number[]): Value {
  let shape: Dim[] | undefined;
  if (x.shape) {
    const norm = new Set(axes.map((a) => normalizeAxis(a, x.shape!.length, 'Squeeze')));
    for (const a of norm)
      if (x.shape[a] !== 1 && typeof x.shape[a] === 'number') fail('Squeeze', `axis ${a} of ${x} is not 1`);
    shape = x.shape.filter((_, i) => !norm.has(i));
  }
  return one(x.graph, 'Squeeze', [x, int64s(x.graph, axes, 'axes')], {}, x.dtype, shape);
}

export function expand(x: Value, shapeTensor: Value, staticShape?: Shape): Value {
  return one(x.graph, 'Expand', [x, shapeTensor], {}, x.dtype, staticShape);
}

export function concat(xs: readonly Value[], axis: number): Value {
  const g = sameGraph('Concat', ...xs);
  let shape: Dim[] | undefined;
  if (xs.every((x) => x.shape)) {
    const rank = xs[0].shape!.length;
    const a = normalizeAxis(axis, rank, 'Concat');
    shape = [...xs[0].shape!];
    shape[a] = product(xs.map((x) => x.shape![a]));
    const sizes = xs.map((x) => x.shape![a]);
    shape[a] = sizes.every((s) => typeof s === 'number')
      ? (sizes as number[]).reduce((s, v) => s + v, 0)
      : `concat_${a}`;
  }
  return one(g, 'Concat', [...xs], { axis: attr.int(axis) }, xs[0].dtype, shape);
}

/** Static slice along the given axes. */
export function slice(
  x: Value,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[],
  steps?: readonly number[],
): Value {
  const g = x.graph;
  let shape: Dim[] | undefined;
  if (x.shape) {
    shape = [...x.shape];
    axes.forEach((ax, i) => {
      const a = normalizeAxis(ax, x.shape!.length, 'Slice');
      const d = shape![a];
      const step = steps?.[i] ?? 1;
      if (typeof d !== 'number') {
        shape![a] = `${x.name}_slice${a}`;
        return;
      }
      if (step === 0) fail('Slice', 'steps must not be 0');
      // ONNX's clamping: starts/ends are taken modulo the dim when negative, then clamped to
      // [0, d] for positive steps and [-1, d-1] for negative ones.
      const norm = (v: number) => (v < 0 ? v + d : v);
      const [lo, hi] = step > 0 ? [0, d] : [-1, d - 1];
      const clampTo = (v: number) => Math.max(lo, Math.min(hi, norm(v)));
      const start =
        step > 0 ? Math.max(0, Math.min(d, norm(starts[i]))) : Math.max(0, Math.min(d - 1, norm(starts[i])));
      const end = clampTo(ends[i]);
      shape![a] = Math.max(0, Math.ceil((end - start) / step));
    });
  }
  const inputs = [x, int64s(g, starts, 'starts'), int64s(g, ends, 'ends'), int64s(g, axes, 'axes')];
  if (steps) inputs.push(int64s(g, steps, 'steps'));
  return one(g, 'Slice', inputs, {}, x.dtype, shape);
}

/** Pads with zeros; pads = [begin_0, ..., begin_n, end_0, ..., end_n] as in ONNX. */
export function pad(x: Value, pads: readonly number[]): Value {
  const g = x.graph;
  const rank = x.rank;
  const shape = x.shape?.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + rank!] : d));
  return one(g, 'Pad', [x, int64s(g, pads, 'pads')], {}, x.dtype, shape);
}

// ---------------------------------------------------------------- reductions

function reducedShape(
  x: Value,
  axes: readonly number[] | undefined,
  keepdims: boolean,
  op: string,
): Dim[] | undefined {
  if (!x.shape) return undefined;
  const all = axes === undefined || axes.length === 0;
  const set = new Set(
    all ? x.shape.map((_, i) => i) : axes!.map((a) => normalizeAxis(a, x.shape!.length, op)),
  );
  return keepdims ? x.shape.map((d, i) => (set.has(i) ? 1 : d)) : x.shape.filter((_, i) => !set.has(i));
}

/** ReduceSum over `axes` (all axes when empty). Axes are an input since opset 13. */
export function reduceSum(x: Value, axes: readonly number[], keepdims = false): Value {
  const g = x.graph;
  const inputs = axes.length ? [x, int64s(g, axes, 'axes')] : [x];
  return one(
    g,
    'ReduceSum',
    inputs,
    { keepdims: attr.int(keepdims ? 1 : 0) },
    x.dtype,
    reducedShape(x, axes, keepdims, 'ReduceSum'),
  );
}

/** ReduceMean / ReduceMax / ReduceSumSquare take axes as an attribute until opset 18. */
function reduceAttr(op: string, x: Value, axes: readonly number[], keepdims: boolean): Value {
  const attrs: Record<string, Attribute> = { keepdims: attr.int(keepdims ? 1 : 0) };
  if (axes.length) attrs.axes = attr.ints(axes);
  return one(x.graph, op, [x], attrs, x.dtype, reducedShape(x, axes, keepdims, op));
}
export const reduceMean = (x: Value, axes: readonly number[], keepdims = false) =>
  reduceAttr('ReduceMean', x, axes, keepdims);
export const reduceMax = (x: Value, axes: readonly number[], keepdims = false) =>
  reduceAttr('ReduceMax', x, axes, keepdims);
export const reduceSumSquare = (x: Value, axes: readonly number[], keepdims = false) =>
  reduceAttr('ReduceSumSquare', x, axes, keepdims);

// ---------------------------------------------------------------- convolution and pooling

export interface ConvOptions {
  strides?: readonly number[];
  pads?: readonly number[]; // [begin..., end...]
  dilations?: readonly number[];
  group?: number;
}

function convAttrs(kernel: readonly number[], o: ConvOptions): Record<string, Attribute> {
  const n = kernel.length;
  return {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(o.strides ?? Array(n).fill(1)),
    pads: attr.ints(o.pads ?? Array(2 * n).fill(0)),
    dilations: attr.ints(o.dilations ?? Array(n).fill(1)),
    ...(o.group && o.group !== 1 ? { group: attr.int(o.group) } : {}),
  };
}

/** N-d convolution, X [N, C, spatial...], W [M, C/group, kernel...]. */
export function conv(x: Value, w: Value, b: Value | null, o: ConvOptions = {}): Value {
  const g = sameGraph('Conv', x, w, ...(b ? [b] : []));
  requireFloat('Conv', x);
  // The kernel must be static; the channel dims may be symbolic (the weight gradient convolves
  // with the batch as channels).
  if (!w.shape || !w.shape.slice(2).every((d) => typeof d === 'number'))
    fail('Conv', `kernel size must be static, got ${w}`);
  const ws = w.shape;
  const kernel = ws.slice(2) as number[];
  const n = kernel.length;
  if (x.rank !== undefined && x.rank !== n + 2)
    fail('Conv', `input ${x} must have rank ${n + 2} for weight ${w}`);
  const group = o.group ?? 1;
  const cin = x.shape?.[1];
  const wc = ws[1];
  if (typeof cin === 'number' && typeof wc === 'number' && cin !== wc * group)
    fail('Conv', `input has ${cin} channels but weight ${shapeToString(ws)} expects ${wc * group}`);
  const strides = o.strides ?? Array(n).fill(1);
  const pads = o.pads ?? Array(2 * n).fill(0);
  const dil = o.dilations ?? Array(n).fill(1);
  const shape = x.shape
    ? [
        x.shape[0],
        ws[0],
        ...kernel.map((k, i) => convOutputSize(x.shape![2 + i], k, strides[i], pads[i], pads[i + n], dil[i])),
      ]
    : undefined;
  shape?.slice(2).forEach((d, i) => {
    if (typeof d === 'number' && d < 1)
      fail('Conv', `output size along spatial axis ${i} would be ${d} for input ${x} and kernel ${kernel}`);
  });
  return one(g, 'Conv', [x, w, b], convAttrs(kernel, o), x.dtype, shape);
}

/** Transposed convolution (the input-gradient of Conv), W [C, M/group, kernel...]. */
export function convTranspose(
  x: Value,
  w: Value,
  o: ConvOptions & { outputPadding?: readonly number[]; outputShape?: Shape },
): Value {
  const g = sameGraph('ConvTranspose', x, w);
  const ws = w.shape as number[];
  const kernel = ws.slice(2);
  const n = kernel.length;
  const strides = o.strides ?? Array(n).fill(1);
  const pads = o.pads ?? Array(2 * n).fill(0);
  const dil = o.dilations ?? Array(n).fill(1);
  const outPad = o.outputPadding ?? Array(n).fill(0);
  const attrs = convAttrs(kernel, o);
  if (o.outputPadding && o.outputPadding.some((p) => p !== 0))
    attrs.output_padding = attr.ints(o.outputPadding);
  const shape =
    o.outputShape ??
    (x.shape
      ? [
          x.shape[0],
          ws[1] * (o.group ?? 1),
          ...kernel.map((k, i) => {
            const d = x.shape![2 + i];
            return typeof d === 'number'
              ? strides[i] * (d - 1) + outPad[i] + (k - 1) * dil[i] + 1 - pads[i] - pads[i + n]
              : `${d}_convT`;
          }),
        ]
      : undefined);
  return one(g, 'ConvTranspose', [x, w], attrs, x.dtype, shape);
}

export interface PoolOptions {
  kernel: readonly number[];
  strides?: readonly number[];
  pads?: readonly number[];
  dilations?: readonly number[];
  ceilMode?: boolean;
}

function poolShape(x: Value, o: PoolOptions, op: string): Dim[] | undefined {
  if (!x.shape) return undefined;
  const n = o.kernel.length;
  if (x.shape.length !== n + 2) fail(op, `input ${x} must have rank ${n + 2} for a ${n}-d window`);
  const strides = o.strides ?? o.kernel;
  const pads = o.pads ?? Array(2 * n).fill(0);
  const dil = o.dilations ?? Array(n).fill(1);
  const shape = [
    x.shape[0],
    x.shape[1],
    ...o.kernel.map((k, i) =>
      convOutputSize(x.shape![2 + i], k, strides[i], pads[i], pads[i + n], dil[i], o.ceilMode),
    ),
  ];
  shape.slice(2).forEach((d) => {
    if (typeof d === 'number' && d < 1) fail(op, `window ${o.kernel} does not fit input ${x}`);
  });
  return shape;
}

function poolAttrs(o: PoolOptions): Record<string, Attribute> {
  const n = o.kernel.length;
  const attrs: Record<string, Attribute> = {
    kernel_shape: attr.ints(o.kernel),
    strides: attr.ints(o.strides ?? o.kernel),
    pads: attr.ints(o.pads ?? Array(2 * n).fill(0)),
  };
  if (o.ceilMode) attrs.ceil_mode = attr.int(1);
  return attrs;
}

/** Max pooling; also returns the flat indices of the maxima (used by the gradient). */
export function maxPoolWithIndices(x: Value, o: PoolOptions): [Value, Value] {
  requireFloat('MaxPool', x);
  const shape = poolShape(x, o, 'MaxPool');
  const attrs = poolAttrs(o);
  if (o.dilations) attrs.dilations = attr.ints(o.dilations);
  const [y, idx] = x.graph.node('MaxPool', [x], attrs, [
    { dtype: x.dtype, shape },
    { dtype: 'int64', shape },
  ]);
  return [y, idx];
}

/**
 * The inverse of a max pooling with disjoint windows: places each value of x at the flat index
 * `indices` names (MaxPool's second output) in a zero tensor of `outputShape` (the pooled input's
 * shape, as an int64 tensor). Positions that no index names stay zero.
 */
export function maxUnpool(
  x: Value,
  indices: Value,
  outputShape: Value,
  o: PoolOptions,
  staticShape?: Shape,
): Value {
  const g = sameGraph('MaxUnpool', x, indices, outputShape);
  requireFloat('MaxUnpool', x);
  if (indices.dtype !== 'int64') fail('MaxUnpool', `indices must be int64, got ${indices}`);
  const attrs = poolAttrs(o);
  delete attrs.ceil_mode;
  return one(g, 'MaxUnpool', [x, indices, outputShape], attrs, x.dtype, staticShape);
}

export function maxPool(x: Value, o: PoolOptions): Value {
  requireFloat('MaxPool', x);
  const attrs = poolAttrs(o);
  if (o.dilations) attrs.dilations = attr.ints(o.dilations);
  return one(x.graph, 'MaxPool', [x], attrs, x.dtype, poolShape(x, o, 'MaxPool'));
}

export function averagePool(x: Value, o: PoolOptions & { countIncludePad?: boolean }): Value {
  requireFloat('AveragePool', x);
  const attrs = poolAttrs(o);
  if (o.countIncludePad) attrs.count_include_pad = attr.int(1);
  return one(x.graph, 'AveragePool', [x], attrs, x.dtype, poolShape(x, o, 'AveragePool'));
}

export function globalAveragePool(x: Value): Value {
  requireFloat('GlobalAveragePool', x);
  const shape = x.shape ? [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] : undefined;
  return one(x.graph, 'GlobalAveragePool', [x], {}, x.dtype, shape);
}

// ---------------------------------------------------------------- indexing

export function gather(data: Value, indices: Value, axis = 0): Value {
  const g = sameGraph('Gather', data, indices);
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32')
    fail('Gather', `indices must be int32/int64, got ${indices}`);
  let shape: Dim[] | undefined;
  if (data.shape && indices.shape) {
    const a = normalizeAxis(axis, data.shape.length, 'Gather');
    shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  }
  return one(g, 'Gather', [data, indices], { axis: attr.int(axis) }, data.dtype, shape);
}

export function gatherElements(data: Value, indices: Value, axis: number): Value {
  const g = sameGraph('GatherElements', data, indices);
  return one(g, 'GatherElements', [data, indices], { axis: attr.int(axis) }, data.dtype, indices.shape);
}

export function scatterElements(
  data: Value,
  indices: Value,
  updates: Value,
  axis: number,
  reduction: 'none' | 'add' = 'none',
): Value {
  const g = sameGraph('ScatterElements', data, indices, updates);
  const attrs: Record<string, Attribute> = { axis: attr.int(axis) };
  if (reduction !== 'none') attrs.reduction = attr.string(reduction);
  return one(g, 'ScatterElements', [data, indices, updates], attrs, data.dtype, data.shape);
}

export function scatterND(
  data: Value,
  indices: Value,
  updates: Value,
  reduction: 'none' | 'add' = 'none',
): Value {
  const g = sameGraph('ScatterND', data, indices, updates);
  const attrs: Record<string, Attribute> = reduction !== 'none' ? { reduction: attr.string(reduction) } : {};
  return one(g, 'ScatterND', [data, indices, updates], attrs, data.dtype, data.shape);
}

export function oneHot(indices: Value, depth: number, dtype: DType = 'float32', axis = -1): Value {
  const g = indices.graph;
  const shape = indices.shape ? [...indices.shape] : undefined;
  if (shape) shape.splice(axis < 0 ? shape.length + 1 + axis : axis, 0, depth);
  const values = constant(g, tensorOf(dtype, [0, 1], [2]), 'onehot_values');
  const d = constant(g, tensorOf('int64', [depth], []), 'depth');
  return one(g, 'OneHot', [indices, d, values], { axis: attr.int(axis) }, dtype, shape);
}

export function constantOfShape(
  shapeTensor: Value,
  value: number,
  dtype: DType = 'float32',
  staticShape?: Shape,
): Value {
  return one(
    shapeTensor.graph,
    'ConstantOfShape',
    [shapeTensor],
    { value: attr.tensor(tensorOf(dtype, [value], [1])) },
    dtype,
    staticShape,
  );
}

// ---------------------------------------------------------------- losses and normalization

/** ONNX SoftmaxCrossEntropyLoss with integer labels: returns [loss, logProb]. */
export function softmaxCrossEntropyLoss(
  scores: Value,
  labels: Value,
  weights: Value | null,
  reduction: 'mean' | 'sum' | 'none' = 'mean',
): [Value, Value] {
  const g = sameGraph('SoftmaxCrossEntropyLoss', scores, labels, ...(weights ? [weights] : []));
  if (labels.dtype !== 'int64' && labels.dtype !== 'int32')
    fail('SoftmaxCrossEntropyLoss', `labels must be integer, got ${labels}`);
  const lossShape = reduction === 'none' ? labels.shape : [];
  const [loss, logp] = g.node(
    'SoftmaxCrossEntropyLoss',
    [scores, labels, weights],
    { reduction: attr.string(reduction) },
    [
      { dtype: scores.dtype, shape: lossShape },
      { dtype: scores.dtype, shape: scores.shape },
    ],
  );
  return [loss, logp];
}

export function layerNormalization(
  x: Value,
  scale: Value,
  bias: Value,
  axis = -1,
  epsilon = 1e-5,
): [Value, Value, Value] {
  const g = sameGraph('LayerNormalization', x, scale, bias);
  const statShape = x.shape
    ? x.shape.map((d, i) => (i >= normalizeAxis(axis, x.shape!.length, 'LayerNormalization') ? 1 : d))
    : undefined;
  const [y, mean, invStd] = g.node(
    'LayerNormalization',
    [x, scale, bias],
    { axis: attr.int(axis), epsilon: attr.float(epsilon) },
    [
      { dtype: x.dtype, shape: x.shape },
      { dtype: 'float32', shape: statShape },
      { dtype: 'float32', shape: statShape },
    ],
  );
  return [y, mean, invStd];
}

/** Dropout in training mode with a fixed seed: returns [output, mask]. */
export function dropout(x: Value, ratio: number, seed: number): [Value, Value] {
  const g = x.graph;
  const r = scalar(g, ratio, x.dtype);
  const training = constant(g, tensorOf('bool', [1], []), 'training');
  const [y, mask] = g.node('Dropout', [x, r, training], { seed: attr.int(seed) }, [
    { dtype: x.dtype, shape: x.shape },
    { dtype: 'bool', shape: x.shape },
  ]);
  return [y, mask];
}

export { Graph, Value };

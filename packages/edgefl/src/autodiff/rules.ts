/**
 * The backward rule of every differentiable operator, one entry each, written with the same typed
 * ops as the forward pass. Rules use only operators that have rules themselves, so gradients can
 * be differentiated again (second order), except where noted.
 *
 * Adding an operator = one entry here + one finite-difference test in rules.test.ts.
 */
import { GraphError, type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { broadcastReductionAxes } from '../onnx/shape.js';
import { isStatic, numElements, shapeToString } from '../onnx/types.js';
import type { GradientRule, NodeView } from './gradients.js';

// ------------------------------------------------------------ helpers

const S = (v: Value, x: number) => op.scalar(v.graph, x, v.dtype);

/** Sums `dy` over the axes along which `x` was broadcast to produce it, and shapes it like `x`. */
export function unbroadcast(dy: Value, x: Value): Value {
  if (
    x.shape &&
    dy.shape &&
    x.shape.length === dy.shape.length &&
    x.shape.every((d, i) => d === dy.shape![i])
  )
    return dy;
  const axes = broadcastReductionAxes(x.shape, dy.shape);
  if (axes === undefined)
    throw new GraphError(
      `gradient: cannot tell statically how ${x} was broadcast to ${shapeToString(dy.shape)}`,
    );
  // Summing away exactly the leading axes gives x's shape directly (one node instead of two).
  const lead = dy.shape!.length - x.shape!.length;
  if (lead > 0 && axes.length === lead && axes.every((a, i) => a === i)) return op.reduceSum(dy, axes, false);
  const reduced = axes.length ? op.reduceSum(dy, axes, true) : dy;
  return x.shape!.length === reduced.shape!.length
    ? reduced
    : isStatic(x.shape)
      ? op.reshape(reduced, [...x.shape])
      : op.reshapeTo(reduced, op.shapeOf(x), x.shape);
}

function zerosLike(x: Value): Value {
  return op.constantOfShape(op.shapeOf(x), 0, x.dtype, x.shape);
}

/** Brings `dy` back to the shape of `x` after a reshape-like op. */
function reshapeLike(dy: Value, x: Value): Value {
  return isStatic(x.shape) ? op.reshape(dy, [...x.shape]) : op.reshapeTo(dy, op.shapeOf(x), x.shape);
}

/** Number of elements of x divided by that of y (the averaging factor of a mean), as a scalar. */
function countRatio(x: Value, y: Value): Value {
  if (isStatic(x.shape) && isStatic(y.shape)) return S(x, numElements(x.shape) / numElements(y.shape));
  const size = (v: Value) =>
    op.cast(x.graph.node('Size', [v], {}, [{ dtype: 'int64', shape: [] }])[0], x.dtype);
  return op.div(size(x), size(y));
}

/** Swaps the last two axes of a tensor of rank >= 2. */
function swapLast(v: Value): Value {
  const r = v.rank;
  if (r === undefined || r < 2) throw new GraphError(`MatMul gradient needs rank >= 2, got ${v}`);
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return op.transpose(v, perm);
}

function expandTo(dy: Value, x: Value): Value {
  return op.expand(dy, op.shapeOf(x), x.shape);
}

function inversePermutation(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return inv;
}

/** Whether pooling windows tile x exactly: stride = kernel, no padding, sizes divisible. */
function tilesExactly(
  x: Value,
  kernel: readonly number[],
  strides: readonly number[],
  pads: readonly number[],
): boolean {
  return (
    kernel.length === 2 &&
    kernel.every(
      (k, i) =>
        strides[i] === k && typeof x.shape?.[2 + i] === 'number' && (x.shape![2 + i] as number) % k === 0,
    ) &&
    pads.every((p) => p === 0) &&
    typeof x.shape?.[1] === 'number'
  );
}

/** Nearest-neighbour upsampling of [N, C, h, w] by [kh, kw], with Reshape and a broadcasting Expand. */
function upsample(v: Value, [kh, kw]: readonly number[]): Value {
  const [c, h, w] = v.shape!.slice(1) as number[];
  const split = op.reshape(v, [-1, c, h, 1, w, 1]);
  const wide = op.expand(split, op.int64s(v.graph, [1, 1, 1, kh, 1, kw]), [v.shape![0], c, h, kh, w, kw]);
  return op.reshape(wide, [-1, c, h * kh, w * kw]);
}

/** A reduction's output gradient with the reduced axes put back as 1s (when keepdims was 0). */
function restoreReducedAxes(n: NodeView, dy: Value, axes: readonly number[]): Value {
  if (n.int('keepdims', 1) !== 0) return dy;
  return axes.length
    ? op.unsqueeze(dy, axes)
    : op.reshape(
        dy,
        n.input(0).shape!.map(() => 1),
      );
}

const nonDifferentiable: GradientRule = (n) => n.inputs.map(() => null);

// ------------------------------------------------------------ quantization

/**
 * A QuantizeLinear / DequantizeLinear scale or zero-point input shaped to broadcast against `x`:
 * a scalar as is, a per-axis vector as [C, 1, ..., 1] from the node's axis on.
 */
function alongAxis(n: NodeView, v: Value, x: Value): Value {
  if (v.rank === 0) return v;
  const rank = x.rank;
  if (rank === undefined) throw new GraphError(`${n.op} '${n.node.name}' gradient needs the input's rank`);
  const a = n.int('axis', 1);
  const axis = a < 0 ? a + rank : a;
  return op.reshape(v, [-1, ...Array<number>(rank - axis - 1).fill(1)]);
}

/**
 * The straight-through estimator of quantization (Bengio et al. 2013; the clipped form, as
 * TensorFlow's fake quantization): rounding passes the gradient unchanged and saturation stops it,
 * so d q / d x = 1/scale where (q_min - zp) scale <= x <= (q_max - zp) scale, else 0. The scale and
 * zero-point get no gradient: they are observed (calibration, the weights' range), not learned.
 */
function quantizeLinearGrads(n: NodeView, dq: Value): (Value | null)[] {
  const [x, scale, zeroPoint] = [n.input(0), n.input(1), n.inputs[2]];
  const signed = zeroPoint?.dtype === 'int8';
  const [qMin, qMax] = signed ? [-128, 127] : [0, 255];
  const s = alongAxis(n, scale, x);
  const zp = zeroPoint ? op.cast(alongAxis(n, zeroPoint, x), x.dtype) : S(x, 0);
  const low = op.mul(op.sub(S(x, qMin), zp), s);
  const high = op.mul(op.sub(S(x, qMax), zp), s);
  const zero = S(dq, 0);
  const inside = op.where(op.greater(x, high), zero, op.div(dq, s));
  return [op.where(op.less(x, low), zero, inside), null, null];
}

function dequantizeLinearGrads(n: NodeView, dy: Value): (Value | null)[] {
  // y = (q - zp) scale: dy/dq = scale (q is an integer tensor; its gradient only travels on to the
  // QuantizeLinear that made it).
  return [op.mul(dy, alongAxis(n, n.input(1), n.input(0))), null, null];
}

// ------------------------------------------------------------ convolution

function convGrads(n: NodeView, dy: Value, needed: readonly boolean[]): (Value | null)[] {
  const x = n.input(0);
  const w = n.input(1);
  const group = n.int('group', 1);
  const ws = w.shape as number[];
  const kernel = ws.slice(2);
  const k = kernel.length;
  const strides = n.ints('strides', Array(k).fill(1));
  const pads = n.ints('pads', Array(2 * k).fill(0));
  const dil = n.ints('dilations', Array(k).fill(1));
  let dx: Value | null = null;
  let dw: Value | null = null;
  let db: Value | null = null;
  if (needed[0]) {
    // The input gradient is the transposed convolution with the same weights; output_padding
    // restores the rows a strided convolution dropped.
    if (!isStatic(x.shape?.slice(2)) || !isStatic(dy.shape?.slice(2)))
      throw new GraphError(`Conv gradient needs static spatial sizes, got ${x}`);
    const outputPadding = kernel.map((kk, i) => {
      const full =
        strides[i] * ((dy.shape![2 + i] as number) - 1) + (kk - 1) * dil[i] + 1 - pads[i] - pads[i + k];
      return (x.shape![2 + i] as number) - full;
    });
    dx = op.convTranspose(dy, w, {
      strides,
      pads,
      dilations: dil,
      group,
      outputPadding,
      outputShape: x.shape,
    });
  }
  if (needed[1]) {
    if (group !== 1)
      throw new GraphError(
        `Conv weight gradient supports group = 1 only (node '${n.node.name}' has ${group})`,
      );
    // dW[m, c, kh, kw] = sum_n,i x[n, c, i*s + kh*d - p] dy[n, m, i]: a convolution of x (batch as
    // channels) with dy as the filter, where the roles of stride and dilation swap.
    const xt = op.transpose(x, [1, 0, ...kernel.map((_, i) => 2 + i)]);
    const dyt = op.transpose(dy, [1, 0, ...kernel.map((_, i) => 2 + i)]);
    let full = op.conv(xt, dyt, null, { strides: dil, dilations: strides, pads });
    // The result can overhang the kernel when the strided windows don't tile the padded input.
    if (kernel.some((kk, i) => full.shape![2 + i] !== kk))
      full = op.slice(
        full,
        kernel.map(() => 0),
        kernel,
        kernel.map((_, i) => 2 + i),
      );
    dw = op.transpose(full, [1, 0, ...kernel.map((_, i) => 2 + i)]);
  }
  if (needed[2]) db = op.reduceSum(dy, [0, ...kernel.map((_, i) => 2 + i)], false);
  return [dx, dw, db];
}

function convTransposeGrads(n: NodeView, dy: Value, needed: readonly boolean[]): (Value | null)[] {
  if (needed[1] || needed[2])
    throw new GraphError(
      `ConvTranspose: gradient w.r.t. weights/bias is not implemented (node '${n.node.name}')`,
    );
  const w = n.input(1);
  const k = (w.shape as number[]).length - 2;
  // ConvTranspose is the adjoint of Conv: its input gradient is the convolution with the same weights.
  const dx = op.conv(dy, w, null, {
    strides: n.ints('strides', Array(k).fill(1)),
    pads: n.ints('pads', Array(2 * k).fill(0)),
    dilations: n.ints('dilations', Array(k).fill(1)),
    group: n.int('group', 1),
  });
  return [dx, null, null];
}

// ------------------------------------------------------------ the table

export const gradientRules: Record<string, GradientRule> = {
  Identity: (_n, [dy]) => [dy],
  Add: (n, [dy]) => [unbroadcast(dy!, n.input(0)), unbroadcast(dy!, n.input(1))],
  Sub: (n, [dy]) => [unbroadcast(dy!, n.input(0)), unbroadcast(op.neg(dy!), n.input(1))],
  Mul: (n, [dy], need) => [
    need[0] ? unbroadcast(op.mul(dy!, n.input(1)), n.input(0)) : null,
    need[1] ? unbroadcast(op.mul(dy!, n.input(0)), n.input(1)) : null,
  ],
  Div: (n, [dy], need) => [
    need[0] ? unbroadcast(op.div(dy!, n.input(1)), n.input(0)) : null,
    need[1] ? unbroadcast(op.neg(op.div(op.mul(dy!, n.outputs[0]), n.input(1))), n.input(1)) : null,
  ],
  Pow: (n, [dy], need) => {
    if (need[1])
      throw new GraphError(`Pow: gradient w.r.t. the exponent is not implemented (node '${n.node.name}')`);
    const [x, p] = [n.input(0), n.input(1)];
    return [unbroadcast(op.mul(dy!, op.mul(p, op.pow(x, op.sub(p, S(p, 1))))), x), null];
  },
  Sum: (n, [dy]) => n.inputs.map((x) => unbroadcast(dy!, x!)),
  Neg: (_n, [dy]) => [op.neg(dy!)],
  Relu: (n, [dy]) => [op.where(op.greater(n.outputs[0], S(dy!, 0)), dy!, S(dy!, 0))],
  LeakyRelu: (n, [dy]) => [
    op.where(op.greater(n.input(0), S(dy!, 0)), dy!, op.mul(dy!, S(dy!, n.float('alpha', 0.01)))),
  ],
  Sigmoid: (n, [dy]) => {
    const y = n.outputs[0];
    return [op.mul(dy!, op.mul(y, op.sub(S(y, 1), y)))];
  },
  Tanh: (n, [dy]) => {
    const y = n.outputs[0];
    return [op.mul(dy!, op.sub(S(y, 1), op.mul(y, y)))];
  },
  Exp: (n, [dy]) => [op.mul(dy!, n.outputs[0])],
  Log: (n, [dy]) => [op.div(dy!, n.input(0))],
  Sqrt: (n, [dy]) => [op.div(op.mul(dy!, S(dy!, 0.5)), n.outputs[0])],
  Reciprocal: (n, [dy]) => [op.neg(op.mul(dy!, op.mul(n.outputs[0], n.outputs[0])))],
  Erf: (n, [dy]) => {
    const x = n.input(0);
    return [op.mul(dy!, op.mul(S(x, 2 / Math.sqrt(Math.PI)), op.exp(op.neg(op.mul(x, x)))))];
  },
  Abs: (n, [dy]) => [op.mul(dy!, op.sign(n.input(0)))],
  Cast: (n, [dy]) => [op.cast(dy!, n.input(0).dtype)],
  Where: (n, [dy]) => {
    const [c, a, b] = [n.input(0), n.input(1), n.input(2)];
    const zero = S(dy!, 0);
    return [null, unbroadcast(op.where(c, dy!, zero), a), unbroadcast(op.where(c, zero, dy!), b)];
  },
  Softmax: (n, [dy]) => {
    const y = n.outputs[0];
    const axis = n.int('axis', -1);
    return [op.mul(y, op.sub(dy!, op.reduceSum(op.mul(dy!, y), [axis], true)))];
  },
  LogSoftmax: (n, [dy]) => {
    const axis = n.int('axis', -1);
    return [op.sub(dy!, op.mul(op.exp(n.outputs[0]), op.reduceSum(dy!, [axis], true)))];
  },
  MatMul: (n, [dy], need) => {
    const [a, b] = [n.input(0), n.input(1)];
    return [
      need[0] ? unbroadcast(op.matmul(dy!, swapLast(b)), a) : null,
      need[1] ? unbroadcast(op.matmul(swapLast(a), dy!), b) : null,
    ];
  },
  Gemm: (n, [dy], need) => {
    const [a, b, c] = [n.input(0), n.input(1), n.inputs[2]];
    const alpha = n.float('alpha', 1);
    const beta = n.float('beta', 1);
    const tA = n.int('transA', 0) === 1;
    const tB = n.int('transB', 0) === 1;
    // With op(A) = tA ? Aᵀ : A: d op(A) = alpha dy op(B)ᵀ and d op(B) = alpha op(A)ᵀ dy, transposed back.
    const da = !need[0]
      ? null
      : tA
        ? op.gemm(b, dy!, null, { alpha, transA: tB, transB: true })
        : op.gemm(dy!, b, null, { alpha, transB: !tB });
    const db = !need[1]
      ? null
      : tB
        ? op.gemm(dy!, a, null, { alpha, transA: true, transB: tA })
        : op.gemm(a, dy!, null, { alpha, transA: !tA });
    const dc = need[2] && c ? unbroadcast(beta === 1 ? dy! : op.mul(dy!, S(dy!, beta)), c) : null;
    return [da, db, dc];
  },
  Transpose: (n, [dy]) => {
    const x = n.input(0);
    const perm = n.ints('perm', [...Array(x.rank!).keys()].reverse());
    return [op.transpose(dy!, inversePermutation(perm))];
  },
  Reshape: (n, [dy]) => [reshapeLike(dy!, n.input(0)), null],
  Flatten: (n, [dy]) => [reshapeLike(dy!, n.input(0))],
  Squeeze: (n, [dy]) => [reshapeLike(dy!, n.input(0)), null],
  Unsqueeze: (n, [dy]) => [reshapeLike(dy!, n.input(0)), null],
  Expand: (n, [dy]) => [unbroadcast(dy!, n.input(0)), null],
  ReduceSum: (n, [dy]) => {
    const x = n.input(0);
    const axesInput = n.inputs[1];
    return [expandTo(restoreReducedAxes(n, dy!, axesInput ? axesOf(axesInput) : []), x), null];
  },
  ReduceMean: (n, [dy]) => {
    const x = n.input(0);
    const g = restoreReducedAxes(n, dy!, n.ints('axes', []));
    return [op.div(expandTo(g, x), countRatio(x, n.outputs[0]))];
  },
  ReduceSumSquare: (n, [dy]) => {
    const x = n.input(0);
    const g = restoreReducedAxes(n, dy!, n.ints('axes', []));
    return [op.mul(op.mul(expandTo(g, x), x), S(x, 2))];
  },
  Concat: (n, [dy]) => {
    const axis = n.int('axis', 0);
    let start = 0;
    return n.inputs.map((x) => {
      const size = x!.shape![axis < 0 ? x!.rank! + axis : axis];
      if (typeof size !== 'number')
        throw new GraphError(`Concat gradient needs static sizes along axis ${axis}`);
      const part = op.slice(dy!, [start], [start + size], [axis]);
      start += size;
      return part;
    });
  },
  Slice: (n, [dy]) => {
    const x = n.input(0);
    if (!isStatic(x.shape)) throw new GraphError(`Slice gradient needs a static input shape, got ${x}`);
    const [starts, ends] = [constInts(n.input(1)), constInts(n.input(2))];
    const axes = n.inputs[3] ? constInts(n.inputs[3]) : starts.map((_, i) => i);
    if (n.inputs[4] && constInts(n.inputs[4]).some((s) => s !== 1))
      throw new GraphError('Slice gradient supports step 1 only');
    // The gradient is dy placed back where the slice came from: zero padding around it.
    const rank = x.shape.length;
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((ax, i) => {
      const a = ax < 0 ? ax + rank : ax;
      const d = (x.shape as number[])[a];
      const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : v));
      pads[a] = clamp(starts[i]);
      pads[a + rank] = d - clamp(ends[i]);
    });
    return [op.pad(dy!, pads), null, null, null, null];
  },
  Pad: (n, [dy]) => {
    const x = n.input(0);
    if (!isStatic(x.shape)) throw new GraphError(`Pad gradient needs a static input shape, got ${x}`);
    const pads = constInts(n.input(1));
    const rank = x.shape.length;
    if (pads.some((p) => p < 0)) throw new GraphError('Pad gradient supports non-negative pads only');
    const axes = [...Array(rank).keys()];
    return [
      op.slice(
        dy!,
        axes.map((a) => pads[a]),
        axes.map((a) => pads[a] + (x.shape as number[])[a]),
        axes,
      ),
      null,
      null,
    ];
  },
  Gather: (n, [dy], need) => {
    if (need[1]) throw new GraphError('Gather: indices are not differentiable');
    const [data, indices] = [n.input(0), n.input(1)];
    if (n.int('axis', 0) !== 0)
      throw new GraphError(`Gather gradient supports axis 0 only (node '${n.node.name}')`);
    // Rows gathered several times receive the sum of their gradients.
    const idx = op.unsqueeze(op.cast(indices, 'int64'), [-1]);
    return [op.scatterND(zerosLike(data), idx, dy!, 'add'), null];
  },
  GatherElements: (n, [dy]) => [
    op.scatterElements(zerosLike(n.input(0)), n.input(1), dy!, n.int('axis', 0), 'add'),
    null,
  ],
  ScatterElements: (n, [dy]) => {
    const [, idx, updates] = [n.input(0), n.input(1), n.input(2)];
    const axis = n.int('axis', 0);
    const reduction = n.string('reduction', 'none');
    if (reduction !== 'none' && reduction !== 'add')
      throw new GraphError(`ScatterElements gradient: reduction '${reduction}' is not supported`);
    const dData = reduction === 'add' ? dy! : op.scatterElements(dy!, idx, zerosLike(updates), axis);
    return [dData, null, op.gatherElements(dy!, idx, axis)];
  },
  ScatterND: (n, [dy]) => {
    const [, idx] = [n.input(0), n.input(1)];
    if (n.string('reduction', 'none') !== 'add')
      throw new GraphError('ScatterND gradient supports reduction add only');
    return [
      dy!,
      null,
      n.graph.node('GatherND', [dy!, idx], {}, [{ dtype: dy!.dtype, shape: n.input(2).shape }])[0],
    ];
  },
  Conv: (n, [dy], need) => convGrads(n, dy!, need),
  ConvTranspose: (n, [dy], need) => convTransposeGrads(n, dy!, need),
  MaxPool: (n, [dy]) => {
    const x = n.input(0);
    if (n.outputs.length >= 2) {
      const kernel = n.ints('kernel_shape', []);
      const strides = n.ints('strides', kernel);
      const dilated = n.ints('dilations', []).some((d) => d !== 1);
      // (ceil_mode's overhanging last window would make MaxUnpool infer a larger output than x.)
      if (!dilated && n.int('ceil_mode', 0) === 0 && kernel.every((k, i) => strides[i] >= k)) {
        // Disjoint windows: every input position is the maximum of at most one window, so the
        // gradient is dy placed at the indices. MaxUnpool does exactly that in one pass; it is
        // several times faster in ONNX Runtime than the mask form (whose broadcasting Expand
        // copies one float at a time) and than a scatter-add.
        const o = { kernel, strides, pads: n.ints('pads', Array(2 * kernel.length).fill(0)) };
        return [op.maxUnpool(dy!, n.outputs[1], op.shapeOf(x), o, x.shape)];
      }
      // Indices address the flattened input (ONNX's definition), so the gradient is a scatter-add
      // of dy into a flat zero tensor; 'add' covers overlapping windows.
      const flatIdx = op.reshape(n.outputs[1], [-1]);
      const flatDy = op.reshape(dy!, [-1]);
      const flatZeros = op.reshape(zerosLike(x), [-1]);
      return [reshapeLike(op.scatterElements(flatZeros, flatIdx, flatDy, 0, 'add'), x)];
    }
    const kernel = n.ints('kernel_shape', []);
    if (!tilesExactly(x, kernel, n.ints('strides', kernel), n.ints('pads', [])))
      throw new GraphError(
        `MaxPool '${n.node.name}': overlapping or partial windows need the indices output to be differentiated`,
      );
    // Windows tile the input: route dy to the positions equal to their window's maximum. (With
    // exact ties inside a window each tied position receives dy; after a ReLU, ties at zero get no
    // gradient anyway, and for continuous inputs ties have probability zero.)
    const mask = op.cast(op.equal(x, upsample(n.outputs[0], kernel)), x.dtype);
    return [op.mul(upsample(dy!, kernel), mask)];
  },
  MaxUnpool: (n, [dy]) => {
    // Each input value went to one flat position of the output: read its gradient back from there.
    const flatDy = op.reshape(dy!, [-1]);
    return [op.gather(flatDy, n.input(1), 0), null, null];
  },
  AveragePool: (n, [dy]) => {
    const x = n.input(0);
    const kernel = n.ints('kernel_shape', []);
    const k = kernel.length;
    const strides = n.ints('strides', Array(k).fill(1));
    const pads = n.ints('pads', Array(2 * k).fill(0));
    if (pads.some((p) => p !== 0) && n.int('count_include_pad', 0) === 0)
      throw new GraphError(
        `AveragePool gradient with padding needs count_include_pad = 1 (node '${n.node.name}')`,
      );
    const channels = x.shape?.[1];
    if (typeof channels !== 'number')
      throw new GraphError(`AveragePool gradient needs a static channel count, got ${x}`);
    // Spreads each output's gradient evenly over its window: a depthwise transposed convolution.
    const area = numElements(kernel);
    const w = op.constant(
      x.graph,
      op.tensorOf(x.dtype, new Array(channels * area).fill(1 / area), [channels, 1, ...kernel]),
      'avgpool_w',
    );
    const outputPadding = kernel.map(
      (kk, i) =>
        (x.shape![2 + i] as number) -
        (strides[i] * ((dy!.shape![2 + i] as number) - 1) + kk - pads[i] - pads[i + k]),
    );
    return [
      op.convTranspose(dy!, w, { strides, pads, group: channels, outputPadding, outputShape: x.shape }),
    ];
  },
  GlobalAveragePool: (n, [dy]) => {
    const x = n.input(0);
    return [op.div(expandTo(dy!, x), countRatio(x, n.outputs[0]))];
  },
  SoftmaxCrossEntropyLoss: (n, [dLoss, dLogp]) => {
    const [scores, labels, weights] = [n.input(0), n.input(1), n.inputs[2]];
    const reduction = n.string('reduction', 'mean');
    if (n.node.attrs.ignore_index)
      throw new GraphError('SoftmaxCrossEntropyLoss gradient: ignore_index is not supported');
    const logp = n.outputs[1];
    const classAxis = 1;
    const depth = scores.shape?.[classAxis];
    if (typeof depth !== 'number')
      throw new GraphError(`SoftmaxCrossEntropyLoss gradient needs a static class count, got ${scores}`);
    const parts: Value[] = [];
    if (dLoss) {
      // d loss_i / d scores_i = softmax_i - onehot(label_i), times the sample's class weight,
      // divided by the number of samples (or the total weight) for a mean.
      const onehot = op.oneHot(op.cast(labels, 'int64'), depth, scores.dtype, classAxis);
      let residual = op.sub(op.exp(logp), onehot);
      let scale: Value = dLoss;
      if (weights) {
        const w = op.gather(weights, labels);
        residual = op.mul(residual, op.unsqueeze(w, [classAxis]));
        if (reduction === 'mean') scale = op.div(dLoss, op.reduceSum(w, [], false));
      } else if (reduction === 'mean') {
        const count = isStatic(labels.shape)
          ? S(scores, numElements(labels.shape))
          : op.cast(sizeOf(labels), scores.dtype);
        scale = op.div(dLoss, count);
      }
      if (reduction === 'none') scale = op.unsqueeze(dLoss, [classAxis]);
      parts.push(op.mul(residual, scale));
    }
    if (dLogp) parts.push(op.sub(dLogp, op.mul(op.exp(logp), op.reduceSum(dLogp, [classAxis], true))));
    return [op.sum(parts), null, null];
  },
  LayerNormalization: (n, [dy]) => {
    const [x, scale] = [n.input(0), n.input(1)];
    const axis = n.int('axis', -1);
    const rank = x.rank!;
    const a = axis < 0 ? axis + rank : axis;
    const normAxes = [...Array(rank - a).keys()].map((i) => a + i);
    const [mean, invStd] = [n.outputs[1], n.outputs[2]];
    const xhat = op.mul(op.sub(x, mean), invStd);
    const dxhat = op.mul(dy!, scale);
    const m1 = op.reduceMean(dxhat, normAxes, true);
    const m2 = op.reduceMean(op.mul(dxhat, xhat), normAxes, true);
    const dx = op.mul(invStd, op.sub(op.sub(dxhat, m1), op.mul(xhat, m2)));
    const batchAxes = [...Array(a).keys()];
    const dscale = batchAxes.length ? op.reduceSum(op.mul(dy!, xhat), batchAxes, false) : op.mul(dy!, xhat);
    const dbias = batchAxes.length ? op.reduceSum(dy!, batchAxes, false) : dy!;
    return [dx, dscale, dbias];
  },
  Dropout: (n, [dy]) => {
    const ratio = n.inputs[1];
    const mask = n.outputs[1];
    if (!mask)
      throw new GraphError(
        `Dropout '${n.node.name}' must be built with its mask output to be differentiated`,
      );
    const keep = ratio ? op.sub(S(dy!, 1), ratio) : S(dy!, 0.5);
    return [op.div(op.mul(dy!, op.cast(mask, dy!.dtype)), keep), null, null];
  },
  Shape: nonDifferentiable,
  Size: nonDifferentiable,
  OneHot: nonDifferentiable,
  Greater: nonDifferentiable,
  Less: nonDifferentiable,
  Equal: nonDifferentiable,
  Sign: (n) => [op.mul(S(n.input(0), 0), n.input(0))],
  // Fake quantization's operators; their finite-difference checks (in whole quantization steps, away
  // from rounding boundaries) are in model/fake-quantize.test.ts.
  QuantizeLinear: (n, [dq]) => quantizeLinearGrads(n, dq!),
  DequantizeLinear: (n, [dy]) => dequantizeLinearGrads(n, dy!),
  // Round's derivative is 0 almost everywhere, which would stop learning: edgefl emits Round only in
  // fake quantization (a bias rounded to its int32 grid), where the straight-through gradient is meant.
  Round: (_n, [dy]) => [dy],
  ConstantOfShape: nonDifferentiable,
};

function sizeOf(v: Value): Value {
  return v.graph.node('Size', [v], {}, [{ dtype: 'int64', shape: [] }])[0];
}

/** The values of a constant int64 input (axes, starts, pads...), which some rules need statically. */
function constInts(v: Value): number[] {
  const t = v.graph.initializers.get(v.name);
  if (!t) throw new GraphError(`gradient: ${v} must be a constant`);
  return Array.from(t.data as BigInt64Array, Number);
}
const axesOf = constInts;

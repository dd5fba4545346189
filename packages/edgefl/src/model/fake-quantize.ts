/**
 * Fake quantization in the training graph: a tensor goes through QuantizeLinear and straight back
 * through DequantizeLinear, so the float graph computes with exactly the values static int8
 * quantization (quantize/static-int8.ts) will store and compute with, and training sees the int8
 * model's rounding and clipping. The pairs are the standard ONNX operators themselves, so any ONNX
 * Runtime runs the training graph; their gradient is the straight-through estimator, given by the
 * autodiff's rules for QuantizeLinear and DequantizeLinear (autodiff/rules.ts): 1 where the value is
 * inside the representable range, 0 where it is clipped, and no gradient to the scale, which is
 * observed (from calibration, or from the weights themselves), not learned.
 *
 * Activations: uint8 with a zero-point (asymmetric) over a calibrated range. Weights: int8,
 * symmetric, scale max|w|/127 computed in the graph from the current weights, per tensor or per
 * output channel (axis 0 of dense and conv2d weights). Biases: int32 in steps of input scale x
 * weight scale, rounded half to even.
 */
import { type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { attr, type Attribute } from '../onnx/types.js';
import { activationParams } from '../quantize/affine.js';
import type { QuantizationRange } from './layers.js';

/** Weight scales per output channel run along this axis of dense ([units, in]) and conv2d ([out, in, kh, kw]) weights. */
export const WEIGHT_CHANNEL_AXIS = 0;

/** The largest int8 magnitude symmetric weights use (±127, so that the zero-point is 0). */
const INT8_LIMIT = 127;

const axisAttr = (axis: number | undefined): Record<string, Attribute> =>
  axis === undefined ? {} : { axis: attr.int(axis) };

function quantizeLinear(x: Value, scale: Value, zeroPoint: Value, axis?: number): Value {
  return x.graph.node('QuantizeLinear', [x, scale, zeroPoint], axisAttr(axis), [
    { dtype: zeroPoint.dtype, shape: x.shape },
  ])[0];
}

function dequantizeLinear(q: Value, scale: Value, zeroPoint: Value | null, axis?: number): Value {
  return q.graph.node('DequantizeLinear', [q, scale, zeroPoint], axisAttr(axis), [
    { dtype: 'float32', shape: q.shape },
  ])[0];
}

/** Round half to even (ONNX Round; its gradient in the autodiff is the straight-through one). */
function round(x: Value): Value {
  return x.graph.node('Round', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** The uint8 quantize-dequantize of an activation over `range`, with quantizeStaticInt8's parameters. */
export function fakeQuantizeActivation(x: Value, range: QuantizationRange): { value: Value; scale: number } {
  const p = activationParams(range.low, range.high);
  const g = x.graph;
  const scale = op.scalar(g, p.scale);
  const zeroPoint = op.constant(
    g,
    { dtype: 'uint8', dims: [], data: Uint8Array.of(p.zeroPoint) },
    'zero_point',
  );
  return { value: dequantizeLinear(quantizeLinear(x, scale, zeroPoint), scale, zeroPoint), scale: p.scale };
}

export interface FakeQuantizedWeight {
  readonly value: Value;
  /** The scale of one int8 step: a scalar, or one per output channel. */
  readonly scale: Value;
  readonly perChannel: boolean;
}

/**
 * The int8 symmetric quantize-dequantize of a weight, the scale computed in the graph from the
 * weight itself as static int8 computes it (quantize/affine.ts weightScales): max|w| / 127, or 1
 * for an all-zero channel.
 */
export function fakeQuantizeWeight(w: Value, perChannel: boolean): FakeQuantizedWeight {
  const g = w.graph;
  const rank = w.rank!;
  const axes = perChannel ? [...Array(rank).keys()].filter((a) => a !== WEIGHT_CHANNEL_AXIS) : [];
  const largest = op.reduceMax(op.abs(w), axes, false);
  const scale = op.where(
    op.greater(largest, op.scalar(g, 0)),
    op.div(largest, op.scalar(g, INT8_LIMIT)),
    op.scalar(g, 1),
  );
  const dims = perChannel ? [w.shape![WEIGHT_CHANNEL_AXIS] as number] : [];
  const zeroPoint = int8Constant(w, dims, 0);
  const axis = perChannel ? WEIGHT_CHANNEL_AXIS : undefined;
  const value = dequantizeLinear(quantizeLinear(w, scale, zeroPoint, axis), scale, zeroPoint, axis);
  return { value, scale, perChannel };
}

/**
 * The bias as static int8 stores it: int32 (no clipping reached in practice) in steps of input
 * scale x weight scale, per output channel when the weight's scales are.
 */
export function fakeQuantizeBias(b: Value, inputScale: number, weight: FakeQuantizedWeight): Value {
  const g = b.graph;
  // The weight's scale read through a DequantizeLinear of ones: the same value, which the gradient
  // treats as a constant as it does in the weight's own quantize-dequantize (without this, rounding
  // the bias would send a gradient through the scale into the largest weight).
  const dims = weight.perChannel ? [b.shape![0] as number] : [];
  const weightStep = dequantizeLinear(
    int8Constant(b, dims, 1),
    weight.scale,
    int8Constant(b, dims, 0),
    weight.perChannel ? 0 : undefined,
  );
  const step = op.mul(weightStep, op.scalar(g, inputScale));
  return op.mul(round(op.div(b, step)), step);
}

function int8Constant(like: Value, dims: readonly number[], value: number): Value {
  const size = dims.reduce((a, b) => a * b, 1);
  return op.constant(like.graph, { dtype: 'int8', dims, data: new Int8Array(size).fill(value) }, 'int8');
}

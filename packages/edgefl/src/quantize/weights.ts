/**
 * Weights and biases as quantized initializers read through DequantizeLinear: the QDQ form, which
 * any ONNX runtime can run (dequantizing) and ONNX Runtime fuses into its integer kernels.
 */
import type { OnnxModel } from '../onnx/edit/model.js';
import type { OnnxNode } from '../onnx/edit/node.js';
import { onnxAttr } from '../onnx/edit/attributes.js';
import { quantizeBias, quantizeWeight, weightScales } from './affine.js';
import type { QuantizableNode } from './targets.js';

export interface QuantizedWeight {
  /** The int8 initializer (symmetric: zero-point 0). */
  readonly values: string;
  readonly scale: string;
  readonly zeroPoint: string;
  readonly scales: Float32Array;
  /** The channel axis, when per channel. */
  readonly axis: number | undefined;
}

/** Floats of an initializer (targets.ts has checked they are float32). */
export function floatInitializer(model: OnnxModel, name: string): Float32Array {
  return model.initializer(name)!.data as Float32Array;
}

/**
 * Adds the int8 weight of `t` with its scales and zero-points (scalars per tensor, vectors along
 * the channel axis per channel). `layout` may give the weight transposed ([N, K] to [K, N]): the
 * values are then stored transposed and the axis follows.
 */
export function addInt8Weight(
  model: OnnxModel,
  t: QuantizableNode,
  perChannel: boolean,
  transposed?: { readonly values: Float32Array; readonly dims: readonly number[]; readonly axis: number },
): QuantizedWeight {
  const data = transposed?.values ?? floatInitializer(model, t.weight);
  const dims = transposed?.dims ?? t.weightDims;
  const axis = perChannel ? (transposed?.axis ?? t.channelAxis) : undefined;
  const scales = weightScales(data, dims, axis);
  const q = quantizeWeight(data, dims, axis, scales);
  const shape = axis === undefined ? [] : [scales.length];
  const values = model.freshName(`${t.weight}_quantized`);
  const scale = model.freshName(`${t.weight}_scale`);
  const zeroPoint = model.freshName(`${t.weight}_zero_point`);
  model.addInitializer(values, { dtype: 'int8', dims, data: q });
  model.addInitializer(scale, { dtype: 'float32', dims: shape, data: scales });
  model.addInitializer(zeroPoint, { dtype: 'int8', dims: shape, data: new Int8Array(scales.length) });
  return { values, scale, zeroPoint, scales, axis };
}

/** DequantizeLinear of a quantized initializer (the axis matters only for vector scales). */
export function dequantizeNode(
  model: OnnxModel,
  inputs: readonly string[],
  axis: number | undefined,
  hint: string,
): OnnxNode {
  return model.createNode('DequantizeLinear', inputs, {
    outputs: [model.freshName(`${hint}_dequantized`)],
    name: model.freshName(`${hint}_DequantizeLinear`),
    ...(axis === undefined ? {} : { attributes: { axis: onnxAttr.int(axis) } }),
  });
}

/**
 * The bias as int32 with scale activation scale x weight scale (one per output channel), read
 * through DequantizeLinear: the form the runtime's QLinearConv / QGemm fusion takes as its bias.
 */
export function addInt32Bias(
  model: OnnxModel,
  bias: string,
  activationScale: number,
  weightScales: Float32Array,
): OnnxNode {
  const { values, scales } = quantizeBias(floatInitializer(model, bias), activationScale, weightScales);
  const valuesName = model.freshName(`${bias}_quantized`);
  const scaleName = model.freshName(`${bias}_scale`);
  model.addInitializer(valuesName, { dtype: 'int32', dims: [values.length], data: values });
  model.addInitializer(scaleName, { dtype: 'float32', dims: [scales.length], data: scales });
  return dequantizeNode(model, [valuesName, scaleName], 0, bias);
}

/** Removes float initializers that nothing reads any more (the ones quantized copies replaced). */
export function dropUnread(model: OnnxModel, names: Iterable<string>): void {
  for (const n of new Set(names))
    if (model.isConstant(n) && model.consumers(n).length === 0 && !model.isGraphOutput(n))
      model.removeInitializer(n);
}

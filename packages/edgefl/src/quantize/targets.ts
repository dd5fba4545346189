/**
 * Which nodes quantization rewrites: Conv, MatMul and Gemm whose weight is a constant initializer
 * and whose other input is an activation (computed, or fed). Everything else stays float, and each
 * candidate left out is reported with the reason.
 */
import { describeNode } from '../onnx/edit/errors.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import type { OnnxNode } from '../onnx/edit/node.js';
import { QuantizationError } from './errors.js';

export const QUANTIZABLE_OPS: readonly string[] = ['Conv', 'MatMul', 'Gemm'];

export interface QuantizableNode {
  readonly node: OnnxNode;
  readonly kind: 'Conv' | 'MatMul' | 'Gemm';
  /** The float input quantized at run time. */
  readonly activation: string;
  /** The constant weight initializer. */
  readonly weight: string;
  readonly weightDims: readonly number[];
  /**
   * The weight axis that runs over output channels: per-channel scales go along it (Conv's
   * [M, C/g, kH, kW]: 0; MatMul's [K, N]: 1; Gemm's B: 0 with transB, else 1).
   */
  readonly channelAxis: number;
  /** A 1-D bias of one value per output channel (Conv's B, Gemm's C), if any. */
  readonly bias?: string;
}

export interface Targets {
  readonly nodes: readonly QuantizableNode[];
  /** Candidates (Conv, MatMul, Gemm) left float, each with why. */
  readonly skipped: readonly string[];
}

const isDefault = (d: string) => d === '' || d === 'ai.onnx';

/**
 * The quantizable nodes of a model, or an error saying there are none (and why each was left).
 * `keepFloat` names nodes the caller wants left float (a guard found them too costly in int8).
 */
export function findTargets(model: OnnxModel, keepFloat: ReadonlySet<string> = new Set()): Targets {
  const nodes: QuantizableNode[] = [];
  const skipped: string[] = [];
  for (const node of model.filter((n) => QUANTIZABLE_OPS.includes(n.opType) && isDefault(n.domain))) {
    if (keepFloat.has(node.name)) {
      skipped.push(`${describeNode(node)}: kept float as asked`);
      continue;
    }
    const found = target(model, node);
    if (typeof found === 'string') skipped.push(`${describeNode(node)}: ${found}`);
    else nodes.push(found);
  }
  if (nodes.length === 0)
    throw new QuantizationError(
      `${model.source}: nothing to quantize: no Conv, MatMul or Gemm with a constant weight and a computed input` +
        (skipped.length ? ` (${skipped.join('; ')})` : ''),
    );
  return { nodes, skipped };
}

function target(model: OnnxModel, node: OnnxNode): QuantizableNode | string {
  const kind = node.opType as QuantizableNode['kind'];
  const [activation, weight, bias] = node.inputs;
  if (!weight || !model.isConstant(weight)) return 'its weight is not a constant initializer';
  if (model.isConstant(activation)) return 'its input is a constant too (fold it instead)';
  const w = model.initializerProto(weight)!;
  if (w.dataType !== 1) return `its weight '${weight}' is not float32`;
  const weightDims = w.dims.map(Number);
  let channelAxis: number;
  if (kind === 'Conv') {
    if (weightDims.length < 3) return `its weight '${weight}' has ${weightDims.length} dimensions`;
    channelAxis = 0;
  } else if (kind === 'MatMul') {
    // A batched weight ([..., K, N]) has no kernel in the integer MatMuls the runtime fuses into.
    if (weightDims.length !== 2) return `its weight '${weight}' is not 2-D`;
    channelAxis = 1;
  } else {
    if (node.float('alpha', 1) !== 1 || node.float('beta', 1) !== 1) return 'alpha or beta is not 1';
    if (node.int('transA', 0) !== 0) return 'transA is set';
    channelAxis = node.int('transB', 0) ? 0 : 1;
  }
  const channels = weightDims[channelAxis];
  if (bias) {
    const b = model.initializerProto(bias);
    const bDims = b?.dims.map(Number);
    if (!b || !model.isConstant(bias) || b.dataType !== 1 || bDims!.length !== 1 || bDims![0] !== channels)
      return `its bias '${bias}' is not a constant float32 vector of ${channels} values`;
  }
  return { node, kind, activation, weight, weightDims, channelAxis, ...(bias ? { bias } : {}) };
}

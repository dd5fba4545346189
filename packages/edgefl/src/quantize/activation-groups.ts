/**
 * The activation tensors static quantization puts QuantizeLinear/DequantizeLinear pairs on, grouped
 * so that ONNX Runtime can fuse them away.
 *
 * Every activation input of a quantized node is quantized. Walking back from it, the tensors that
 * reach it only through ops that pass values along or clip them from below (MaxPool, Relu, Reshape,
 * Flatten, Transpose, ...) join its group, and the whole group shares the parameters calibrated for
 * the tensor the quantized node reads. The runtime then sees DQ -> MaxPool -> Q with equal
 * parameters (runs MaxPool on uint8), and a Conv whose output goes straight into a Q (fuses into
 * QLinearConv). Sharing is exact on the calibration data: these ops are monotone, so clamping to
 * [low, high] early gives what clamping the last tensor would; and a Relu whose input is already
 * clamped at 0 (zero-point 0) does nothing and is dropped.
 *
 * A Conv output that no group reaches (a Conv feeding an Add, or a graph output) gets a group of its
 * own: without a QuantizeLinear after it a Conv does not fuse. MatMul and Gemm outputs need none:
 * they fuse into ops with a float output (MatMulIntegerToFloat, QGemm).
 */
import type { OnnxModel } from '../onnx/edit/model.js';
import type { QuantizableNode } from './targets.js';

/** Ops whose output lies in the clamp of their input's range and that commute with clamping. */
const RANGE_PRESERVING: ReadonlySet<string> = new Set([
  'MaxPool',
  'Relu',
  'Reshape',
  'Flatten',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Identity',
]);

export interface ActivationGroup {
  /** From first computed to the one read: each the sole input of the next's producer. */
  readonly tensors: readonly string[];
  /** The tensor whose calibrated range sets the group's parameters. */
  readonly calibrated: string;
}

const isDefault = (d: string) => d === '' || d === 'ai.onnx';

export function activationGroups(model: OnnxModel, targets: readonly QuantizableNode[]): ActivationGroup[] {
  const groups: ActivationGroup[] = [];
  const grouped = new Set<string>();
  const add = (g: ActivationGroup) => {
    groups.push(g);
    for (const t of g.tensors) grouped.add(t);
  };
  for (const a of new Set(targets.map((t) => t.activation)))
    add({ tensors: chainEndingAt(model, a), calibrated: a });
  for (const t of targets) {
    const out = t.node.outputs[0];
    if (t.kind === 'Conv' && !grouped.has(out)) add({ tensors: [out], calibrated: out });
  }
  return groups;
}

/** `end` and the tensors before it that reach it only through range-preserving ops. */
function chainEndingAt(model: OnnxModel, end: string): string[] {
  const chain = [end];
  for (;;) {
    const p = model.producer(chain[0]);
    if (!p || !RANGE_PRESERVING.has(p.opType) || !isDefault(p.domain)) break;
    const input = p.inputs[0];
    // The earlier tensor joins only when the chain is its one use: a second reader would see its
    // values clamped to a range calibrated for someone else.
    if (model.consumers(input).length !== 1 || model.isGraphOutput(input) || model.isInitializer(input))
      break;
    chain.unshift(input);
  }
  return chain;
}

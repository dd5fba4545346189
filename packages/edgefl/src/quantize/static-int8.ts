/**
 * Static int8 quantization in the QDQ format: activations pass through QuantizeLinear (uint8,
 * scale and zero-point from calibration) and DequantizeLinear; weights are stored as int8
 * (symmetric, per tensor or per output channel) and biases as int32, both read through
 * DequantizeLinear. The model still means what the float model meant, up to rounding, and runs
 * anywhere; ONNX Runtime (optimization level 'extended' or 'all') fuses each DQ -> Conv/MatMul/Gemm
 * -> Q group into one integer op (QLinearConv, QLinearMatMul, QGemm, MatMulIntegerToFloat).
 *
 * The input model is not changed: the result is a new model, and any refusal leaves nothing behind.
 */
import { describeNode } from '../onnx/edit/errors.js';
import { exportModel, importModel } from '../onnx/edit/io.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import { activationGroups, type ActivationGroup } from './activation-groups.js';
import { activationParams, type ActivationParams } from './affine.js';
import type { Calibration } from './calibrate.js';
import { QuantizationError } from './errors.js';
import type { QuantizedModel, QuantizedNodeReport } from './report.js';
import { findTargets } from './targets.js';
import { addInt32Bias, addInt8Weight, dequantizeNode, dropUnread } from './weights.js';

export interface StaticInt8Options {
  /** Weight scales per output channel (default true): better accuracy, same speed in ONNX Runtime. */
  readonly perChannel?: boolean;
  /** Nodes (by name) to leave float. */
  readonly keepFloat?: Iterable<string>;
}

/** Per-channel DequantizeLinear (the axis attribute) came with opset 13; QuantizeLinear with 10. */
const PER_CHANNEL_OPSET = 13;
const QDQ_OPSET = 10;

export function quantizeStaticInt8(
  model: OnnxModel,
  calibration: Calibration,
  o: StaticInt8Options = {},
): QuantizedModel<OnnxModel> {
  const perChannel = o.perChannel ?? true;
  checkOpset(model, perChannel);
  const m = importModel(exportModel(model), model.source);
  const targets = findTargets(m, new Set(o.keepFloat ?? []));
  const groups = activationGroups(m, targets.nodes);
  const params = new Map<string, ActivationParams>();
  const notes: string[] = [];
  for (const g of groups) {
    const p = groupParams(g, calibration);
    notes.push(...quantizeActivations(m, g, p));
    for (const t of g.tensors) params.set(t, p);
  }
  const reports: QuantizedNodeReport[] = [];
  const replaced: string[] = [];
  for (const t of targets.nodes) {
    // The fusion check finds the node in the runtime's optimized graph by its name.
    if (!t.node.name) t.node.name = m.freshName(t.kind);
    const x = params.get(t.activation)!;
    const w = addInt8Weight(m, t, perChannel);
    const dqW = dequantizeNode(m, [w.values, w.scale, w.zeroPoint], w.axis, t.weight);
    const added = [dqW];
    t.node.setInput(1, dqW.outputs[0]);
    replaced.push(t.weight);
    if (t.bias) {
      const dqB = addInt32Bias(m, t.bias, x.scale, w.scales);
      t.node.setInput(2, dqB.outputs[0]);
      added.push(dqB);
      replaced.push(t.bias);
    }
    m.insertBefore(t.node, added);
    const out = resultOf(m, t.node.outputs[0]);
    const quantizedOut = m.consumers(out).find((c) => c.opType === 'QuantizeLinear');
    const range = calibration.ranges.get(groups.find((g) => g.tensors.includes(t.activation))!.calibrated)!;
    reports.push({
      node: t.node.name,
      opType: t.kind,
      kind: 'static',
      perChannel,
      weight: t.weight,
      activation: t.activation,
      activationRange: { low: Math.min(range.low, 0), high: Math.max(range.high, 0) },
      activationScale: x.scale,
      activationZeroPoint: x.zeroPoint,
      bias: t.bias ? 'int32' : 'none',
      outputQuantized: quantizedOut !== undefined,
      result: quantizedOut ? quantizedOut.outputs[0] : out,
    });
  }
  dropUnread(m, replaced);
  m.sort();
  m.setMetadata(
    'edgefl.quantization',
    JSON.stringify({ format: 'static-int8-qdq', perChannel, calibration: calibration.method }),
  );
  m.validate();
  return { model: m, report: { format: 'static-int8-qdq', nodes: reports, skipped: targets.skipped, notes } };
}

/**
 * The tensor the node's fused op will compute: its output, or past a bias Add the runtime folds
 * into it (MatMul + Add becomes one Gemm), and then the QuantizeLinear reading it, if any.
 */
function resultOf(m: OnnxModel, out: string): string {
  const readers = m.consumers(out);
  const add = readers.length === 1 && readers[0].opType === 'Add' ? readers[0] : undefined;
  if (add && add.inputs.some((i) => i !== out && m.isConstant(i)) && !m.isGraphOutput(out))
    return add.outputs[0];
  return out;
}

function checkOpset(model: OnnxModel, perChannel: boolean): void {
  const opset = model.opset('') ?? 0;
  const needed = perChannel ? PER_CHANNEL_OPSET : QDQ_OPSET;
  if (opset < needed)
    throw new QuantizationError(
      `${model.source}: opset ${opset} is too old for ${perChannel ? 'per-channel' : ''} QDQ quantization (it needs ${needed}); ` +
        `convert the model to opset ${needed} or later${perChannel ? ', or quantize per tensor' : ''}`,
    );
}

function groupParams(g: ActivationGroup, calibration: Calibration): ActivationParams {
  const range = calibration.ranges.get(g.calibrated);
  if (!range)
    throw new QuantizationError(
      `no calibrated range for tensor '${g.calibrated}': calibrate with the default tensors (tensorsToCalibrate)`,
    );
  return activationParams(range.low, range.high);
}

/**
 * A QuantizeLinear -> DequantizeLinear pair after each tensor of the group, all with the group's
 * parameters; a Relu in the group whose input is already clamped at 0 is dropped instead.
 */
function quantizeActivations(m: OnnxModel, g: ActivationGroup, p: ActivationParams): string[] {
  const notes: string[] = [];
  const scale = m.freshName(`${g.calibrated}_scale`);
  const zeroPoint = m.freshName(`${g.calibrated}_zero_point`);
  m.addInitializer(scale, { dtype: 'float32', dims: [], data: Float32Array.of(p.scale) });
  m.addInitializer(zeroPoint, { dtype: 'uint8', dims: [], data: Uint8Array.of(p.zeroPoint) });
  g.tensors.forEach((t, i) => {
    const producer = m.producer(t);
    if (producer?.opType === 'Relu' && i > 0 && p.zeroPoint === 0 && !m.isGraphOutput(t)) {
      // Its input is the previous tensor dequantized with zero-point 0: never negative.
      m.remove(producer, { rewire: { [t]: producer.inputs[0] } });
      notes.push(
        `dropped ${describeNode(producer)}: its input is quantized with zero-point 0, so never negative`,
      );
      return;
    }
    const q = m.createNode('QuantizeLinear', [t, scale, zeroPoint], {
      outputs: [m.freshName(`${t}_quantized`)],
      name: m.freshName(`${t}_QuantizeLinear`),
    });
    const dq = dequantizeNode(m, [q.outputs[0], scale, zeroPoint], undefined, t);
    m.add([q, dq]);
    m.replaceUses(t, dq.outputs[0], { except: [q] });
  });
  return notes;
}

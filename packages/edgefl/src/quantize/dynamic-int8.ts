/**
 * Dynamic int8 quantization: weights stored as int8 ahead of time, activations quantized at run
 * time from each batch's own range, so no calibration is needed. Each MatMul / Gemm becomes
 *
 *   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast(float)
 *     -> Mul(x_scale * W_scale) [-> Add(bias)]
 *
 * which ONNX Runtime fuses into MatMulIntegerToFloat, then with the DynamicQuantizeLinear into one
 * DynamicQuantizeMatMul. (The alternative, MatMul reading a DequantizeLinear'd weight, is not fused
 * by onnxruntime 1.30 for int8 weights: it dequantizes and runs the float Gemm, measured 1.7x
 * slower than the float CNN, against 2.0x faster for this form.)
 *
 * Conv is left float: ONNX Runtime's CPU ConvInteger takes uint8 weights only, and nothing fuses it
 * with the rescaling after it, so a dynamically quantized Conv would run slower than the float one.
 */
import { describeNode } from '../onnx/edit/errors.js';
import { exportModel, importModel } from '../onnx/edit/io.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import type { OnnxNode } from '../onnx/edit/node.js';
import { onnxAttr } from '../onnx/edit/attributes.js';
import { QuantizationError } from './errors.js';
import type { QuantizedModel, QuantizedNodeReport } from './report.js';
import { findTargets, type QuantizableNode } from './targets.js';
import { addInt8Weight, dropUnread, floatInitializer } from './weights.js';

export interface DynamicInt8Options {
  /** Weight scales per output column (default true). */
  readonly perChannel?: boolean;
  /** Nodes (by name) to leave float. */
  readonly keepFloat?: Iterable<string>;
}

/** DynamicQuantizeLinear and MatMulInteger came with opsets 11 and 10. */
const DYNAMIC_OPSET = 11;
const FLOAT = 1;

export function quantizeDynamicInt8(model: OnnxModel, o: DynamicInt8Options = {}): QuantizedModel<OnnxModel> {
  const perChannel = o.perChannel ?? true;
  const opset = model.opset('') ?? 0;
  if (opset < DYNAMIC_OPSET)
    throw new QuantizationError(
      `${model.source}: opset ${opset} is too old for dynamic quantization (DynamicQuantizeLinear needs ${DYNAMIC_OPSET})`,
    );
  const m = importModel(exportModel(model), model.source);
  const all = findTargets(m, new Set(o.keepFloat ?? []));
  const targets = all.nodes.filter((t) => t.kind !== 'Conv');
  const skipped = [
    ...all.skipped,
    ...all.nodes
      .filter((t) => t.kind === 'Conv')
      .map((t) => `${describeNode(t.node)}: dynamic quantization leaves Conv float (no fused int8 kernel)`),
  ];
  if (targets.length === 0)
    throw new QuantizationError(
      `${model.source}: nothing to quantize dynamically: no MatMul or Gemm with a constant weight`,
    );
  const quantizedInputs = new Map<string, OnnxNode>();
  const reports: QuantizedNodeReport[] = [];
  for (const t of targets) {
    if (!t.node.name) t.node.name = m.freshName(t.kind);
    let dql = quantizedInputs.get(t.activation);
    if (!dql) {
      dql = m.createNode('DynamicQuantizeLinear', [t.activation], {
        outputs: ['quantized', 'scale', 'zero_point'].map((s) => m.freshName(`${t.activation}_${s}`)),
        name: m.freshName(`${t.activation}_DynamicQuantizeLinear`),
      });
      m.add([dql]);
      quantizedInputs.set(t.activation, dql);
    }
    replaceWithIntegerMatMul(m, t, dql, perChannel);
    reports.push({
      node: t.node.name,
      opType: t.kind,
      kind: 'dynamic',
      perChannel,
      weight: t.weight,
      activation: t.activation,
      bias: 'none',
      outputQuantized: false,
      result: t.node.outputs[0],
    });
  }
  dropUnread(
    m,
    targets.flatMap((t) => [t.weight, ...(t.bias ? [t.bias] : [])]),
  );
  m.sort();
  m.setMetadata('edgefl.quantization', JSON.stringify({ format: 'dynamic-int8', perChannel }));
  m.validate();
  return { model: m, report: { format: 'dynamic-int8', nodes: reports, skipped, notes: [] } };
}

/** The weight as [K, N] floats (Gemm with transB stores it [N, K]). */
function weightKN(m: OnnxModel, t: QuantizableNode): { values: Float32Array; dims: number[]; axis: number } {
  const w = floatInitializer(m, t.weight);
  const [a, b] = t.weightDims;
  if (t.channelAxis === 1) return { values: w, dims: [a, b], axis: 1 };
  const out = new Float32Array(w.length);
  for (let n = 0; n < a; n++) for (let k = 0; k < b; k++) out[k * a + n] = w[n * b + k];
  return { values: out, dims: [b, a], axis: 1 };
}

function replaceWithIntegerMatMul(
  m: OnnxModel,
  t: QuantizableNode,
  dql: OnnxNode,
  perChannel: boolean,
): void {
  const w = addInt8Weight(m, t, perChannel, weightKN(m, t));
  const [xq, xScale, xZero] = dql.outputs;
  const base = t.node.name;
  const product = m.createNode('MatMulInteger', [xq, w.values, xZero, w.zeroPoint], {
    name: m.freshName(`${base}_MatMulInteger`),
  });
  const asFloat = m.createNode('Cast', [product.outputs[0]], {
    attributes: { to: onnxAttr.int(FLOAT) },
    name: m.freshName(`${base}_Cast`),
  });
  const scale = m.createNode('Mul', [xScale, w.scale], { name: m.freshName(`${base}_scale`) });
  const out = t.node.outputs[0];
  const rescaled = m.createNode('Mul', [asFloat.outputs[0], scale.outputs[0]], {
    name: t.bias ? m.freshName(`${base}_rescale`) : base,
    ...(t.bias ? {} : { outputs: [out] }),
  });
  const nodes = [product, asFloat, scale, rescaled];
  if (t.bias) nodes.push(m.createNode('Add', [rescaled.outputs[0], t.bias], { name: base, outputs: [out] }));
  m.replace(t.node, nodes);
}

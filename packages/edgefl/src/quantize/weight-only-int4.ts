/**
 * Weight-only 4-bit quantization for matmul-heavy models (the transformer): each MatMul or Gemm
 * with a constant weight becomes ONNX Runtime's MatMulNBits (com.microsoft), which keeps the
 * weight as block-wise 4-bit codes (int4-block.ts) and the activations float. The weights shrink
 * about 7x (4 bits plus a float scale and a 4-bit zero point per block of 32); whether it is also
 * faster depends on `accuracyLevel`: at 4, ONNX Runtime quantizes each block of the activations to
 * int8 and runs an integer kernel; at 0 it dequantizes the weights and multiplies in float, which
 * saves memory, not time. edgefl measures both and says which it got (bench:optimize).
 *
 * Why a contrib op rather than opset 21's int4 DequantizeLinear, which ONNX Runtime fuses into the
 * same kernel: that form needs the model's opset raised to 21 (which changes the meaning of other
 * ops: Reduce*, Split, Pad), and the ONNX checkers shipped with Debian (onnx 1.12) do not know
 * opset 21. MatMulNBits needs only the com.microsoft opset import; ONNX's checker accepts nodes of
 * other domains, and onnxruntime-node and onnxruntime-web both run it.
 *
 * Conv stays float (MatMulNBits has no convolution), and so do matrices too narrow for one block.
 * Embedding lookups (Gather from a constant table), which MatMulNBits cannot take, are stored as
 * int8 rows instead (embedding-int8.ts) unless `embeddings: 'float'`.
 */
import { describeNode } from '../onnx/edit/errors.js';
import { exportModel, importModel } from '../onnx/edit/io.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import { onnxAttr } from '../onnx/edit/attributes.js';
import { QuantizationError } from './errors.js';
import type { QuantizedModel, QuantizedNodeReport } from './report.js';
import { findTargets, type QuantizableNode } from './targets.js';
import { quantizeInt4Blocks } from './int4-block.js';
import { dropUnread, floatInitializer } from './weights.js';
import { embeddingTargets, quantizeEmbeddingInt8 } from './embedding-int8.js';

export interface WeightOnlyInt4Options {
  /** Weights per scale along K: a power of two, at least 16 (default 32). */
  readonly blockSize?: number;
  /** Zero point 8 for every block instead of one fitted per block (default false: asymmetric). */
  readonly symmetric?: boolean;
  /**
   * MatMulNBits' accuracy_level: 0 (unset: the runtime's default), 1 fp32, 2 fp16, 3 bf16 or
   * 4 int8 activations (default 4, the one ONNX Runtime's CPU kernels run fastest).
   */
  readonly accuracyLevel?: 0 | 1 | 2 | 3 | 4;
  /** Embedding tables: int8 rows (default) or left float. */
  readonly embeddings?: 'int8' | 'float';
  /** Nodes (by name) to leave float. */
  readonly keepFloat?: Iterable<string>;
}

const CONTRIB = 'com.microsoft';

export function quantizeWeightOnlyInt4(
  model: OnnxModel,
  o: WeightOnlyInt4Options = {},
): QuantizedModel<OnnxModel> {
  const blockSize = o.blockSize ?? 32;
  if (!(Number.isInteger(blockSize) && blockSize >= 16 && (blockSize & (blockSize - 1)) === 0))
    throw new QuantizationError(`block size must be a power of two of at least 16, got ${blockSize}`);
  const accuracyLevel = o.accuracyLevel ?? 4;
  if (![0, 1, 2, 3, 4].includes(accuracyLevel))
    throw new QuantizationError(`accuracy level must be 0, 1, 2, 3 or 4, got ${accuracyLevel}`);
  const symmetric = o.symmetric ?? false;
  const m = importModel(exportModel(model), model.source);
  const keepFloat = new Set(o.keepFloat ?? []);
  const all = findTargets(m, keepFloat);
  const skipped = [...all.skipped];
  const targets: QuantizableNode[] = [];
  for (const t of all.nodes) {
    if (t.kind === 'Conv')
      skipped.push(`${describeNode(t.node)}: 4-bit weights are for MatMul and Gemm; Conv stays float`);
    else if (reductionSize(t) < 16)
      skipped.push(
        `${describeNode(t.node)}: K = ${reductionSize(t)} is smaller than the smallest block (16)`,
      );
    else targets.push(t);
  }
  if (targets.length === 0)
    throw new QuantizationError(
      `${model.source}: nothing to quantize to 4 bits` +
        (skipped.length ? `: ${skipped.join('; ')}` : ': no MatMul or Gemm with a constant weight'),
    );
  if (m.opset(CONTRIB) === undefined) m.setOpset(CONTRIB, 1);
  const reports: QuantizedNodeReport[] = [];
  for (const t of targets) {
    if (!t.node.name) t.node.name = m.freshName(t.kind);
    const { values, n, k } = weightNK(m, t);
    const q = quantizeInt4Blocks(values, n, k, blockSize, symmetric);
    const codes = m.freshName(`${t.weight}_int4`);
    const scales = m.freshName(`${t.weight}_scales`);
    m.addInitializer(codes, { dtype: 'uint8', dims: [n, q.blocks, blockSize / 2], data: q.codes });
    m.addInitializer(scales, { dtype: 'float32', dims: [n * q.blocks], data: q.scales });
    let zeroPoints = '';
    if (q.zeroPoints) {
      zeroPoints = m.freshName(`${t.weight}_zero_points`);
      m.addInitializer(zeroPoints, { dtype: 'uint8', dims: [q.zeroPoints.length], data: q.zeroPoints });
    }
    const out = t.node.outputs[0];
    const matmul = m.createNode(
      'MatMulNBits',
      [t.activation, codes, scales, zeroPoints, '', ...(t.bias ? [t.bias] : [])],
      {
        domain: CONTRIB,
        name: t.node.name,
        outputs: [out],
        attributes: {
          K: onnxAttr.int(k),
          N: onnxAttr.int(n),
          bits: onnxAttr.int(4),
          block_size: onnxAttr.int(blockSize),
          accuracy_level: onnxAttr.int(accuracyLevel),
        },
      },
    );
    m.replace(t.node, [matmul]);
    reports.push({
      node: t.node.name,
      opType: t.kind,
      kind: 'weight-only',
      perChannel: true,
      weight: t.weight,
      activation: t.activation,
      bias: t.bias ? 'float' : 'none',
      outputQuantized: false,
      result: out,
      blockSize,
    });
  }
  const embeddings = o.embeddings === 'float' ? [] : embeddingTargets(m, keepFloat);
  const notes = embeddings.map((e) => quantizeEmbeddingInt8(m, e));
  dropUnread(m, [...targets.map((t) => t.weight), ...embeddings.map((e) => e.table)]);
  m.sort();
  m.setMetadata(
    'edgefl.quantization',
    JSON.stringify({
      format: 'weight-only-int4',
      blockSize,
      symmetric,
      accuracyLevel,
      embeddings: embeddings.length ? 'int8' : 'float',
    }),
  );
  m.validate();
  return {
    model: m,
    report: {
      format: 'weight-only-int4',
      nodes: reports,
      skipped,
      notes: [
        `weights in 4-bit blocks of ${blockSize} along K (${symmetric ? 'symmetric' : 'a zero point per block'}), ` +
          `activations float; MatMulNBits accuracy_level ${accuracyLevel}`,
        ...notes,
      ],
    },
  };
}

function reductionSize(t: QuantizableNode): number {
  // The weight's other axis than the output channels is K.
  return t.weightDims[1 - t.channelAxis];
}

/** The weight as N rows of K values (Gemm with transB stores it so; MatMul's [K, N] is transposed). */
function weightNK(m: OnnxModel, t: QuantizableNode): { values: Float32Array; n: number; k: number } {
  const w = floatInitializer(m, t.weight);
  const [a, b] = t.weightDims;
  if (t.channelAxis === 0) return { values: w, n: a, k: b };
  const out = new Float32Array(w.length);
  for (let k = 0; k < a; k++) for (let n = 0; n < b; n++) out[n * a + k] = w[k * b + n];
  return { values: out, n: b, k: a };
}

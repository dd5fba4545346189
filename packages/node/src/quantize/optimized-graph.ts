/**
 * What ONNX Runtime actually runs: the graph after its optimizations, which it writes to a file when
 * asked (SessionOptions.optimizedModelFilePath). For a quantized model this is the only honest
 * answer to "did it fuse?": a QDQ group the runtime did not fuse runs as QuantizeLinear,
 * DequantizeLinear and a float op, slower than the float model, with no error anywhere.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-common';
import {
  importModel,
  type OnnxModel,
  type OrtRuntime,
  type QuantizationReport,
  type QuantizedNodeReport,
} from 'edgefl';

export interface OptimizedGraphOptions {
  /** Default 'all', which is where the QDQ fusions run. */
  readonly level?: 'basic' | 'extended' | 'all';
  readonly sessionOptions?: InferenceSession.SessionOptions;
}

/** The model as ONNX Runtime optimized it, read back for inspection. */
export async function optimizedGraph(
  runtime: OrtRuntime,
  model: Uint8Array,
  o: OptimizedGraphOptions = {},
): Promise<OnnxModel> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-optimized-'));
  try {
    const file = join(dir, 'optimized.onnx');
    const session = await runtime.InferenceSession.create(model, {
      ...runtime.defaultSessionOptions,
      ...o.sessionOptions,
      graphOptimizationLevel: o.level ?? 'all',
      optimizedModelFilePath: file,
      logSeverityLevel: 3,
    });
    await session.release();
    return importModel(await readFile(file), 'optimized.onnx');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How many nodes of each op type a model has ("com.microsoft:QGemm" for contrib ops). */
export function opTypeCounts(model: OnnxModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.nodes()) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The ops ONNX Runtime computes quantized Conv / MatMul / Gemm groups with: the integer ops it fuses
 * QDQ groups into, and MatMulNBits for 4-bit weights.
 */
export const FUSED_INTEGER_OPS: ReadonlySet<string> = new Set([
  'MatMulNBits',
  'QLinearConv',
  'QLinearMatMul',
  'QGemm',
  'MatMulInteger',
  'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul',
  'ConvInteger',
  'NhwcQLinearConv',
]);

export interface FusionCheck {
  /** The report, each node with the op that computes its result in the optimized graph. */
  readonly report: QuantizationReport;
  readonly fused: readonly QuantizedNodeReport[];
  readonly unfused: readonly QuantizedNodeReport[];
  /** Op types of the optimized graph, counted. */
  readonly opTypes: Readonly<Record<string, number>>;
}

/**
 * For each node quantization rewrote, the op ONNX Runtime computes it with: an integer op means the
 * group fused; a float Conv/MatMul/Gemm (or the QuantizeLinear after it) means it runs as written,
 * unfused. The node is found by name: ONNX Runtime names a fused op after the node it replaces
 * (as-is, or with a '_token_<n>' suffix when its layout pass re-creates it in NHWC); failing that,
 * by the op that produces the group's result tensor.
 */
export async function checkFusion(
  runtime: OrtRuntime,
  model: Uint8Array,
  report: QuantizationReport,
  o: OptimizedGraphOptions = {},
): Promise<FusionCheck> {
  const optimized = await optimizedGraph(runtime, model, o);
  const nodes = report.nodes.map((r): QuantizedNodeReport => {
    const named = optimized.find((n) => n.name === r.node || n.name.startsWith(`${r.node}_token_`));
    const computedBy = (named ?? optimized.producer(r.result))?.opType ?? 'nothing';
    return { ...r, computedBy, fused: FUSED_INTEGER_OPS.has(computedBy) };
  });
  return {
    report: { ...report, nodes },
    fused: nodes.filter((n) => n.fused),
    unfused: nodes.filter((n) => !n.fused),
    opTypes: opTypeCounts(optimized),
  };
}

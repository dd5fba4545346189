/**
 * Embedding tables as int8 rows: a Gather reading a constant float table [V, d] (a language
 * model's token embedding, often its largest tensor) becomes
 *
 *   Gather(table_int8, ids) -> Cast(float) -> Mul(Unsqueeze(Gather(row_scales, ids)))
 *
 * with one symmetric scale per row, so each looked-up vector is dequantized on its own and the
 * table is 4x smaller. Only standard ONNX ops, so it runs
 * in any runtime; there is nothing to fuse — a lookup is a copy, not arithmetic.
 */
import { describeNode } from '../onnx/edit/errors.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import { onnxAttr } from '../onnx/edit/attributes.js';
import type { OnnxNode } from '../onnx/edit/node.js';
import { floatInitializer } from './weights.js';

const FLOAT = 1;

export interface EmbeddingTarget {
  readonly node: OnnxNode;
  readonly table: string;
  readonly rows: number;
  readonly width: number;
}

/** Gathers along axis 0 from a constant float32 table of rank 2, with computed indices. */
export function embeddingTargets(m: OnnxModel, keepFloat: ReadonlySet<string>): EmbeddingTarget[] {
  const found: EmbeddingTarget[] = [];
  for (const node of m.nodes('Gather')) {
    const [table, ids] = node.inputs;
    if (keepFloat.has(node.name) || !m.isConstant(table) || m.isConstant(ids)) continue;
    if (node.int('axis', 0) !== 0) continue;
    const t = m.initializerProto(table);
    if (!t || t.dataType !== FLOAT || t.dims.length !== 2) continue;
    found.push({ node, table, rows: Number(t.dims[0]), width: Number(t.dims[1]) });
  }
  return found;
}

/** Rewrites one embedding lookup; returns a line for the report. */
export function quantizeEmbeddingInt8(m: OnnxModel, t: EmbeddingTarget): string {
  const w = floatInitializer(m, t.table);
  const q = new Int8Array(w.length);
  const scales = new Float32Array(t.rows);
  for (let r = 0; r < t.rows; r++) {
    let amax = 0;
    for (let j = 0; j < t.width; j++) amax = Math.max(amax, Math.abs(w[r * t.width + j]));
    const scale = Math.fround(amax > 0 ? amax / 127 : 1);
    scales[r] = scale;
    for (let j = 0; j < t.width; j++) q[r * t.width + j] = Math.round(w[r * t.width + j] / scale);
  }
  const base = t.node.name || m.freshName('Gather');
  const values = m.freshName(`${t.table}_int8`);
  const rowScales = m.freshName(`${t.table}_row_scales`);
  const lastAxis = m.freshName(`${t.table}_last_axis`);
  m.addInitializer(values, { dtype: 'int8', dims: [t.rows, t.width], data: q });
  m.addInitializer(rowScales, { dtype: 'float32', dims: [t.rows], data: scales });
  const ids = t.node.inputs[1];
  const out = t.node.outputs[0];
  const rows = m.createNode('Gather', [values, ids], { name: m.freshName(`${base}_int8`) });
  const asFloat = m.createNode('Cast', [rows.outputs[0]], {
    attributes: { to: onnxAttr.int(FLOAT) },
    name: m.freshName(`${base}_Cast`),
  });
  const scaleOf = m.createNode('Gather', [rowScales, ids], { name: m.freshName(`${base}_scales`) });
  // Unsqueeze took its axes as an attribute before opset 13.
  const axesAsInput = (m.opset('') ?? 0) >= 13;
  if (axesAsInput) m.addInitializer(lastAxis, { dtype: 'int64', dims: [1], data: BigInt64Array.of(-1n) });
  const column = m.createNode(
    'Unsqueeze',
    axesAsInput ? [scaleOf.outputs[0], lastAxis] : [scaleOf.outputs[0]],
    {
      name: m.freshName(`${base}_Unsqueeze`),
      ...(axesAsInput ? {} : { attributes: { axes: onnxAttr.ints([-1]) } }),
    },
  );
  const scaled = m.createNode('Mul', [asFloat.outputs[0], column.outputs[0]], { name: base, outputs: [out] });
  m.replace(t.node, [rows, asFloat, scaleOf, column, scaled]);
  return `${describeNode(t.node)}: embedding table '${t.table}' [${t.rows}, ${t.width}] stored as int8 rows with a scale each`;
}

/**
 * GELU written out as elementwise ops — x · ½ · (1 + erf(x / √2)), five nodes and four
 * intermediate tensors — becomes one com.microsoft Gelu node, the exact (erf) form ONNX Runtime
 * computes in one pass over the tensor. onnxruntime-node 1.30 fuses the form that divides by √2
 * (PyTorch's export, and edgefl's layers) itself, but not the one that multiplies by 1/√2 (as
 * other exporters, and edgefl before, write it): seen in its optimized graph, where those five ops
 * run as written. bench:optimize-lm measures what the fusion saves on such a model.
 *
 * Matched forms (c ≈ 1/√2 or d ≈ √2, as scalar constants; operands in either order):
 *   Mul(Mul(x, 0.5), Add(Erf(Mul(x, c) | Div(x, d)), 1))
 *   Mul(Mul(x, Add(Erf(…), 1)), 0.5)
 * Every intermediate must be read by the pattern alone (not a graph output, not read elsewhere).
 */
import { describeNode } from '../edit/errors.js';
import type { OnnxModel } from '../edit/model.js';
import type { OnnxNode } from '../edit/node.js';
import type { OnnxPass, PassOutcome } from './pass.js';

const CONTRIB = 'com.microsoft';
const isDefault = (n: OnnxNode) => n.domain === '' || n.domain === 'ai.onnx';

/** The value of a scalar float constant input, if it is one. */
function scalar(model: OnnxModel, name: string): number | undefined {
  if (!model.isConstant(name)) return undefined;
  const t = model.initializer(name);
  if (!t || t.data.length !== 1 || (t.dtype !== 'float32' && t.dtype !== 'float64')) return undefined;
  return Number(t.data[0]);
}

const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-6 * b;

/** The other input of a binary node whose one input is a scalar near `value`. */
function otherThanScalar(model: OnnxModel, n: OnnxNode, value: number): string | undefined {
  const [a, b] = n.inputs;
  if (near(scalar(model, b), value)) return a;
  if (n.opType !== 'Div' && near(scalar(model, a), value)) return b;
  return undefined;
}

/** The single node reading `value` (and nothing else reading it, nor the graph's outputs). */
function onlyReader(model: OnnxModel, value: string): OnnxNode | undefined {
  if (model.isGraphOutput(value)) return undefined;
  const readers = model.consumers(value);
  return readers.length === 1 ? readers[0] : undefined;
}

interface GeluMatch {
  x: string;
  output: string;
  nodes: OnnxNode[];
}

function matchFrom(model: OnnxModel, erf: OnnxNode): GeluMatch | undefined {
  // erf(x / √2): Mul by 1/√2 or Div by √2.
  const scale = model.producer(erf.inputs[0]);
  if (!scale || !isDefault(scale)) return undefined;
  const x =
    scale.opType === 'Mul'
      ? otherThanScalar(model, scale, Math.SQRT1_2)
      : scale.opType === 'Div'
        ? otherThanScalar(model, scale, Math.SQRT2)
        : undefined;
  if (!x || onlyReader(model, scale.outputs[0]) !== erf) return undefined;
  // 1 + erf(…)
  const plusOne = onlyReader(model, erf.outputs[0]);
  if (!plusOne || plusOne.opType !== 'Add' || !isDefault(plusOne)) return undefined;
  if (otherThanScalar(model, plusOne, 1) !== erf.outputs[0]) return undefined;
  const product = onlyReader(model, plusOne.outputs[0]);
  if (!product || product.opType !== 'Mul' || !isDefault(product)) return undefined;
  const other = product.inputs[0] === plusOne.outputs[0] ? product.inputs[1] : product.inputs[0];
  if (other === x) {
    // (x · (1 + erf)) · 0.5
    const half = onlyReader(model, product.outputs[0]);
    if (!half || half.opType !== 'Mul' || !isDefault(half)) return undefined;
    if (otherThanScalar(model, half, 0.5) !== product.outputs[0]) return undefined;
    return { x, output: half.outputs[0], nodes: [scale, erf, plusOne, product, half] };
  }
  // (x · 0.5) · (1 + erf)
  const half = model.producer(other);
  if (!half || half.opType !== 'Mul' || !isDefault(half)) return undefined;
  if (otherThanScalar(model, half, 0.5) !== x || onlyReader(model, other) !== product) return undefined;
  return { x, output: product.outputs[0], nodes: [half, scale, erf, plusOne, product] };
}

export function fuseGelu(): OnnxPass {
  return {
    name: 'fuse-gelu',
    run(model: OnnxModel): PassOutcome {
      const changes: string[] = [];
      for (const erf of model.nodes('Erf')) {
        if (!isDefault(erf)) continue;
        const m = matchFrom(model, erf);
        if (!m) continue;
        if (model.opset(CONTRIB) === undefined) model.setOpset(CONTRIB, 1);
        const last = m.nodes[m.nodes.length - 1];
        const gelu = model.createNode('Gelu', [m.x], {
          domain: CONTRIB,
          name: model.freshName(`${last.name || 'Gelu'}_gelu`),
          outputs: [m.output],
        });
        const described = m.nodes.map(describeNode).join(', ');
        const constants = m.nodes.flatMap((n) => n.inputs.filter((i) => model.isInitializer(i)));
        // The last node defines the output: Gelu takes its place; then the rest, readers first.
        model.replace(last, [gelu]);
        for (const n of m.nodes.slice(0, -1).reverse()) model.remove(n);
        for (const c of new Set(constants))
          if (!model.consumers(c).length && !model.isGraphOutput(c)) model.removeInitializer(c);
        changes.push(`fused ${described} into Gelu '${gelu.name}'`);
      }
      return { changes };
    },
  };
}

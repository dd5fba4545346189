/**
 * Optimizers compiled into the training graph: the update of every parameter runs inside ONNX
 * Runtime in the same session run as the forward and backward pass, so a training step is one
 * call. Hyper-parameters that change during training (learning rate, Adam's bias corrections) are
 * graph inputs, so changing them never rebuilds the graph.
 */
import type { Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';

export interface SgdConfig {
  kind: 'sgd';
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient (coupled), as in PyTorch's SGD. */
  weightDecay?: number;
}

export interface AdamConfig {
  kind: 'adam' | 'adamw';
  lr: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** adam: L2 added to the gradient; adamw: decoupled decay w -= lr * wd * w (Loshchilov & Hutter). */
  weightDecay?: number;
}

export type OptimizerConfig = SgdConfig | AdamConfig;

export const sgd = (o: Omit<SgdConfig, 'kind'>): SgdConfig => ({ kind: 'sgd', ...o });
export const adam = (o: Omit<AdamConfig, 'kind'>): AdamConfig => ({ kind: 'adam', ...o });
export const adamw = (o: Omit<AdamConfig, 'kind'>): AdamConfig => ({
  kind: 'adamw',
  weightDecay: 0.01,
  ...o,
});

export function validateOptimizer(o: OptimizerConfig): void {
  const bad = (what: string, v: unknown) => {
    throw new Error(`optimizer ${o.kind}: ${what} must be ${v}`);
  };
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) bad('lr', `a positive number, got ${o.lr}`);
  if (o.weightDecay !== undefined && !(o.weightDecay >= 0)) bad('weightDecay', `>= 0, got ${o.weightDecay}`);
  if (o.kind === 'sgd' && o.momentum !== undefined && !(o.momentum >= 0 && o.momentum < 1))
    bad('momentum', `in [0, 1), got ${o.momentum}`);
  if (o.kind !== 'sgd') {
    for (const [k, v] of [
      ['beta1', o.beta1],
      ['beta2', o.beta2],
    ] as const)
      if (v !== undefined && !(v >= 0 && v < 1)) bad(k, `in [0, 1), got ${v}`);
    if (o.epsilon !== undefined && !(o.epsilon > 0)) bad('epsilon', `> 0, got ${o.epsilon}`);
  }
}

/** Per-parameter state tensors the optimizer keeps (each the parameter's shape). */
export function stateSlots(o: OptimizerConfig): string[] {
  if (o.kind === 'sgd') return o.momentum ? ['velocity'] : [];
  return ['m', 'v'];
}

/** Names of the scalar hyper-parameter inputs of the training graph. */
export function hyperParameterNames(o: OptimizerConfig): string[] {
  return o.kind === 'sgd' ? ['lr'] : ['lr', 'adam_step_size', 'adam_inv_sqrt_bc2'];
}

/** Values of the hyper-parameter inputs for the `step`-th update (1-based). */
export function hyperParameterValues(o: OptimizerConfig, step: number, lr = o.lr): number[] {
  if (o.kind === 'sgd') return [lr];
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  // Bias corrections as PyTorch's Adam applies them: step = lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
  return [lr, lr / (1 - b1 ** step), 1 / Math.sqrt(1 - b2 ** step)];
}

/**
 * When `grad` is a weight gradient computed by a Gemm that nothing else reads, returns
 * Gemm(scale * A, B, C, beta) — the gradient scaled and added to C in the same matrix product —
 * saving full passes over the parameter. `scale` multiplies whichever of A and B is smaller.
 */
function fuseIntoGradientGemm(grad: Value, c: Value, beta: number, scale: Value | null): Value | undefined {
  const g = grad.graph;
  const idx = g.producerIndex(grad.name);
  if (idx === undefined) return undefined;
  const node = g.nodes[idx];
  if (node.op !== 'Gemm' || node.inputs.length > 2 || g.consumers(grad.name).length > 0) return undefined;
  const [a, b] = [g.value(node.inputs[0]), g.value(node.inputs[1])];
  const at = node.attrs;
  const flag = (k: string) => at[k]?.type === 'int' && at[k].value === 1;
  const alpha = at.alpha?.type === 'float' ? at.alpha.value : 1;
  const size = (v: Value) =>
    (v.shape ?? []).reduce<number>((p, d) => p * (typeof d === 'number' ? d : 64), 1);
  let [sa, sb] = [a, b];
  if (scale) {
    if (size(a) <= size(b)) sa = op.mul(a, scale);
    else sb = op.mul(b, scale);
  }
  return op.gemm(sa, sb, c, { alpha, beta, transA: flag('transA'), transB: flag('transB') });
}

/** Appends the update of one parameter; returns its new value and new states. */
export function applyUpdate(
  o: OptimizerConfig,
  w: Value,
  grad: Value,
  states: Value[],
  hyper: Record<string, Value>,
): { w: Value; states: Value[] } {
  const g = w.graph;
  const S = (x: number) => op.scalar(g, x);
  if (o.kind === 'sgd') {
    if (!o.weightDecay && !o.momentum) {
      // w' = w - lr * g, folded into the gradient's own Gemm (lr is an input, so it scales an operand).
      const fused = fuseIntoGradientGemm(grad, w, 1, (hyper.negLr ??= op.neg(hyper.lr)));
      if (fused) return { w: fused, states: [] };
    }
    if (!o.weightDecay && o.momentum && !o.nesterov) {
      // v' = momentum * v + g in the gradient's Gemm; then w' = w - lr * v'.
      const v = fuseIntoGradientGemm(grad, states[0], o.momentum, null);
      if (v) return { w: op.sub(w, op.mul(v, hyper.lr)), states: [v] };
    }
    let d = o.weightDecay ? op.add(grad, op.mul(w, S(o.weightDecay))) : grad;
    const newStates: Value[] = [];
    if (o.momentum) {
      const v = op.add(op.mul(states[0], S(o.momentum)), d);
      newStates.push(v);
      d = o.nesterov ? op.add(d, op.mul(v, S(o.momentum))) : v;
    }
    return { w: op.sub(w, op.mul(d, hyper.lr)), states: newStates };
  }
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  const eps = o.epsilon ?? 1e-8;
  let gr = grad;
  let base = w;
  if (o.weightDecay) {
    if (o.kind === 'adam') gr = op.add(gr, op.mul(w, S(o.weightDecay)));
    else base = op.sub(w, op.mul(op.mul(w, hyper.lr), S(o.weightDecay)));
  }
  const m = op.add(op.mul(states[0], S(b1)), op.mul(gr, S(1 - b1)));
  const v = op.add(op.mul(states[1], S(b2)), op.mul(op.mul(gr, gr), S(1 - b2)));
  const denom = op.add(op.mul(op.sqrt(v), hyper.adam_inv_sqrt_bc2), S(eps));
  const step = op.mul(op.div(m, denom), hyper.adam_step_size);
  return { w: op.sub(base, step), states: [m, v] };
}

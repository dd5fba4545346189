/**
 * One-shot magnitude pruning of any ONNX model: the float32 constant weights of its Conv, Gemm and
 * MatMul nodes (never biases) are pruned in place, per weight or with one global threshold. Without
 * fine-tuning afterwards this is where accuracy is lost; see fine-tune.ts for the gradual form.
 *
 * The result is as large and as fast as before: ONNX stores the zeros, and ONNX Runtime's CPU
 * kernels multiply dense matrices whatever they hold. What sparsity buys is compressibility (the
 * zeros gzip well) and, with fine-tuning, a model ready for sparse kernels.
 */
import type { OnnxModel } from '../onnx/edit/model.js';
import { magnitudeMasks, applyMask, PruningError, type PruningScope } from './magnitude.js';
import type { LayerSparsity } from './parameter-mask.js';

const WEIGHTED = ['Conv', 'Gemm', 'MatMul'];

/** The float32 constant weights of Conv, Gemm and MatMul nodes, each named once. */
export function prunableInitializers(model: OnnxModel): string[] {
  const names = new Set<string>();
  for (const n of model.filter(
    (n) => WEIGHTED.includes(n.opType) && (n.domain === '' || n.domain === 'ai.onnx'),
  )) {
    const w = n.inputs[1];
    if (
      w &&
      model.isConstant(w) &&
      model.initializerProto(w)!.dataType === 1 &&
      model.initializerProto(w)!.dims.length >= 2
    )
      names.add(w);
  }
  return [...names];
}

/** Zeroes the smallest-magnitude `sparsity` of the model's weights, in place; per weight, what it pruned. */
export function pruneWeights(
  model: OnnxModel,
  o: { sparsity: number; scope?: PruningScope },
): LayerSparsity[] {
  const names = prunableInitializers(model);
  if (names.length === 0)
    throw new PruningError(
      `${model.source} has no float32 constant weight of a Conv, Gemm or MatMul to prune`,
    );
  const tensors = names.map((name) => ({ name, values: model.initializer(name)!.data as Float32Array }));
  const masks = magnitudeMasks(tensors, o.sparsity, { scope: o.scope });
  return tensors.map((t, k) => {
    applyMask(t.values, masks[k]);
    const dims = model.initializerProto(t.name)!.dims.map(Number);
    model.setInitializer(t.name, { dtype: 'float32', dims, data: t.values });
    let pruned = 0;
    for (const m of masks[k]) if (m === 0) pruned++;
    return { name: t.name, size: t.values.length, pruned, sparsity: pruned / t.values.length };
  });
}

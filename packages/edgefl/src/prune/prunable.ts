/**
 * Which parameters of an edgefl model magnitude pruning acts on: the weight matrices and kernels of
 * dense and convolution layers (attention's projections are dense layers too). Biases, norm scales
 * and embedding tables are left whole: they are a sliver of the parameters, and zeroing a bias or a
 * norm scale changes a unit's behaviour outright rather than dropping one of many small terms.
 *
 * Parameter names are the builder's (model/build.ts): `<layer type>_<path>.weight`, e.g.
 * `dense_7.weight`, `conv2d_0.weight`, `causalSelfAttention_2.qkv.weight`.
 */
import type { ParameterEntry } from '../tensor/parameters.js';

const PRUNABLE_WEIGHT = /^(dense|conv2d)_[0-9.]+\.weight$|^causalSelfAttention_[0-9.]+\.(qkv|out)\.weight$/;

/** Whether magnitude pruning acts on this parameter by default. */
export function isPrunableWeight(entry: Pick<ParameterEntry, 'name' | 'shape'>): boolean {
  return entry.shape.length >= 2 && PRUNABLE_WEIGHT.test(entry.name);
}

/** A caller's choice of the parameters to prune (default: isPrunableWeight). */
export type PrunableFilter = (entry: ParameterEntry) => boolean;

export function prunableEntries(
  layout: readonly ParameterEntry[],
  prunable: PrunableFilter = isPrunableWeight,
): ParameterEntry[] {
  return layout.filter(prunable);
}

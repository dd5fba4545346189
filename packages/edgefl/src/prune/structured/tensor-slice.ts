/**
 * Keeping some units of a weight tensor along one axis: the rows of a dense layer, the filters of a
 * convolution, or — for a layer that reads a flattened feature map — blocks of consecutive columns
 * (one block of height × width values per channel).
 */
import type { TensorData } from '../../onnx/types.js';

/**
 * The float32 tensor with only units `keep` (ascending) along `axis`, each unit being `block`
 * consecutive indices of that axis (unit u spans [u·block, (u+1)·block)).
 */
export function keepAlong(t: TensorData, axis: number, keep: readonly number[], block = 1): TensorData {
  if (!(t.data instanceof Float32Array))
    throw new Error(`keepAlong: a float32 tensor is needed, got ${t.dtype}`);
  const dims = t.dims;
  if (axis < 0 || axis >= dims.length)
    throw new Error(`keepAlong: axis ${axis} of a rank-${dims.length} tensor`);
  if (dims[axis] % block !== 0)
    throw new Error(`keepAlong: axis ${axis} has ${dims[axis]} values, not blocks of ${block}`);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const span = block * inner;
  const out = new Float32Array(outer * keep.length * span);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * dims[axis] * inner;
    for (const u of keep) {
      out.set(t.data.subarray(base + u * span, base + (u + 1) * span), at);
      at += span;
    }
  }
  const outDims = [...dims];
  outDims[axis] = keep.length * block;
  return { dtype: 'float32', dims: outDims, data: out };
}

/** The L2 norm of each unit's slice along `axis` (a dense layer's rows, a convolution's filters). */
export function unitNorms(t: TensorData, axis: number): Float64Array {
  const dims = t.dims;
  const units = dims[axis];
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const sums = new Float64Array(units);
  const data = t.data as Float32Array;
  for (let o = 0; o < outer; o++)
    for (let u = 0; u < units; u++) {
      const base = (o * units + u) * inner;
      let s = 0;
      for (let i = 0; i < inner; i++) s += data[base + i] * data[base + i];
      sums[u] += s;
    }
  return sums.map(Math.sqrt);
}

/**
 * The `count` units of smallest norm (ties: the lower index first), ascending, and the rest.
 */
export function smallestUnits(
  norms: ArrayLike<number>,
  count: number,
): { removed: number[]; kept: number[] } {
  const order = Array.from({ length: norms.length }, (_, i) => i).sort(
    (a, b) => norms[a] - norms[b] || a - b,
  );
  const removed = order.slice(0, count).sort((a, b) => a - b);
  const gone = new Set(removed);
  const kept = Array.from({ length: norms.length }, (_, i) => i).filter((i) => !gone.has(i));
  return { removed, kept };
}

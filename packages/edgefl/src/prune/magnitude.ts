/**
 * Magnitude pruning masks: of a set of weight tensors, the smallest-magnitude fraction is pruned
 * (mask 0), the rest kept (mask 1) — per tensor (each layer loses the same fraction) or globally
 * (one threshold over all of them, so layers with smaller weights lose more).
 *
 * Exactly round(sparsity · n) weights are pruned, whatever the ties: weights of equal magnitude at
 * the threshold are pruned in index order (in global scope, in the order the tensors are given), so
 * a mask never prunes more or fewer than asked. Weights a previous mask pruned count as smaller
 * than any other, so under a non-decreasing sparsity they stay pruned even after training moved
 * them (the gradual schedule's masks only grow, as in TF-MOT).
 */
import { selectInPlace } from '../tensor/select.js';

export type PruningScope = 'layer' | 'global';

/** A weight tensor by name, as a flat view of its values. */
export interface NamedWeights {
  readonly name: string;
  readonly values: Float32Array;
}

export interface MagnitudeMaskOptions {
  /** 'layer' (default): each tensor loses `sparsity` of its weights; 'global': one threshold over all. */
  scope?: PruningScope;
  /** The masks of the previous pruning step, one per tensor: what they pruned is pruned first. */
  previous?: readonly Uint8Array[];
}

export class PruningError extends Error {
  override name = 'PruningError';
}

/** A sparsity in [0, 1], or an error naming `what`. */
export function checkSparsity(sparsity: number, what = 'sparsity'): number {
  if (!(typeof sparsity === 'number' && sparsity >= 0 && sparsity <= 1))
    throw new PruningError(`${what} must be a fraction in [0, 1], got ${String(sparsity)}`);
  return sparsity;
}

/** How many of `size` weights a sparsity prunes: round(sparsity · size). */
export function prunedCount(size: number, sparsity: number): number {
  return Math.round(checkSparsity(sparsity) * size);
}

/** Keep-masks (1 keep, 0 prune), one per tensor, pruning the smallest magnitudes as described above. */
export function magnitudeMasks(
  tensors: readonly NamedWeights[],
  sparsity: number,
  o: MagnitudeMaskOptions = {},
): Uint8Array[] {
  checkSparsity(sparsity);
  if (o.previous && o.previous.length !== tensors.length)
    throw new PruningError(`${o.previous.length} previous masks for ${tensors.length} tensors`);
  const magnitudes = tensors.map((t, k) => magnitudesOf(t, o.previous?.[k]));
  if ((o.scope ?? 'layer') === 'layer')
    return magnitudes.map((m) => smallestPruned(m, prunedCount(m.length, sparsity)));
  const total = magnitudes.reduce((n, m) => n + m.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const m of magnitudes) {
    all.set(m, at);
    at += m.length;
  }
  const mask = smallestPruned(all, prunedCount(total, sparsity));
  at = 0;
  return magnitudes.map((m) => {
    const part = mask.slice(at, at + m.length);
    at += m.length;
    return part;
  });
}

/** |w|, with -1 where a previous mask pruned (below every magnitude). Refuses NaN, naming the tensor. */
function magnitudesOf(t: NamedWeights, previous: Uint8Array | undefined): Float32Array {
  if (previous && previous.length !== t.values.length)
    throw new PruningError(
      `'${t.name}': previous mask has ${previous.length} values, the tensor ${t.values.length}`,
    );
  const m = new Float32Array(t.values.length);
  for (let i = 0; i < m.length; i++) {
    const v = t.values[i];
    if (Number.isNaN(v)) throw new PruningError(`'${t.name}'[${i}] is NaN: cannot rank weights by magnitude`);
    m[i] = previous && previous[i] === 0 ? -1 : Math.abs(v);
  }
  return m;
}

/** The mask that prunes exactly `k` of `magnitudes`: all below the k-th smallest, then ties in index order. */
function smallestPruned(magnitudes: Float32Array, k: number): Uint8Array {
  const n = magnitudes.length;
  const mask = new Uint8Array(n).fill(1);
  if (k <= 0) return mask;
  if (k >= n) return mask.fill(0);
  const threshold = selectInPlace(magnitudes.slice(), k - 1);
  let below = 0;
  for (let i = 0; i < n; i++) if (magnitudes[i] < threshold) below++;
  let ties = k - below;
  for (let i = 0; i < n; i++) {
    const m = magnitudes[i];
    if (m < threshold) mask[i] = 0;
    else if (m === threshold && ties > 0) {
      mask[i] = 0;
      ties--;
    }
  }
  return mask;
}

/** Zeroes the weights a mask prunes, in place. */
export function applyMask(values: Float32Array, mask: Uint8Array): void {
  if (values.length !== mask.length)
    throw new PruningError(`mask of ${mask.length} values for a tensor of ${values.length}`);
  for (let i = 0; i < values.length; i++) if (mask[i] === 0) values[i] = 0;
}

/** The fraction of values that are exactly zero. */
export function zeroFraction(values: ArrayLike<number>): number {
  let zeros = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) zeros++;
  return values.length === 0 ? 0 : zeros / values.length;
}

/**
 * A magnitude mask over a model's parameters in their flat form (a Float32Array and its layout, as
 * they train, travel and aggregate): one keep-mask per prunable tensor, applied by zeroing in place.
 */
import type { ParameterEntry } from '../tensor/parameters.js';
import { applyMask, magnitudeMasks, PruningError, type PruningScope } from './magnitude.js';
import { isPrunableWeight, prunableEntries, type PrunableFilter } from './prunable.js';

/** What a mask prunes of one tensor. */
export interface LayerSparsity {
  name: string;
  size: number;
  pruned: number;
  sparsity: number;
}

export interface ParameterMaskOptions {
  scope?: PruningScope;
  prunable?: PrunableFilter;
  /** The previous step's mask: what it pruned is pruned first (see magnitude.ts). */
  previous?: ParameterMask;
}

export class ParameterMask {
  private constructor(
    /** The tensors the mask acts on, in layout order. */
    readonly entries: readonly ParameterEntry[],
    /** One keep-mask (1 keep, 0 prune) per entry. */
    readonly keep: readonly Uint8Array[],
    /** The sparsity asked for. */
    readonly sparsity: number,
  ) {}

  /** The mask pruning `sparsity` of the prunable weights of `values` (laid out as `layout`) by magnitude. */
  static of(
    values: Float32Array,
    layout: readonly ParameterEntry[],
    sparsity: number,
    o: ParameterMaskOptions = {},
  ): ParameterMask {
    const entries = prunableEntries(layout, o.prunable ?? isPrunableWeight);
    if (entries.length === 0)
      throw new PruningError(
        `no prunable weights among ${layout.map((e) => `'${e.name}'`).join(', ') || 'no parameters'} (pruning acts on dense and convolution weights)`,
      );
    const end = layout.length ? layout[layout.length - 1].offset + layout[layout.length - 1].size : 0;
    if (values.length !== end) throw new PruningError(`${values.length} values for a layout of ${end}`);
    if (o.previous && !sameEntries(o.previous.entries, entries))
      throw new PruningError('the previous mask was made for other parameters');
    const keep = magnitudeMasks(
      entries.map((e) => ({ name: e.name, values: values.subarray(e.offset, e.offset + e.size) })),
      sparsity,
      { scope: o.scope, previous: o.previous?.keep },
    );
    return new ParameterMask(entries, keep, sparsity);
  }

  /** A mask from its keep-masks (a checkpoint's), checked against the layout's prunable tensors. */
  static fromKeep(
    layout: readonly ParameterEntry[],
    keep: readonly Uint8Array[],
    sparsity: number,
    prunable: PrunableFilter = isPrunableWeight,
  ): ParameterMask {
    const entries = prunableEntries(layout, prunable);
    if (keep.length !== entries.length || entries.some((e, k) => keep[k].length !== e.size))
      throw new PruningError(
        `the saved mask has ${keep.length} tensors of ${keep.map((k) => k.length).join(', ')} values; the model's prunable tensors are ${entries.map((e) => `'${e.name}' (${e.size})`).join(', ')}`,
      );
    return new ParameterMask(entries, keep, sparsity);
  }

  /** Zeroes the pruned weights of `values` (the whole flat vector), in place. */
  apply(values: Float32Array): void {
    this.entries.forEach((e, k) => applyMask(values.subarray(e.offset, e.offset + e.size), this.keep[k]));
  }

  /** Per tensor, what the mask prunes. */
  layers(): LayerSparsity[] {
    return this.entries.map((e, k) => {
      let pruned = 0;
      for (const m of this.keep[k]) if (m === 0) pruned++;
      return { name: e.name, size: e.size, pruned, sparsity: pruned / e.size };
    });
  }

  /** The fraction of the prunable weights the mask prunes. */
  overall(): number {
    const layers = this.layers();
    const size = layers.reduce((n, l) => n + l.size, 0);
    return layers.reduce((n, l) => n + l.pruned, 0) / size;
  }
}

function sameEntries(a: readonly ParameterEntry[], b: readonly ParameterEntry[]): boolean {
  return (
    a.length === b.length &&
    a.every((e, i) => e.name === b[i].name && e.offset === b[i].offset && e.size === b[i].size)
  );
}

/**
 * Gradual magnitude pruning as a small state machine over steps, shared by central fine-tuning
 * (steps = optimizer steps) and federated training (steps = rounds): at each step the schedule
 * prunes at, the mask is recomputed at the schedule's sparsity from the current weights (what was
 * pruned before stays pruned); at every step the current mask is applied. `finish` applies the
 * schedule's final sparsity, so the model handed back has exactly that sparsity whatever step the
 * training stopped at.
 */
import type { ParameterEntry } from '../tensor/parameters.js';
import type { PruningScope } from './magnitude.js';
import { ParameterMask } from './parameter-mask.js';
import type { PrunableFilter } from './prunable.js';
import type { PruningSchedule } from './schedule.js';

export interface GradualPrunerOptions {
  scope?: PruningScope;
  prunable?: PrunableFilter;
}

export class GradualPruner {
  /** The mask in force (undefined before the schedule's first pruning step). */
  mask: ParameterMask | undefined;

  constructor(
    readonly layout: readonly ParameterEntry[],
    readonly schedule: PruningSchedule,
    readonly options: GradualPrunerOptions = {},
  ) {}

  /**
   * At `step`: recomputes the mask if the schedule prunes now, then zeroes what the mask prunes in
   * `values` (in place). Returns whether the mask was recomputed.
   */
  step(step: number, values: Float32Array): boolean {
    const recompute = this.schedule.prunesAt(step);
    if (recompute) this.mask = this.maskAt(this.schedule.sparsityAt(step), values);
    this.mask?.apply(values);
    return recompute;
  }

  /** Applies the schedule's final sparsity to `values` (in place), whatever step it is. */
  finish(values: Float32Array): ParameterMask {
    this.mask = this.maskAt(this.schedule.finalSparsity, values);
    this.mask.apply(values);
    return this.mask;
  }

  private maskAt(sparsity: number, values: Float32Array): ParameterMask {
    return ParameterMask.of(values, this.layout, sparsity, {
      scope: this.options.scope,
      prunable: this.options.prunable,
      previous: this.mask,
    });
  }

  /** For checkpoints: the keep-masks of the mask in force. */
  state(): Uint8Array[] | undefined {
    return this.mask?.keep.map((k) => k.slice());
  }
}

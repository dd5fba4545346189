/**
 * Gradual magnitude pruning while fine-tuning on one machine, with the ordinary Trainer: training
 * runs in chunks of steps ending at the schedule's pruning steps (and at least every `frequency`
 * steps); after each chunk the parameters are read, masked and written back.
 *
 * Within a chunk the training step does not know the mask: pruned weights get gradients and can
 * move away from zero (regrow) until the chunk ends, when they are zeroed again — the mask itself
 * stays (pruned weights rank below every other at the next recomputation). TF-MOT masks after every
 * step; masking every chunk costs one parameter copy per chunk instead of per step, and the chunk
 * length is the schedule's `frequency`. The model returned has exactly the final sparsity: the last
 * mask is applied after the last step.
 */
import type { Dataset } from '../data/dataset.js';
import type { Trainer } from '../runtime/trainer.js';
import type { PruningScope } from './magnitude.js';
import { GradualPruner } from './gradual.js';
import type { LayerSparsity } from './parameter-mask.js';
import type { PrunableFilter } from './prunable.js';
import { polynomialDecay, type PruningSchedule } from './schedule.js';
import { PruningError } from './magnitude.js';

export interface PruneFineTuneOptions {
  schedule: PruningSchedule;
  /** Optimizer steps in all. */
  steps: number;
  batchSize: number;
  scope?: PruningScope;
  prunable?: PrunableFilter;
  /** Learning rate (default: the trainer's optimizer's). */
  lr?: number;
  /** Seed of the shuffling; each chunk gets seed + its first step. */
  seed?: number;
  /** After each chunk: the step reached, the sparsity in force and the chunk's mean loss. */
  onChunk?: (c: PruneChunk) => void;
  signal?: AbortSignal;
}

export interface PruneChunk {
  step: number;
  sparsity: number;
  loss: number;
}

export interface PruneFineTuneResult {
  steps: number;
  chunks: PruneChunk[];
  /** Per prunable tensor, the final mask's sparsity. */
  layers: LayerSparsity[];
  /** Over all prunable weights. */
  sparsity: number;
}

/** Fine-tunes `trainer`'s model on `data` while pruning it as `schedule` says; leaves it pruned. */
export async function pruneWhileFineTuning(
  trainer: Trainer,
  data: Dataset,
  o: PruneFineTuneOptions,
): Promise<PruneFineTuneResult> {
  if (!(Number.isInteger(o.steps) && o.steps >= 1))
    throw new PruningError(`steps must be an integer >= 1, got ${String(o.steps)}`);
  const pruner = new GradualPruner(trainer.layout, o.schedule, { scope: o.scope, prunable: o.prunable });
  const masked = (step: number) => {
    const p = trainer.getParameters();
    pruner.step(step, p.values);
    trainer.setParameters(p);
  };
  masked(0);
  const chunks: PruneChunk[] = [];
  let step = 0;
  while (step < o.steps) {
    const boundary = Math.min(
      o.steps,
      o.schedule.nextPruningStep(step) ?? Infinity,
      step + o.schedule.frequency,
    );
    const fit = await trainer.fit(data, {
      batchSize: o.batchSize,
      steps: boundary - step,
      lr: o.lr,
      seed: o.seed === undefined ? undefined : o.seed + step,
      signal: o.signal,
    });
    step = boundary;
    masked(step);
    chunks.push({ step, sparsity: pruner.mask?.overall() ?? 0, loss: fit.loss });
    o.onChunk?.(chunks[chunks.length - 1]);
  }
  const p = trainer.getParameters();
  const mask = pruner.finish(p.values);
  trainer.setParameters(p);
  return { steps: step, chunks, layers: mask.layers(), sparsity: mask.overall() };
}

/**
 * The schedule `edgefl optimize --prune s --finetune` uses for `steps` steps: polynomial decay from
 * 0 to s over the first 70% of the steps, about 20 mask updates, then the rest to recover at s.
 */
export function fineTuneSchedule(finalSparsity: number, steps: number): PruningSchedule {
  const endStep = Math.max(1, Math.round(0.7 * steps));
  return polynomialDecay({ finalSparsity, endStep, frequency: Math.max(1, Math.round(endStep / 20)) });
}

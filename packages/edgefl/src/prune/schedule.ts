/**
 * When and how much to prune during training (Zhu & Gupta, "To prune, or not to prune", 2017; the
 * schedules of TensorFlow Model Optimization's pruning API, reimplemented here).
 *
 * Polynomial decay: sparsity rises from s_i at step t0 to s_f at step t1 as
 *   s(t) = s_f + (s_i − s_f) · (1 − p)^power,  p = clamp((t − t0) / (t1 − t0), 0, 1),
 * fast at first (while many small weights are redundant), slowly near the end (so the network can
 * recover from each step). The mask is recomputed at t0, t0 + frequency, ... up to t1 inclusive;
 * between those steps the last mask stays.
 *
 * "Steps" are whatever the caller counts: optimizer steps in central fine-tuning, rounds in
 * federated training.
 */
import { checkSparsity, PruningError } from './magnitude.js';

export interface PruningSchedule {
  /** The target sparsity at `step`. */
  sparsityAt(step: number): number;
  /** Whether the mask is recomputed at `step`. */
  prunesAt(step: number): boolean;
  /** The first step after `step` at which the mask is recomputed, or undefined when none is left. */
  nextPruningStep(step: number): number | undefined;
  readonly finalSparsity: number;
  readonly beginStep: number;
  /** The last step at which the mask may change. */
  readonly endStep: number;
  readonly frequency: number;
}

export interface PolynomialDecayOptions {
  initialSparsity?: number;
  finalSparsity: number;
  beginStep?: number;
  endStep: number;
  /** Default 3, as TF-MOT's. */
  power?: number;
  /** Steps between mask updates (default 100, as TF-MOT's). */
  frequency?: number;
}

function checkStep(v: number, what: string): number {
  if (!(Number.isInteger(v) && v >= 0))
    throw new PruningError(`${what} must be an integer >= 0, got ${String(v)}`);
  return v;
}

/** Recompute points t0, t0 + f, ... <= t1; shared by the schedules. */
function pruningSteps(beginStep: number, endStep: number, frequency: number) {
  return {
    prunesAt: (step: number) => step >= beginStep && step <= endStep && (step - beginStep) % frequency === 0,
    nextPruningStep: (step: number): number | undefined => {
      const next =
        step < beginStep
          ? beginStep
          : beginStep + (Math.floor((step - beginStep) / frequency) + 1) * frequency;
      return next <= endStep ? next : undefined;
    },
  };
}

export function polynomialDecay(o: PolynomialDecayOptions): PruningSchedule {
  const initial = checkSparsity(o.initialSparsity ?? 0, 'initialSparsity');
  const final = checkSparsity(o.finalSparsity, 'finalSparsity');
  const beginStep = checkStep(o.beginStep ?? 0, 'beginStep');
  const endStep = checkStep(o.endStep, 'endStep');
  if (endStep <= beginStep)
    throw new PruningError(`endStep (${endStep}) must come after beginStep (${beginStep})`);
  const power = o.power ?? 3;
  if (!(power > 0 && Number.isFinite(power))) throw new PruningError(`power must be positive, got ${power}`);
  const frequency = o.frequency ?? 100;
  if (!(Number.isInteger(frequency) && frequency >= 1))
    throw new PruningError(`frequency must be an integer >= 1, got ${String(frequency)}`);
  return {
    sparsityAt: (step) => {
      const p = Math.min(1, Math.max(0, (step - beginStep) / (endStep - beginStep)));
      return final + (initial - final) * (1 - p) ** power;
    },
    ...pruningSteps(beginStep, endStep, frequency),
    finalSparsity: final,
    beginStep,
    endStep,
    frequency,
  };
}

/** One sparsity from `beginStep` on, the mask recomputed every `frequency` steps until `endStep`. */
export function constantSparsity(o: {
  sparsity: number;
  beginStep?: number;
  endStep: number;
  frequency?: number;
}): PruningSchedule {
  const sparsity = checkSparsity(o.sparsity);
  const beginStep = checkStep(o.beginStep ?? 0, 'beginStep');
  const endStep = checkStep(o.endStep, 'endStep');
  if (endStep < beginStep) throw new PruningError(`endStep (${endStep}) is before beginStep (${beginStep})`);
  const frequency = o.frequency ?? 100;
  if (!(Number.isInteger(frequency) && frequency >= 1))
    throw new PruningError(`frequency must be an integer >= 1, got ${String(frequency)}`);
  return {
    sparsityAt: () => sparsity,
    ...pruningSteps(beginStep, endStep, frequency),
    finalSparsity: sparsity,
    beginStep,
    endStep,
    frequency,
  };
}

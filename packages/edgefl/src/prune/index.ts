/**
 * Pruning: magnitude masks (per layer or global) with gradual schedules, applied while fine-tuning
 * (central) or after each federated round; one-shot magnitude pruning of any ONNX model's weights;
 * and structured pruning that removes neurons and convolution channels from any ONNX graph.
 */
export {
  magnitudeMasks,
  prunedCount,
  applyMask,
  zeroFraction,
  checkSparsity,
  PruningError,
  type NamedWeights,
  type PruningScope,
  type MagnitudeMaskOptions,
} from './magnitude.js';
export { isPrunableWeight, prunableEntries, type PrunableFilter } from './prunable.js';
export {
  polynomialDecay,
  constantSparsity,
  type PruningSchedule,
  type PolynomialDecayOptions,
} from './schedule.js';
export { ParameterMask, type LayerSparsity, type ParameterMaskOptions } from './parameter-mask.js';
export { GradualPruner, type GradualPrunerOptions } from './gradual.js';
export {
  pruneWhileFineTuning,
  fineTuneSchedule,
  type PruneFineTuneOptions,
  type PruneFineTuneResult,
  type PruneChunk,
} from './fine-tune.js';
export { withPruning, PrunedStrategy, type FederatedPruningOptions } from './federated.js';
export { pruneWeights, prunableInitializers } from './onnx-weights.js';
export {
  removeUnits,
  type RemoveUnitsOptions,
  type RemovedUnits,
  type StructuredPruningReport,
} from './structured/remove-units.js';
export { followUnits, type UnitPlan, type UnitSlice } from './structured/follow.js';

/**
 * Gradient inversion: what an honest-but-curious server can reconstruct of a client's training
 * images from the update it receives, with and without defenses. The picture writer is Node-only
 * (node/picture.ts); everything here runs in browsers too.
 */
export { mse, psnr, ssim, gaussianTaps, type ImageSize, type SsimOptions } from './metrics.js';
export {
  analyticReconstruction,
  rowReconstructions,
  firstDenseLayer,
  rowsByBiasGradient,
  type AnalyticOptions,
  type DenseLayerEntries,
} from './analytic.js';
export { inferLabels, lastBiasGradient } from './labels.js';
export { buildInversionGraph, type InversionGraph, type MatchDistance } from './objective.js';
export { GradientInverter, type InversionOptions, type InversionResult } from './invert.js';
export { ClientGradient, type ClientGradientOptions } from './client-gradient.js';
export {
  DEFENSES,
  DP_DELTA,
  isDefense,
  calibrateDp,
  clipAndNoise,
  secureSum,
  type DefenseName,
  type DpCalibration,
  type SecureSum,
} from './defenses.js';
export { matchOneToOne, bestCandidate, clampInPlace } from './match.js';
export {
  runAttack,
  ATTACK_METHODS,
  type AttackMethod,
  type AttackOptions,
  type AttackReport,
  type ImageScore,
} from './scenario.js';

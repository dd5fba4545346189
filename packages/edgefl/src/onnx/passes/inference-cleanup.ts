/**
 * The clean-up a model gets before it ships: Identity and inference-mode Dropout bypassed,
 * constant subgraphs folded (by ONNX Runtime's own kernels; results up to 65,536 values), GELU
 * fused into one node (ONNX Runtime does not do that itself for the form that multiplies by 1/√2),
 * and whatever nothing reads dropped. Every pass keeps what the model computes; the command that
 * runs it checks that on example inputs too.
 */
import { foldConstants } from './fold-constants.js';
import { fuseGelu } from './fuse-gelu.js';
import type { OnnxPass } from './pass.js';
import { pruneUnused } from './prune-unused.js';
import { removeIdentityAndDropout } from './remove-identity.js';

export function inferenceCleanup(): OnnxPass[] {
  // A folded Expand or ConstantOfShape can turn a few numbers into megabytes: those stay computed.
  return [removeIdentityAndDropout(), foldConstants({ maxElements: 1 << 16 }), fuseGelu(), pruneUnused()];
}

/** Dead-code elimination as a pass: see OnnxModel.removeUnused. */
import { describeNode } from '../edit/errors.js';
import type { OnnxModel } from '../edit/model.js';
import type { OnnxPass, PassOutcome } from './pass.js';

export function pruneUnused(): OnnxPass {
  return {
    name: 'prune-unused',
    run(model: OnnxModel): PassOutcome {
      const removed = model.removeUnused();
      return {
        changes: [
          ...removed.nodes.map((n) => `removed ${describeNode(n)}: no graph output depends on it`),
          ...removed.initializers.map((t) => `removed initializer '${t}': nothing reads it`),
          ...removed.valueInfos.map((v) => `removed the recorded type of '${v}', which no longer exists`),
        ],
      };
    },
  };
}

/**
 * Inference clean-up: Identity nodes copy a value, and Dropout does nothing at inference, so both
 * are bypassed — their readers read the input instead. Exporters leave many of them (PyTorch puts
 * an Identity wherever a parameter is reused, a Dropout per dropout layer).
 */
import { describeNode } from '../edit/errors.js';
import type { OnnxModel } from '../edit/model.js';
import type { OnnxNode } from '../edit/node.js';
import type { OnnxPass, PassOutcome } from './pass.js';

/** Why a node cannot be bypassed, or undefined when it can. */
function reasonToKeep(model: OnnxModel, n: OnnxNode): string | undefined {
  const [input] = n.inputs;
  const [output, mask] = n.outputs;
  if (!input || !output) return 'it has no input or no output';
  if (n.opType === 'Dropout') {
    const opset = model.opset('') ?? 1;
    // Before opset 7 Dropout trains unless is_test=1; from opset 12 a training_mode input decides.
    if (opset < 7 && n.int('is_test', 0) !== 1) return 'it is in training mode (is_test is not 1)';
    const trainingMode = n.inputs[2];
    if (opset >= 12 && trainingMode) {
      const t = model.isConstant(trainingMode) ? model.initializer(trainingMode) : undefined;
      if (!t || t.data.length !== 1 || Number(t.data[0]) !== 0)
        return `its training_mode '${trainingMode}' is not a constant false`;
    }
    if (mask && (model.consumers(mask).length || model.isGraphOutput(mask)))
      return `its mask '${mask}' is read`;
  }
  // A graph output keeps its name: the input is renamed after it, which only a node's output can be.
  if (model.isGraphOutput(output)) {
    if (!model.producer(input))
      return `its output is a graph output and its input '${input}' is not a node's output`;
    if (model.isGraphOutput(input)) return `its input '${input}' and its output are both graph outputs`;
  }
  return undefined;
}

export function removeIdentityAndDropout(): OnnxPass {
  return {
    name: 'remove-identity-and-dropout',
    run(model: OnnxModel): PassOutcome {
      const changes: string[] = [];
      const notes: string[] = [];
      for (const n of model.nodes()) {
        if (
          (n.opType !== 'Identity' && n.opType !== 'Dropout') ||
          (n.domain !== '' && n.domain !== 'ai.onnx')
        )
          continue;
        const why = reasonToKeep(model, n);
        if (why) {
          notes.push(`kept ${describeNode(n)}: ${why}`);
          continue;
        }
        const [input] = n.inputs;
        const [output] = n.outputs;
        const renamed = model.isGraphOutput(output);
        model.remove(n, { rewire: { [output]: input } });
        changes.push(
          renamed
            ? `removed ${describeNode(n)}: '${input}' now is graph output '${output}'`
            : `removed ${describeNode(n)}: its readers read '${input}'`,
        );
      }
      return { changes, notes };
    },
  };
}

/** Loss functions (and the matching accuracy count) as graph builders. */
import { GraphError, type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';

export type LossName = 'softmaxCrossEntropy' | 'binaryCrossEntropy' | 'meanSquaredError';

export interface LossOptions {
  /** Per-class weights: softmax CE, one per class; binary CE, [negative, positive]. */
  classWeights?: readonly number[];
}

export interface LossGraph {
  /** Mean loss over the batch (scalar). */
  loss: Value;
  /** Number of correctly classified samples (positions), as float32 scalar; undefined for regression. */
  correct?: Value;
  /** Number of predictions counted by `correct` per sample. */
  predictionsPerSample: number;
}

export function labelSpec(
  loss: LossName,
  output: Value,
): { dtype: 'int32' | 'float32'; shape: (number | string)[] } {
  const shape = output.shape!;
  if (loss === 'softmaxCrossEntropy')
    return { dtype: 'int32', shape: shape.slice(0, -1) as (number | string)[] };
  return { dtype: 'float32', shape: [...shape] as (number | string)[] };
}

export function buildLoss(name: LossName, output: Value, labels: Value, o: LossOptions = {}): LossGraph {
  const g = output.graph;
  const rank = output.rank!;
  switch (name) {
    case 'softmaxCrossEntropy': {
      if (rank < 2)
        throw new GraphError(`softmaxCrossEntropy needs logits [batch, (time,) classes], got ${output}`);
      const classes = output.shape![rank - 1] as number;
      if (o.classWeights && o.classWeights.length !== classes)
        throw new GraphError(
          `softmaxCrossEntropy: ${o.classWeights.length} class weights for ${classes} classes`,
        );
      // ONNX puts the class axis second: [batch, classes, time...].
      const scores =
        rank === 2
          ? output
          : op.transpose(output, [0, rank - 1, ...[...Array(rank - 2).keys()].map((i) => i + 1)]);
      const y64 = op.cast(labels, 'int64');
      const weights = o.classWeights
        ? op.constant(g, op.tensorOf('float32', [...o.classWeights], [classes]), 'class_weights')
        : null;
      const [loss] = op.softmaxCrossEntropyLoss(scores, y64, weights, 'mean');
      const correct = correctCount(output, y64);
      const perSample = (output.shape!.slice(1, -1) as number[]).reduce((a, b) => a * b, 1);
      return { loss, correct, predictionsPerSample: perSample };
    }
    case 'binaryCrossEntropy': {
      // Stable form on logits z: max(z, 0) - z*y + log(1 + exp(-|z|)), weighted per class.
      const z = output;
      const y = labels;
      const one = op.scalar(g, 1);
      let perElem = op.add(op.sub(op.relu(z), op.mul(z, y)), op.log(op.add(one, op.exp(op.neg(op.abs(z))))));
      if (o.classWeights) {
        if (o.classWeights.length !== 2)
          throw new GraphError(
            `binaryCrossEntropy class weights are [negative, positive], got ${o.classWeights.length} values`,
          );
        const [wn, wp] = o.classWeights;
        const w = op.add(op.scalar(g, wn), op.mul(y, op.scalar(g, wp - wn)));
        perElem = op.mul(perElem, w);
      }
      const loss = op.reduceMean(perElem, [], false);
      const predicted = op.greater(z, op.scalar(g, 0));
      const truth = op.greater(y, op.scalar(g, 0.5));
      const correct = op.reduceSum(
        op.cast(op.equal(op.cast(predicted, 'int32'), op.cast(truth, 'int32')), 'float32'),
        [],
        false,
      );
      const perSample = (output.shape!.slice(1) as number[]).reduce((a, b) => a * b, 1);
      return { loss, correct, predictionsPerSample: perSample };
    }
    case 'meanSquaredError': {
      const d = op.sub(output, labels);
      return { loss: op.reduceMean(op.mul(d, d), [], false), predictionsPerSample: 0 };
    }
    default:
      throw new GraphError(
        `unknown loss '${name as string}' (use softmaxCrossEntropy, binaryCrossEntropy or meanSquaredError)`,
      );
  }
}

/** How many positions' arg-max over the last axis equals the integer label (float32 scalar). */
export function correctCount(logits: Value, labels64: Value): Value {
  const predicted = logits.graph.node(
    'ArgMax',
    [logits],
    { axis: { type: 'int', value: -1 }, keepdims: { type: 'int', value: 0 } },
    [{ dtype: 'int64', shape: labels64.shape }],
  )[0];
  return op.reduceSum(op.cast(op.equal(predicted, labels64), 'float32'), [], false);
}

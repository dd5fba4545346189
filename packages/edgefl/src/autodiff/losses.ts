/**
 * Loss functions (and the matching accuracy count) as graph builders, one table entry per loss: the
 * labels a batch of that loss carries, and the graph that turns the model's output and those labels
 * into the batch's mean loss. A new loss is one more entry.
 */
import { GraphError, type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';

export interface LossOptions {
  /** Per-class weights: softmax CE, one per class; binary CE, [negative, positive]. */
  classWeights?: readonly number[];
  /** Distillation: the temperature T that softens both the teacher's and the student's logits (default 4). */
  temperature?: number;
  /** Distillation: the weight of the soft (teacher) term; the hard-label term gets 1 - alpha (default 0.9). */
  alpha?: number;
}

export interface LossGraph {
  /** Mean loss over the batch (scalar). */
  loss: Value;
  /** Number of correctly classified samples (positions), as float32 scalar; undefined for regression. */
  correct?: Value;
  /** Number of predictions counted by `correct` per sample. */
  predictionsPerSample: number;
}

export interface LabelSpec {
  dtype: 'int32' | 'float32';
  /** Batch first, as the model's output. */
  shape: (number | string)[];
}

interface LossEntry {
  /** What a batch's labels are for a model whose output is `output`. */
  labels(output: Value): LabelSpec;
  build(output: Value, labels: Value, o: LossOptions): LossGraph;
}

/** Distillation's defaults: Hinton et al. (2015) use T between 2 and 20; 4 and 0.9 suit MNIST-sized models. */
export const DISTILLATION_DEFAULTS = { temperature: 4, alpha: 0.9 } as const;

const LOSSES = {
  softmaxCrossEntropy: {
    labels: (output) => ({ dtype: 'int32', shape: output.shape!.slice(0, -1) as (number | string)[] }),
    build(output, labels, o) {
      const g = output.graph;
      const rank = output.rank!;
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
    },
  },
  binaryCrossEntropy: {
    labels: sameAsOutput,
    build(output, labels, o) {
      const g = output.graph;
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
    },
  },
  meanSquaredError: {
    labels: sameAsOutput,
    build(output, labels) {
      const d = op.sub(output, labels);
      return { loss: op.reduceMean(op.mul(d, d), [], false), predictionsPerSample: 0 };
    },
  },
  /**
   * Knowledge distillation (Hinton et al. 2015). Labels: float32 [batch, 1 + classes], each row the
   * hard label (a class index, as a float) followed by the teacher's logits for that sample. Loss:
   *   alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − alpha) · CE(student, hard label),
   * both averaged over the batch. The T² keeps the soft term's gradients, which shrink as 1/T², on the
   * scale of the hard term's whatever the temperature. Accuracy: arg-max against the hard label.
   */
  distillation: {
    labels(output) {
      const classes = distillationClasses(output);
      return { dtype: 'float32', shape: [output.shape![0], 1 + classes] };
    },
    build(output, labels, o) {
      const g = output.graph;
      const classes = distillationClasses(output);
      const { temperature: T, alpha } = distillationSettings(o);
      const hard = op.cast(op.squeeze(op.slice(labels, [0], [1], [1]), [1]), 'int64');
      const teacher = op.slice(labels, [1], [1 + classes], [1]);
      const terms: Value[] = [];
      if (alpha > 0) {
        const invT = op.scalar(g, 1 / T);
        const teacherLogProbs = op.logSoftmax(op.mul(teacher, invT), -1);
        const studentLogProbs = op.logSoftmax(op.mul(output, invT), -1);
        // KL(p ‖ q) = Σ p (log p − log q); p = exp(log p) keeps the teacher's side to one softmax.
        const perSample = op.reduceSum(
          op.mul(op.exp(teacherLogProbs), op.sub(teacherLogProbs, studentLogProbs)),
          [1],
          false,
        );
        terms.push(op.mul(op.reduceMean(perSample, [], false), op.scalar(g, alpha * T * T)));
      }
      if (alpha < 1) {
        const [ce] = op.softmaxCrossEntropyLoss(output, hard, null, 'mean');
        terms.push(alpha > 0 ? op.mul(ce, op.scalar(g, 1 - alpha)) : ce);
      }
      return { loss: op.sum(terms), correct: correctCount(output, hard), predictionsPerSample: 1 };
    },
  },
} satisfies Record<string, LossEntry>;

export type LossName = keyof typeof LOSSES;

/** The losses by name, for messages and option lists. */
export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];

function lossEntry(name: LossName): LossEntry {
  const entry = Object.hasOwn(LOSSES, name) ? (LOSSES as Record<string, LossEntry>)[name] : undefined;
  if (!entry) throw new GraphError(`unknown loss '${name as string}' (use ${LOSS_NAMES.join(', ')})`);
  return entry;
}

export function labelSpec(loss: LossName, output: Value): LabelSpec {
  return lossEntry(loss).labels(output);
}

export function buildLoss(name: LossName, output: Value, labels: Value, o: LossOptions = {}): LossGraph {
  return lossEntry(name).build(output, labels, o);
}

function sameAsOutput(output: Value): LabelSpec {
  return { dtype: 'float32', shape: [...output.shape!] as (number | string)[] };
}

function distillationClasses(output: Value): number {
  const classes = output.shape?.[1];
  if (output.rank !== 2 || typeof classes !== 'number')
    throw new GraphError(`distillation needs a classifier's logits [batch, classes], got ${output}`);
  return classes;
}

/** The temperature and weight of a distillation loss, defaults filled in, refused when out of range. */
export function distillationSettings(o: LossOptions): { temperature: number; alpha: number } {
  const temperature = o.temperature ?? DISTILLATION_DEFAULTS.temperature;
  const alpha = o.alpha ?? DISTILLATION_DEFAULTS.alpha;
  if (!(Number.isFinite(temperature) && temperature > 0))
    throw new GraphError(`distillation: temperature must be a positive number, got ${temperature}`);
  if (!(alpha >= 0 && alpha <= 1))
    throw new GraphError(`distillation: alpha must lie in [0, 1], got ${alpha}`);
  return { temperature, alpha };
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

/**
 * The DP-SGD training step (Abadi et al. 2016) as one ONNX graph: per-example gradient clipping,
 * Gaussian noise from the caller, and the optimizer update.
 *
 * Per-example gradients are never materialised. For a dense layer Y = X·Wᵀ + b, example i's
 * gradient of W is the outer product dYᵢ ⊗ Xᵢ, so its squared norm is ‖dYᵢ‖²·‖Xᵢ‖² and the bias
 * adds ‖dYᵢ‖² (Goodfellow 2015, "Efficient per-example gradient computations"). One backward pass
 * from the per-example losses to the layers' outputs gives every dYᵢ, hence every example's norm
 * and its clip factor cᵢ = min(1, C / ‖gᵢ‖). A second backward pass, seeded with c instead of ones,
 * gives Σᵢ cᵢ·∇Lᵢ — the sum of the clipped per-example gradients — directly (backpropagation is
 * linear in its seed). The caller adds N(0, (zC)²) noise (an input, so the noise can come from a
 * cryptographic generator) and divides by the expected batch size (an input as well).
 *
 * Covers models whose parameters all sit in dense layers applied to one row per example (the MLP
 * and logistic regression of the zoo). Convolutions, embeddings, normalisation and sequence models
 * would need their own per-example norm rules; the compiler refuses them, naming the parameter.
 */
import { GraphError, type Node, type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { encodeModel } from '../onnx/proto.js';
import { buildModel } from '../model/build.js';
import type { ModelSpec } from '../model/layers.js';
import type { ParameterEntry } from '../tensor/parameters.js';
import { gradients } from './gradients.js';
import type { OptimizerConfig } from './optimizers.js';
import { correctCount } from './losses.js';
import { appendOptimizer } from './training-graph.js';

export interface DpSgdGraph {
  bytes: Uint8Array;
  layout: ParameterEntry[];
  names: {
    input: string;
    labels: string;
    /** Scalar inputs: the clip norm C and the denominator (expected batch size). */
    clipNorm: string;
    denominator: string;
    params: string[];
    /** One noise input per parameter, same shape (already scaled: N(0, (zC)²)). */
    noise: string[];
    paramsOut: string[];
    states: string[][];
    statesOut: string[][];
    hyper: string[];
    /** Outputs: mean loss, correct count, number of examples whose gradient was clipped, and the per-example norms. */
    loss: string;
    correct: string;
    clipped: string;
    norms: string;
  };
}

interface DenseUse {
  x: Value;
  y: Value;
  weight?: number;
  bias?: number;
}

/** The Gemm nodes that use the parameters, checked to be dense layers over one row per example. */
function denseLayers(nodes: readonly Node[], params: readonly Value[], batch: string | number): DenseUse[] {
  const index = new Map(params.map((p, i) => [p.name, i]));
  const uses: DenseUse[] = [];
  const seen = new Set<number>();
  const graph = params[0].graph;
  for (const n of nodes) {
    const used = n.inputs.map((x) => index.get(x));
    if (used.every((u) => u === undefined)) continue;
    const name = params[used.find((u) => u !== undefined)!].name;
    if (n.op !== 'Gemm')
      throw new GraphError(
        `DP-SGD: parameter '${name}' is used by ${n.op}; per-example clipping covers dense layers (Gemm) only`,
      );
    if (used[0] !== undefined || (n.attrs.transB?.type === 'int' ? n.attrs.transB.value : 0) !== 1)
      throw new GraphError(
        `DP-SGD: parameter '${name}' is not the weight of a dense layer (Gemm with transB)`,
      );
    const x = graph.value(n.inputs[0]);
    if (x.rank !== 2 || x.shape![0] !== batch)
      throw new GraphError(
        `DP-SGD: the dense layer using '${name}' sees ${x}, not one row per example (sequence models are not covered)`,
      );
    for (const u of [used[1], used[2]])
      if (u !== undefined) {
        if (seen.has(u))
          throw new GraphError(`DP-SGD: parameter '${params[u].name}' is shared by two layers`);
        seen.add(u);
      }
    uses.push({ x, y: graph.value(n.outputs[0]), weight: used[1], bias: used[2] });
  }
  return uses;
}

export function compileDpSgdGraph(
  spec: ModelSpec,
  o: { optimizer: OptimizerConfig; classWeights?: readonly number[] },
): DpSgdGraph {
  const built = buildModel(spec, { mode: 'train' });
  const g = built.graph;
  const logits = built.output;
  if (logits.rank !== 2)
    throw new GraphError(`DP-SGD: needs a classifier with logits [batch, classes], got ${logits}`);
  const labels = g.input('labels', 'int32', [logits.shape![0]]);
  const y64 = op.cast(labels, 'int64');
  const classes = logits.shape![1] as number;
  const weights = o.classWeights
    ? op.constant(g, op.tensorOf('float32', [...o.classWeights], [classes]), 'class_weights')
    : null;
  const [perExample] = op.softmaxCrossEntropyLoss(logits, y64, weights, 'none');

  const layers = denseLayers(g.nodes, built.parameters, built.input.shape![0]);
  const covered = new Set(layers.flatMap((l) => [l.weight, l.bias]).filter((u) => u !== undefined));
  built.parameters.forEach((p, i) => {
    if (!covered.has(i)) throw new GraphError(`DP-SGD: parameter '${p.name}' is not used by a dense layer`);
  });

  // Pass 1: dYᵢ = ∂Lᵢ/∂Yᵢ for every layer (each example's loss depends only on its own row).
  const ones = op.constantOfShape(op.shapeOf(perExample), 1, 'float32', perExample.shape);
  const dYs = gradients(
    perExample,
    layers.map((l) => l.y),
    { seed: ones, scope: 'dpsgd/norms/' },
  );
  let squared: Value | undefined;
  layers.forEach((l, k) => {
    const dy2 = op.reduceSumSquare(dYs[k], [1], false);
    const factor =
      l.weight === undefined
        ? op.scalar(g, 1)
        : op.add(op.reduceSumSquare(l.x, [1], false), op.scalar(g, l.bias === undefined ? 0 : 1));
    const term = op.mul(dy2, factor);
    squared = squared ? op.add(squared, term) : term;
  });
  const norms = op.sqrt(squared!);
  const clipNorm = g.input('dp_clip_norm', 'float32', []);
  const denominator = g.input('dp_denominator', 'float32', []);
  // cᵢ = min(1, C/‖gᵢ‖); the tiny floor keeps an all-zero gradient finite (its factor is then 1).
  const factors = op.min2(op.scalar(g, 1), op.div(clipNorm, op.max2(norms, op.scalar(g, 1e-12))));
  const clipped = op.reduceSum(op.cast(op.greater(norms, clipNorm), 'float32'), [], false);

  // Pass 2: Σᵢ cᵢ·∇Lᵢ, then (+ noise) / denominator.
  const summed = gradients(perExample, built.parameters, { seed: factors, scope: 'dpsgd/grad/' });
  const noise = built.parameters.map((p) => g.input(`${p.name}.dp_noise`, 'float32', p.shape!));
  const privateGrads = summed.map((s, i) => op.div(op.add(s, noise[i]), denominator));

  const names: DpSgdGraph['names'] = {
    input: built.input.name,
    labels: labels.name,
    clipNorm: clipNorm.name,
    denominator: denominator.name,
    params: built.parameters.map((p) => p.name),
    noise: noise.map((n) => n.name),
    paramsOut: [],
    states: [],
    statesOut: [],
    hyper: [],
    loss: g.output(op.reduceMean(perExample, [], false), 'loss').name,
    correct: '',
    clipped: g.output(clipped, 'dp_clipped').name,
    norms: g.output(norms, 'dp_norms').name,
  };
  names.correct = g.output(correctCount(logits, y64), 'correct').name;
  appendOptimizer(o.optimizer, built.parameters, privateGrads, names);
  return {
    bytes: encodeModel(g, { docString: `edgefl DP-SGD step (${o.optimizer.kind})` }),
    layout: built.layout,
    names,
  };
}

/**
 * The gradient-matching objective of optimization-based gradient inversion, as one ONNX graph that
 * also outputs its own gradient with respect to the dummy input — double differentiation of the
 * training graph.
 *
 * The graph holds the model's forward pass and loss on a dummy batch x with labels y, the parameter
 * gradient g(x) = dL/dW (the first reverse pass, exactly what a client computes), and a distance
 * between g(x) and the observed gradient G (a graph input):
 *
 *   cosine (Geiping et al. 2020): 1 - <g, G> / (|g| |G|), over all parameters as one vector;
 *   l2 (Zhu et al. 2019, "Deep Leakage from Gradients"): sum_l |g_l - G_l|^2;
 *
 * plus tv * TV(x), the anisotropic total variation mean|x[h+1] - x[h]| + mean|x[w+1] - x[w]| of
 * images [batch, channels, height, width] (Geiping's image prior). The second reverse pass then
 * differentiates that objective w.r.t. x through the first one. Which operators' rules can be
 * differentiated twice is checked in test/second-order.test.ts (Gemm, Relu, Tanh, Sigmoid, Conv,
 * tiled MaxPool, SoftmaxCrossEntropyLoss among them).
 */
import { GraphError, type Value } from '../../onnx/graph.js';
import * as op from '../../onnx/ops.js';
import { encodeModel } from '../../onnx/proto.js';
import { gradients } from '../../autodiff/gradients.js';
import { buildLoss } from '../../autodiff/losses.js';
import { buildModel } from '../../model/build.js';
import type { ModelSpec } from '../../model/layers.js';
import type { ParameterEntry } from '../../tensor/parameters.js';

export type MatchDistance = 'cosine' | 'l2';

export interface InversionGraph {
  bytes: Uint8Array;
  layout: ParameterEntry[];
  names: {
    /** The dummy batch [batch, ...inputShape]. */
    input: string;
    /** Its labels, int32 [batch]. */
    labels: string;
    /** Model parameters, layout order. */
    params: string[];
    /** The observed gradient, one input per parameter tensor, layout order. */
    targets: string[];
    /** Weight of the total-variation prior, a float scalar. */
    tvWeight: string;
    /** Outputs: the whole objective, its gradient-matching part alone, and d objective / d input. */
    objective: string;
    distance: string;
    inputGradient: string;
  };
  /** Whether the TV prior applies (the input is an image [channels, height, width]). */
  hasImagePrior: boolean;
}

/**
 * Anisotropic total variation of [batch, channels, height, width]. The neighbour differences are
 * depthwise convolutions with the kernels [-1, 1] (vertical and horizontal) rather than slices: a
 * convolution's input gradient only needs static spatial sizes, so the graph keeps a free batch axis.
 */
function totalVariation(x: Value): Value {
  const g = x.graph;
  const channels = x.shape![1] as number;
  const kernel = (dims: number[]) =>
    op.constant(
      g,
      op.tensorOf('float32', Array.from({ length: channels }, () => [-1, 1]).flat(), [channels, 1, ...dims]),
      'tv_kernel',
    );
  const dh = op.conv(x, kernel([2, 1]), null, { group: channels });
  const dw = op.conv(x, kernel([1, 2]), null, { group: channels });
  return op.add(op.reduceMean(op.abs(dh), [], false), op.reduceMean(op.abs(dw), [], false));
}

export function buildInversionGraph(spec: ModelSpec, o: { distance?: MatchDistance } = {}): InversionGraph {
  const distanceKind = o.distance ?? 'cosine';
  if ((spec.inputType ?? 'float32') !== 'float32')
    throw new GraphError('gradient inversion needs a float input to optimize (this model takes token ids)');
  const built = buildModel(spec, { mode: 'train' });
  const g = built.graph;
  const labels = g.input('labels', 'int32', ['batch']);
  const { loss } = buildLoss('softmaxCrossEntropy', built.output, labels);
  const grads = gradients(loss, built.parameters);
  const targets = built.parameters.map((p) => g.input(`${p.name}.observed`, 'float32', p.shape!));

  let distance: Value;
  if (distanceKind === 'cosine') {
    const dot = op.sum(grads.map((d, i) => op.reduceSum(op.mul(d, targets[i]), [], false)));
    const gg = op.sum(grads.map((d) => op.reduceSum(op.mul(d, d), [], false)));
    const tt = op.sum(targets.map((t) => op.reduceSum(op.mul(t, t), [], false)));
    // The tiny floor keeps the square root's derivative finite if g(x) is ever exactly zero.
    const norms = op.mul(op.sqrt(op.add(gg, op.scalar(g, 1e-20))), op.sqrt(op.add(tt, op.scalar(g, 1e-20))));
    distance = op.sub(op.scalar(g, 1), op.div(dot, norms));
  } else if (distanceKind === 'l2') {
    distance = op.sum(
      grads.map((d, i) => {
        const e = op.sub(d, targets[i]);
        return op.reduceSum(op.mul(e, e), [], false);
      }),
    );
  } else throw new GraphError(`unknown gradient distance '${distanceKind as string}' (use cosine or l2)`);

  const tvWeight = g.input('tv_weight', 'float32', []);
  const hasImagePrior = spec.inputShape.length === 3 && spec.inputShape[1] > 1 && spec.inputShape[2] > 1;
  const objective = hasImagePrior
    ? op.add(distance, op.mul(tvWeight, totalVariation(built.input)))
    : distance;
  const [dx] = gradients(objective, [built.input], { scope: 'inversion/' });

  const objectiveOut = g.output(hasImagePrior ? objective : op.identity(objective), 'objective');
  const distanceOut = g.output(op.identity(distance), 'distance');
  const dxOut = g.output(dx, 'input.grad');
  return {
    bytes: encodeModel(g, { docString: `edgefl gradient inversion (${distanceKind} gradient matching)` }),
    layout: built.layout,
    names: {
      input: built.input.name,
      labels: labels.name,
      params: built.parameters.map((p) => p.name),
      targets: targets.map((t) => t.name),
      tvWeight: tvWeight.name,
      objective: objectiveOut.name,
      distance: distanceOut.name,
      inputGradient: dxOut.name,
    },
    hasImagePrior,
  };
}

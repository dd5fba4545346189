/**
 * Compiles a model into its training step: forward pass, loss, reverse-mode gradients and the
 * optimizer update, as one ONNX graph of standard operators. Inputs are the batch, the current
 * parameters and optimizer state and the hyper-parameters; outputs are the loss, the number of
 * correct predictions, and the updated parameters and state (or the raw gradients).
 */
import { GraphError, type Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { encodeModel } from '../onnx/proto.js';
import { buildModel } from '../model/build.js';
import type { ModelSpec } from '../model/layers.js';
import type { ParameterEntry } from '../tensor/parameters.js';
import { gradients } from './gradients.js';
import { buildLoss, labelSpec, type LossName, type LossOptions } from './losses.js';
import { applyUpdate, hyperParameterNames, stateSlots, type OptimizerConfig } from './optimizers.js';

export interface TrainingGraphOptions extends LossOptions {
  loss: LossName;
  /** With an optimizer, the graph outputs updated parameters; without, it outputs gradients. */
  optimizer?: OptimizerConfig;
  /** Adds the FedProx term mu/2 ||w - w_ref||^2 (w_ref and mu become inputs). */
  proximal?: boolean;
  /** Also output the gradient w.r.t. the input batch (for inversion attacks and saliency). */
  inputGradient?: boolean;
  /** Build in training mode (dropout on); default true. */
  training?: boolean;
}

export interface CompiledGraph {
  bytes: Uint8Array;
  layout: ParameterEntry[];
  names: {
    input: string;
    labels: string;
    loss: string;
    correct?: string;
    params: string[];
    /** Updated parameters (with an optimizer) or gradients (without). */
    paramsOut: string[];
    /** states[slot][param] */
    states: string[][];
    statesOut: string[][];
    hyper: string[];
    proxRef: string[];
    proxMu?: string;
    inputGradient?: string;
  };
  labelType: 'int32' | 'float32';
  labelShape: (number | string)[];
  /** The model output's shape, batch first (e.g. ['batch', 10]). */
  outputShape: (number | string)[];
  predictionsPerSample: number;
}

export function compileTrainingGraph(spec: ModelSpec, o: TrainingGraphOptions): CompiledGraph {
  const built = buildModel(spec, { mode: o.training === false ? 'infer' : 'train' });
  const g = built.graph;
  const lab = labelSpec(o.loss, built.output);
  const labels = g.input('labels', lab.dtype, lab.shape);
  const lossGraph = buildLoss(o.loss, built.output, labels, o);

  const wrt = o.inputGradient ? [...built.parameters, built.input] : built.parameters;
  if (o.inputGradient && built.input.dtype !== 'float32')
    throw new GraphError('inputGradient: the model input is not floating-point');
  const grads = gradients(lossGraph.loss, wrt);
  const paramGrads = grads.slice(0, built.parameters.length);

  const names: CompiledGraph['names'] = {
    input: built.input.name,
    labels: labels.name,
    loss: 'loss',
    params: built.parameters.map((p) => p.name),
    paramsOut: [],
    states: [],
    statesOut: [],
    hyper: [],
    proxRef: [],
  };
  g.output(lossGraph.loss, 'loss');
  if (lossGraph.correct) names.correct = g.output(lossGraph.correct, 'correct').name;

  let proxMu: Value | undefined;
  if (o.proximal) {
    proxMu = g.input('prox_mu', 'float32', []);
    names.proxMu = proxMu.name;
  }
  const effective = paramGrads.map((d, i) => {
    if (!proxMu) return d;
    const p = built.parameters[i];
    const ref = g.input(`${p.name}.prox_ref`, 'float32', p.shape!);
    names.proxRef.push(ref.name);
    // d/dw [mu/2 ||w - w_ref||^2] = mu (w - w_ref)
    return op.add(d, op.mul(op.sub(p, ref), proxMu));
  });

  if (o.optimizer) {
    appendOptimizer(o.optimizer, built.parameters, effective, names);
  } else {
    effective.forEach((d, i) => names.paramsOut.push(g.output(d, `${built.parameters[i].name}.grad`).name));
  }
  if (o.inputGradient) names.inputGradient = g.output(grads[grads.length - 1], 'input.grad').name;

  return {
    bytes: encodeModel(g, {
      docString: `edgefl training step (${o.loss}${o.optimizer ? `, ${o.optimizer.kind}` : ', gradients'})`,
    }),
    layout: built.layout,
    names,
    labelType: lab.dtype,
    labelShape: lab.shape,
    outputShape: [...built.output.shape!],
    predictionsPerSample: lossGraph.predictionsPerSample,
  };
}

/** The evaluation graph: inference-mode forward pass, loss and correct count, parameters as inputs. */
export function compileEvaluationGraph(spec: ModelSpec, o: { loss: LossName } & LossOptions): CompiledGraph {
  const built = buildModel(spec, { mode: 'infer' });
  const g = built.graph;
  const lab = labelSpec(o.loss, built.output);
  const labels = g.input('labels', lab.dtype, lab.shape);
  const lossGraph = buildLoss(o.loss, built.output, labels, o);
  g.output(lossGraph.loss, 'loss');
  const correct = lossGraph.correct ? g.output(lossGraph.correct, 'correct').name : undefined;
  g.output(built.output, 'output');
  return {
    bytes: encodeModel(g, { docString: 'edgefl evaluation' }),
    layout: built.layout,
    names: {
      input: built.input.name,
      labels: labels.name,
      loss: 'loss',
      correct,
      params: built.parameters.map((p) => p.name),
      paramsOut: [],
      states: [],
      statesOut: [],
      hyper: [],
      proxRef: [],
    },
    labelType: lab.dtype,
    labelShape: lab.shape,
    outputShape: [...built.output.shape!],
    predictionsPerSample: lossGraph.predictionsPerSample,
  };
}

/**
 * Appends the optimizer update of every parameter to its graph: hyper-parameter and state inputs,
 * updated parameters and states as outputs (named `<param>.new`, `<param>.<slot>.new`), recorded in
 * `names`. Shared by every compiled training step.
 */
export function appendOptimizer(
  optimizer: OptimizerConfig,
  parameters: readonly Value[],
  gradients: readonly Value[],
  names: { hyper: string[]; states: string[][]; statesOut: string[][]; paramsOut: string[] },
): void {
  const g = parameters[0].graph;
  const slots = stateSlots(optimizer);
  const hyper: Record<string, Value> = {};
  for (const h of hyperParameterNames(optimizer)) {
    hyper[h] = g.input(h, 'float32', []);
    names.hyper.push(h);
  }
  const stateInputs = slots.map((s) => parameters.map((p) => g.input(`${p.name}.${s}`, 'float32', p.shape!)));
  names.states = stateInputs.map((row) => row.map((v) => v.name));
  const newStates: Value[][] = slots.map(() => []);
  parameters.forEach((p, i) => {
    const u = applyUpdate(
      optimizer,
      p,
      gradients[i],
      stateInputs.map((row) => row[i]),
      hyper,
    );
    names.paramsOut.push(g.output(u.w, `${p.name}.new`).name);
    u.states.forEach((s, k) => newStates[k].push(s));
  });
  names.statesOut = newStates.map((row, k) =>
    row.map((v, i) => g.output(v, `${parameters[i].name}.${slots[k]}.new`).name),
  );
}

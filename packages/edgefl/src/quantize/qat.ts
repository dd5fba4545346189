/**
 * Quantization-aware fine-tuning: when post-training int8 costs too much accuracy, train the model
 * a little more with the int8 model's rounding in its forward pass, then quantize it.
 *
 * The plan (prepareQuantizationAwareTraining) calibrates the float model once and wraps each layer
 * static int8 will quantize in a fakeQuantize layer that does exactly what quantizeStaticInt8 will
 * do to it: its input quantized over the calibrated range, its weights per channel or per tensor,
 * its bias on the int32 grid, and a Conv's output where static int8 quantizes it. That spec is an
 * ordinary ModelSpec, with the float model's parameter names: it trains on the Trainer, and it is
 * what travels to the clients of a federated run, so every client fine-tunes with fake
 * quantization without anything else changing. quantizeTrained then exports the float model with
 * the trained parameters and quantizes it with the same calibration, so the int8 model means what
 * the fake-quantized model meant (up to float summation order).
 *
 * Activation ranges are fixed by the calibration; the weight scales follow the weights as they train.
 */
import { describeNode } from '../onnx/edit/errors.js';
import { importModel } from '../onnx/edit/io.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import { exportInferenceModel, type ExportOptions } from '../model/export.js';
import type { LayerSpec, ModelSpec, QuantizationRange } from '../model/layers.js';
import type { LossName } from '../autodiff/losses.js';
import { adam, type OptimizerConfig } from '../autodiff/optimizers.js';
import type { Dataset } from '../data/dataset.js';
import type { OrtRuntime } from '../runtime/ort.js';
import { Trainer, type BatchSource, type FitProgress, type FitResult } from '../runtime/trainer.js';
import type { ParameterSet } from '../tensor/parameters.js';
import { readEdgeflModel } from '../model/edgefl-onnx.js';
import { activationGroups } from './activation-groups.js';
import { calibrate, type Calibration, type CalibrationMethod } from './calibrate.js';
import type { CalibrationBatches } from './calibration-batches.js';
import { QuantizationError } from './errors.js';
import type { QuantizedModel } from './report.js';
import { quantizeStaticInt8 } from './static-int8.js';
import { findTargets } from './targets.js';

/** A model edgefl can train: its definition and its parameters. */
export interface TrainableModel {
  readonly spec: ModelSpec;
  readonly parameters: ParameterSet;
}

export interface QuantizationAwareOptions {
  /** ONNX Runtime for calibration (and training). */
  readonly runtime: OrtRuntime;
  /** Representative input batches for the activation ranges. */
  readonly calibration: CalibrationBatches;
  /** Default: minmax. */
  readonly method?: CalibrationMethod;
  /** Weight scales per output channel (default true, as quantizeStaticInt8). */
  readonly perChannel?: boolean;
  /** Nodes of the float export (by name) to leave float, as quantizeStaticInt8's keepFloat. */
  readonly keepFloat?: Iterable<string>;
  /**
   * How the float model is exported for calibration and quantization (labels, normalization...);
   * default: as the given .onnx was (its metadata and outputs), or plainly for a spec.
   */
  readonly exportOptions?: ExportOptions;
}

/** One layer fake quantization wraps, and what static int8 will do to its node. */
export interface FakeQuantizedLayer {
  /** The layer's path in the spec ('1', or '3.0' inside a residual). */
  readonly path: string;
  /** Its node in the float export. */
  readonly node: string;
  readonly input: QuantizationRange;
  readonly output?: QuantizationRange;
}

export interface QuantizationAwarePlan {
  /** The float model's definition: what is exported and quantized in the end. */
  readonly floatSpec: ModelSpec;
  /** The same model with fake quantization: what trains (and what travels in a federated run). */
  readonly spec: ModelSpec;
  /** The float model's parameters, which both specs take (same names, same layout). */
  readonly parameters: ParameterSet;
  /** The activation ranges, fixed for training and for the final quantization. */
  readonly calibration: Calibration;
  readonly perChannel: boolean;
  readonly keepFloat: readonly string[];
  readonly layers: readonly FakeQuantizedLayer[];
  readonly exportOptions: ExportOptions;
}

/** The float model as an .onnx, exported the same way every time (so its tensor names match the calibration's). */
function floatExport(
  plan: Pick<QuantizationAwarePlan, 'floatSpec' | 'exportOptions'>,
  p: ParameterSet,
): OnnxModel {
  return importModel(exportInferenceModel(plan.floatSpec, p, plan.exportOptions), 'the float model');
}

/**
 * Calibrates the float model and wraps each layer static int8 will quantize in fake quantization
 * matching it (see the module comment). The model is an .onnx edgefl exported (its ModelSpec in
 * metadata, its parameters as initializers) or a spec with parameters.
 */
export async function prepareQuantizationAwareTraining(
  model: TrainableModel | OnnxModel,
  o: QuantizationAwareOptions,
): Promise<QuantizationAwarePlan> {
  const read = 'spec' in model ? undefined : readEdgeflModel(model);
  const { spec: floatSpec, parameters } = read ?? (model as TrainableModel);
  if (containsFakeQuantization(floatSpec.layers))
    throw new QuantizationError(
      `model '${floatSpec.name ?? 'model'}' already has fakeQuantize layers: prepare the float model (QuantizationAwarePlan.floatSpec)`,
    );
  const perChannel = o.perChannel ?? true;
  const keepFloat = [...(o.keepFloat ?? [])];
  const exportOptions =
    o.exportOptions ?? (read ? { metadata: read.metadata, probabilities: read.probabilities } : {});
  const float = floatExport({ floatSpec, exportOptions }, parameters);
  const calibration = await calibrate(float, o.runtime, o.calibration, { method: o.method });

  // What quantizeStaticInt8 will find: the same targets and activation groups.
  const targets = findTargets(float, new Set(keepFloat)).nodes;
  const groups = activationGroups(float, targets);
  const rangeOf = (tensor: string): QuantizationRange => {
    const group = groups.find((g) => g.tensors.includes(tensor))!;
    const r = calibration.ranges.get(group.calibrated);
    if (!r) throw new QuantizationError(`no calibrated range for tensor '${group.calibrated}'`);
    return { low: r.low, high: r.high };
  };
  const wrapped = new Map<string, FakeQuantizedLayer>();
  for (const t of targets) {
    const path = layerPathOf(t.weight);
    const layer = path === undefined ? undefined : layerAt(floatSpec.layers, path);
    if (path === undefined || !layer || (layer.type !== 'dense' && layer.type !== 'conv2d'))
      throw new QuantizationError(
        `${describeNode(t.node)} (weight '${t.weight}') would be quantized by static int8, but fake quantization wraps only dense and conv2d layers: ` +
          `leave it float (keepFloat: ['${t.node.name}'])`,
      );
    // A Conv output static int8 quantizes on its own (no later group covers it): quantize it here too.
    const out = t.node.outputs[0];
    const ownGroup = groups.find(
      (g) => g.calibrated === out && g.tensors.length === 1 && g.tensors[0] === out,
    );
    wrapped.set(path, {
      path,
      node: t.node.name,
      input: rangeOf(t.activation),
      ...(t.kind === 'Conv' && ownGroup ? { output: rangeOf(out) } : {}),
    });
  }
  // Static int8 replaces every use of a quantized tensor. Inside a model every tensor has one reader
  // except a residual block's input, which its skip connection reads too: a target that is the
  // first layer of residual blocks has its input quantized around the outermost of them as well.
  const blockInputs = new Map<string, QuantizationRange>();
  for (const w of wrapped.values()) {
    let host: string | undefined;
    for (let p = w.path; p.endsWith('.0');) {
      p = p.slice(0, -2);
      host = p;
    }
    if (host !== undefined) blockInputs.set(host, w.input);
  }
  const weights = perChannel ? 'perChannel' : 'perTensor';
  const wrap = (layers: readonly LayerSpec[], prefix: string): LayerSpec[] =>
    layers.map((l, i): LayerSpec => {
      const path = `${prefix}${i}`;
      if (l.type === 'residual') {
        const block: LayerSpec = { ...l, layers: wrap(l.layers, `${path}.`) };
        const input = blockInputs.get(path);
        return input ? { type: 'fakeQuantize', layer: block, input } : block;
      }
      const w = wrapped.get(path);
      return w
        ? {
            type: 'fakeQuantize',
            layer: l,
            input: w.input,
            weights,
            ...(w.output ? { output: w.output } : {}),
          }
        : l;
    });
  const spec: ModelSpec = { ...floatSpec, layers: wrap(floatSpec.layers, '') };
  return {
    floatSpec,
    spec,
    parameters,
    calibration,
    perChannel,
    keepFloat,
    layers: [...wrapped.values()],
    exportOptions,
  };
}

/**
 * The trained parameters (of either spec: they are the same) as the static int8 model: the float
 * model exported with them, quantized with the plan's calibration and settings.
 */
export function quantizeTrained(
  plan: QuantizationAwarePlan,
  parameters: ParameterSet | Float32Array,
): QuantizedModel<OnnxModel> {
  const p = parameters instanceof Float32Array ? plan.parameters.withValues(parameters) : parameters;
  plan.parameters.assertSameLayout(p, 'quantizeTrained parameters');
  return quantizeStaticInt8(floatExport(plan, p), plan.calibration, {
    perChannel: plan.perChannel,
    keepFloat: plan.keepFloat,
  });
}

export interface QuantizationAwareFineTuneOptions extends QuantizationAwareOptions {
  /** The training data (a Dataset, or ready-made batches). */
  readonly data: Dataset | BatchSource;
  readonly steps: number;
  readonly batchSize?: number;
  /**
   * Default: Adam with lr 1e-3. Weights int8 rounds to zero count again only once they grow past
   * half a step, which a larger rate early speeds up (bench/qat.ts decays it in phases).
   */
  readonly optimizer?: OptimizerConfig;
  /** Default: softmaxCrossEntropy. */
  readonly loss?: LossName;
  readonly seed?: number;
  readonly onProgress?: (p: FitProgress) => void;
}

export interface QuantizationAwareFineTuneResult {
  readonly plan: QuantizationAwarePlan;
  /** The fine-tuned parameters (of the float model and of the fake-quantized one alike). */
  readonly parameters: ParameterSet;
  /** The int8 model of the fine-tuned parameters. */
  readonly quantized: QuantizedModel<OnnxModel>;
  readonly fit: FitResult;
}

/** Central quantization-aware fine-tuning: prepare, train the fake-quantized model, quantize. */
export async function quantizationAwareFineTune(
  model: TrainableModel | OnnxModel,
  o: QuantizationAwareFineTuneOptions,
): Promise<QuantizationAwareFineTuneResult> {
  if (!Number.isInteger(o.steps) || o.steps < 1)
    throw new QuantizationError(
      `quantization-aware fine-tuning: steps must be a positive integer, got ${o.steps}`,
    );
  const plan = await prepareQuantizationAwareTraining(model, o);
  const trainer = await Trainer.create(plan.spec, {
    loss: o.loss ?? 'softmaxCrossEntropy',
    optimizer: o.optimizer ?? adam({ lr: 1e-3 }),
    parameters: plan.parameters,
    runtime: o.runtime,
  });
  try {
    const fit = await trainer.fit(o.data, {
      batchSize: o.batchSize,
      steps: o.steps,
      seed: o.seed,
      onProgress: o.onProgress,
    });
    const parameters = trainer.getParameters();
    return { plan, parameters, quantized: quantizeTrained(plan, parameters), fit };
  } finally {
    await trainer.dispose();
  }
}

/** The path of the layer a parameter belongs to, from its name (`dense_1.weight` -> '1'). */
function layerPathOf(weight: string): string | undefined {
  return /^(?:dense|conv2d)_(\d+(?:\.\d+)*)\.weight$/.exec(weight)?.[1];
}

function layerAt(layers: readonly LayerSpec[], path: string): LayerSpec | undefined {
  const [head, ...rest] = path.split('.').map(Number);
  const layer = layers[head];
  if (!layer || rest.length === 0) return layer;
  return layer.type === 'residual' ? layerAt(layer.layers, rest.join('.')) : undefined;
}

function containsFakeQuantization(layers: readonly LayerSpec[]): boolean {
  return layers.some(
    (l) => l.type === 'fakeQuantize' || (l.type === 'residual' && containsFakeQuantization(l.layers)),
  );
}

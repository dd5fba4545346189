/**
 * An .onnx that edgefl exported, read back into what trains: its ModelSpec (the JSON in metadata
 * 'edgefl.model') and its parameters (the initializers named after them), and written again with
 * the metadata and outputs it had. Other models cannot be rebuilt into a training graph: they are
 * refused, saying why.
 */
import type { OnnxModel } from '../onnx/edit/model.js';
import { initialParameters } from './build.js';
import { exportInferenceModel, EXPORT_PROBABILITIES } from './export.js';
import type { LayerSpec, ModelSpec } from './layers.js';
import { ParameterSet } from '../tensor/parameters.js';

export const SPEC_METADATA = 'edgefl.model';

/** A model that cannot be read back into what trains, with why. */
export class EdgeflModelError extends Error {
  override name = 'EdgeflModelError';
}

export interface EdgeflModel {
  spec: ModelSpec;
  parameters: ParameterSet;
  /** Metadata besides the model definition (labels, normalization...), to write back. */
  metadata: Record<string, string>;
  /** Whether the export has the softmax output too. */
  probabilities: boolean;
}

/** The ModelSpec an edgefl export carries, or an error saying the model is not one. */
export function edgeflSpecOf(model: OnnxModel): ModelSpec {
  const json = model.metadata(SPEC_METADATA);
  if (json === undefined)
    throw new EdgeflModelError(
      `${model.source} has no '${SPEC_METADATA}' metadata: it was not exported by edgefl, so its layers cannot be rebuilt into a training graph (fine-tuning needs an edgefl model)`,
    );
  try {
    return JSON.parse(json) as ModelSpec;
  } catch (e) {
    throw new EdgeflModelError(
      `${model.source}: metadata '${SPEC_METADATA}' is not JSON (${(e as Error).message})`,
    );
  }
}

/** Reads an edgefl export's spec and parameters (each parameter from the initializer of its name). */
export function readEdgeflModel(model: OnnxModel): EdgeflModel {
  const spec = edgeflSpecOf(model);
  const parameters = initialParameters(spec);
  for (const e of parameters.entries) {
    const t = model.initializer(e.name);
    if (!t)
      throw new EdgeflModelError(
        `${model.source}: no initializer '${e.name}' for the model's parameter of that name`,
      );
    if (t.dtype !== 'float32' || t.dims.join() !== e.shape.join())
      throw new EdgeflModelError(
        `${model.source}: initializer '${e.name}' is ${t.dtype} [${t.dims}], the model definition expects float32 [${e.shape}]`,
      );
    parameters.values.set(t.data as Float32Array, e.offset);
  }
  const metadata = Object.fromEntries(model.metadataEntries().filter(([k]) => k !== SPEC_METADATA));
  const probabilities = model.outputs.some((o) => o.name === EXPORT_PROBABILITIES);
  return { spec, parameters, metadata, probabilities };
}

/** The model as an inference .onnx again, with the metadata and outputs it was read with. */
export function writeEdgeflModel(m: EdgeflModel, parameters: ParameterSet = m.parameters): Uint8Array {
  return exportInferenceModel(m.spec, parameters, { metadata: m.metadata, probabilities: m.probabilities });
}

/**
 * After units were removed from the graph: the spec with each dense layer's units and each
 * convolution's filters read from its weight initializer (input sizes follow from the layers
 * before, so nothing else changes). Written into the metadata, so the pruned file is still an edgefl
 * model that fine-tunes and federates. Models without the metadata are left alone.
 */
export function refreshEdgeflSpec(model: OnnxModel): ModelSpec | undefined {
  if (model.metadata(SPEC_METADATA) === undefined) return undefined;
  const spec = edgeflSpecOf(model);
  const resized = (layers: readonly LayerSpec[], prefix: string): LayerSpec[] =>
    layers.map((l, i) => {
      const path = `${prefix}${i}`;
      if (l.type === 'residual') return { ...l, layers: resized(l.layers, `${path}.`) };
      if (l.type !== 'dense' && l.type !== 'conv2d') return l;
      const dims = model.initializerProto(`${l.type}_${path}.weight`)?.dims;
      if (!dims) return l;
      const units = Number(dims[0]);
      return l.type === 'dense' ? { ...l, units } : { ...l, filters: units };
    });
  const next: ModelSpec = { ...spec, layers: resized(spec.layers, '') };
  model.setMetadata(SPEC_METADATA, JSON.stringify(next));
  return next;
}

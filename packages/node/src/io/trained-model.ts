/**
 * A trained model on disk (a run folder): the model definition, its parameters in edgefl's binary
 * format, what is needed to deploy it (labels, input normalization) and the metrics of the run.
 *
 *   model.json       { spec, loss, labels?, normalization?, metrics? }
 *   parameters.eflp  ParameterSet (src/tensor/wire.ts)
 *   model.onnx       the exported inference model (written by `train`, for convenience)
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ModelSpec,
  validateSpec,
  initialParameters,
  type Normalization,
  type LossName,
  decodeParameters,
  encodeParameters,
  type ParameterSet,
} from 'edgefl';
import { readBytes, writeFileAtomic } from './files.js';

export interface TrainedModelInfo {
  spec: ModelSpec;
  loss: LossName;
  labels?: readonly string[];
  normalization?: Normalization;
  metrics?: Record<string, unknown>;
}

export async function saveTrainedModel(
  dir: string,
  info: TrainedModelInfo,
  params: ParameterSet,
): Promise<void> {
  params.assertFinite(`${dir}: refusing to save a model that cannot be right`);
  await writeFileAtomic(join(dir, 'parameters.eflp'), encodeParameters(params));
  await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(info, null, 2) + '\n');
}

export async function loadTrainedModel(
  dir: string,
): Promise<{ info: TrainedModelInfo; params: ParameterSet }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(
      `'${dir}' is not a run folder (expected a directory with model.json and parameters.eflp)`,
    );
  const specPath = join(dir, 'model.json');
  if (!existsSync(specPath)) throw new Error(`'${dir}' has no model.json: not an edgefl run folder`);
  let info: TrainedModelInfo;
  try {
    info = JSON.parse(new TextDecoder().decode(await readBytes(specPath)));
  } catch (e) {
    throw new Error(`${specPath} is not valid JSON: ${(e as Error).message}`);
  }
  validateSpec(info.spec);
  const params = decodeParameters(
    await readBytes(join(dir, 'parameters.eflp')),
    join(dir, 'parameters.eflp'),
  );
  initialParameters(info.spec).assertSameLayout(params, `${dir}/parameters.eflp`);
  return { info, params };
}

/** Loads a model definition from a .json file (a ModelSpec, or a run folder's model.json). */
export async function loadModelSpecFile(path: string): Promise<ModelSpec> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await readBytes(path)));
  } catch (e) {
    throw new Error(`model file ${path}: ${(e as Error).message}`);
  }
  const spec = (parsed as { spec?: ModelSpec }).spec ?? (parsed as ModelSpec);
  validateSpec(spec);
  return spec;
}

/**
 * The float model a benchmark optimizes: trained once and kept in bench/results (git-ignored), so
 * that later runs compare against the same model; trained again with `--retrain`, and for a few
 * steps, never kept, in a dry run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Trainer, exportInferenceModel, type FitOptions, type ModelSpec, type TrainerOptions } from 'edgefl';

export interface TrainedModelOptions {
  /** Where the model is kept. */
  cache: string;
  retrain: boolean;
  dry: boolean;
  /** Steps in a dry run. */
  drySteps: number;
  /** What is being trained, for the progress line ("the CNN"). */
  label: string;
  spec: ModelSpec;
  trainer: TrainerOptions;
  data: Parameters<Trainer['fit']>[0];
  /** The fit: its batch size, epochs (or steps) and seed; progress is printed here. */
  fit: Omit<FitOptions, 'onProgress'>;
}

/** The cached model's bytes, or the model trained now (and cached unless a dry run). */
export async function trainedModel(o: TrainedModelOptions): Promise<Uint8Array> {
  if (existsSync(o.cache) && !o.retrain && !o.dry) return new Uint8Array(readFileSync(o.cache));
  const trainer = await Trainer.create(o.spec, o.trainer);
  const fit: FitOptions = o.dry ? { ...o.fit, epochs: undefined, steps: o.drySteps } : o.fit;
  console.log(
    `training ${o.label} for ${fit.steps !== undefined ? `${fit.steps} steps` : `${fit.epochs ?? 1} epochs`}${o.dry ? ' (dry run)' : ''}`,
  );
  await trainer.fit(o.data, {
    ...fit,
    onProgress: (p) =>
      process.stdout.write(`\r  step ${p.step}/${p.totalSteps}, loss ${p.loss.toFixed(4)}   `),
  });
  process.stdout.write('\n');
  const bytes = exportInferenceModel(o.spec, trainer.getParameters());
  await trainer.dispose();
  if (!o.dry) {
    mkdirSync(dirname(o.cache), { recursive: true });
    writeFileSync(o.cache, bytes);
  }
  return bytes;
}

/**
 * A federated client whose local objective is distillation: when a round's instructions carry a
 * `distillation` section, the client scores its own data with the teacher it holds (its
 * ClientEnvironment's `teacher`; the teacher never travels, the instructions are plain data) and
 * trains the global student on [hard label, teacher logits] rows. The teacher's logits of a client's
 * data are computed once and kept for its later rounds; one compiled step per trainer and setting
 * serves every client trained there.
 */
import type { Dataset } from '../data/dataset.js';
import type { FitConfig } from '../fl/strategy.js';
import type { Trainer } from '../runtime/trainer.js';
import { DistillationTrainer } from './trainer.js';
import { withTeacherLogits, type Teacher } from './teacher.js';

const steps = new WeakMap<Trainer, Map<string, Promise<DistillationTrainer>>>();
const labelled = new WeakMap<Teacher, WeakMap<Dataset, Promise<Dataset>>>();

/** Local training under the distillation loss from `global`: the trained parameters and the fit's metrics. */
export async function trainWithDistillation(
  trainer: Trainer,
  teacher: Teacher | undefined,
  data: Dataset,
  global: Float32Array,
  config: FitConfig,
  seed: number,
): Promise<{ local: Float32Array; metrics: Record<string, number> }> {
  const d = config.distillation;
  if (!d) throw new Error('trainWithDistillation: the instructions have no distillation section');
  if (!teacher) throw new Error('distillation: this client holds no teacher (ClientEnvironment.teacher)');
  if (config.dpSgd)
    throw new Error('distillation and DP-SGD: a round asks for one local objective, not both');
  if (config.proximalMu)
    throw new Error('distillation local training does not support the FedProx proximal term');
  const key = JSON.stringify([d.temperature, d.alpha]);
  const byKey = steps.get(trainer) ?? new Map<string, Promise<DistillationTrainer>>();
  steps.set(trainer, byKey);
  let step = byKey.get(key);
  if (!step) {
    step = DistillationTrainer.create(trainer.model, {
      optimizer: trainer.options.optimizer,
      temperature: d.temperature,
      alpha: d.alpha,
      runtime: trainer.runtime,
      sessionOptions: trainer.options.sessionOptions,
    });
    // A refused setting is not kept: the next round may bring a good one under the same trainer.
    step.catch(() => byKey.delete(key));
    byKey.set(key, step);
  }
  const local = await step;
  if (local.classes !== teacher.classes)
    throw new Error(
      `distillation: the model scores ${local.classes} classes, this client's teacher ${teacher.classes}`,
    );
  local.setParameters(global);
  local.resetOptimizerState();
  const r = await local.fit(await teacherLabelled(teacher, data), {
    batchSize: config.batchSize,
    epochs: config.localSteps === undefined ? (config.localEpochs ?? 1) : undefined,
    steps: config.localSteps,
    lr: config.lr,
    seed,
  });
  return {
    local: local.getParameters().values,
    metrics: {
      loss: r.loss,
      ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}),
      steps: r.steps,
      seconds: r.seconds,
    },
  };
}

/** The client's data with the teacher's logits in its labels, computed on the first round it trains. */
function teacherLabelled(teacher: Teacher, data: Dataset): Promise<Dataset> {
  const byData = labelled.get(teacher) ?? new WeakMap<Dataset, Promise<Dataset>>();
  labelled.set(teacher, byData);
  let ds = byData.get(data);
  if (!ds) {
    ds = teacher.logits(data).then((logits) => withTeacherLogits(data, logits, teacher.classes));
    ds.catch(() => byData.delete(data));
    byData.set(data, ds);
  }
  return ds;
}

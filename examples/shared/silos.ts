/**
 * The cross-silo recipe the hospital, bank and sensor examples share: a few organisations (or devices),
 * each with its own training, validation and test data, and three ways to train one model —
 *
 *   alone      each silo trains on its own data only (what it can do without collaborating);
 *   federated  FedAvg over the silos, with secure aggregation: the server only ever sees the sum of
 *              the silos' updates, never one silo's;
 *   pooled     one model on everyone's training data put together: the upper bound collaboration
 *              aims at, which no silo could legally or commercially build.
 *
 * Alone and pooled train `epochs` passes over their data; the federated rounds are set apart
 * (`rounds` of `local` training), since many short rounds suit silos whose data differ.
 * Copy this file with an example: it is the federated part of the API in one place.
 */
import {
  ArrayDataset,
  FedAvg,
  LocalExecutor,
  ParameterSet,
  RoundEngine,
  Trainer,
  allocateFeatures,
  allocateLabels,
  initialParameters,
  runFederated,
  sgd,
  serverSide,
  withSecureAggregation,
  type Dataset,
  type FeatureArray,
  type LabelArray,
  type LossName,
  type ModelSpec,
  type OptimizerConfig,
  type Platform,
  type RoundRecord,
} from 'edgefl';

export interface Silo {
  name: string;
  train: Dataset;
  /** For choosing an operating threshold (never for training). */
  validation: Dataset;
  test: Dataset;
}

export interface CrossSiloRecipe {
  spec: ModelSpec;
  loss: LossName;
  /** Loss weight of each class, e.g. [1, 20] when the positive class is rare. */
  classWeights?: readonly number[];
  optimizer: OptimizerConfig;
  lr: number;
  batchSize: number;
  /** Passes over the data when a silo trains alone, and when the data are pooled. */
  epochs: number;
  /** Federated rounds, each silo training `local` epochs or steps from the global model. */
  rounds: number;
  local: { epochs: number } | { steps: number };
  /** FedProx's proximal term μ (0 or absent: plain FedAvg local training). */
  proximalMu?: number;
  seed: number;
  /**
   * Secure aggregation's quantization range: each value of a silo's weighted update is cut to
   * [−range, range] before it is masked (default 1; a value outside it is counted in the round's statistics).
   */
  secureAggregationRange?: number;
}

async function trainerFor(recipe: CrossSiloRecipe, platform: Platform): Promise<Trainer> {
  return Trainer.create(recipe.spec, {
    loss: recipe.loss,
    optimizer: recipe.optimizer,
    classWeights: recipe.classWeights,
    runtime: platform.runtime,
  });
}

/** The recipe's model trained on `data` for `recipe.epochs`. */
async function trainOn(recipe: CrossSiloRecipe, data: Dataset, platform: Platform): Promise<ParameterSet> {
  const trainer = await trainerFor(recipe, platform);
  try {
    await trainer.fit(data, {
      epochs: recipe.epochs,
      batchSize: recipe.batchSize,
      lr: recipe.lr,
      seed: recipe.seed,
    });
    return trainer.getParameters();
  } finally {
    await trainer.dispose();
  }
}

/** A silo's model trained on its own data only. */
export function trainAlone(recipe: CrossSiloRecipe, silo: Silo, platform: Platform): Promise<ParameterSet> {
  return trainOn(recipe, silo.train, platform);
}

/** One model on every silo's training data together (the centralized upper bound). */
export function trainPooled(
  recipe: CrossSiloRecipe,
  silos: readonly Silo[],
  platform: Platform,
): Promise<ParameterSet> {
  return trainOn(recipe, concatenate(silos.map((s) => s.train)), platform);
}

export interface FederatedTraining {
  parameters: ParameterSet;
  history: RoundRecord[];
}

/**
 * FedAvg over the silos under secure aggregation, every silo in every round. `onRound` sees each
 * round's record (secure aggregation's statistics included) as it completes.
 */
export async function trainFederated(
  recipe: CrossSiloRecipe,
  silos: readonly Silo[],
  platform: Platform,
  onRound?: (record: RoundRecord) => void,
): Promise<FederatedTraining> {
  const trainer = await trainerFor(recipe, platform);
  try {
    const byName = new Map(silos.map((s) => [s.name, s]));
    // The silos run here one after the other; over a network each would be an `edgefl client`.
    const executor = new LocalExecutor(trainer, (id) => byName.get(id)!.train, recipe.seed, undefined, {
      secaggCrypto: platform.secaggCrypto,
    });
    const initial = initialParameters(recipe.spec);
    const strategy = withSecureAggregation(new FedAvg(), {
      crypto: platform.secaggCrypto,
      range: recipe.secureAggregationRange ?? 1,
    });
    const engine = new RoundEngine({
      strategy,
      clients: silos.map((s) => ({ id: s.name, numExamples: s.train.length })),
      executor: serverSide(executor, { parameters: initial.values.length, seed: recipe.seed }),
      fitConfig: {
        ...('steps' in recipe.local
          ? { localSteps: recipe.local.steps }
          : { localEpochs: recipe.local.epochs }),
        batchSize: recipe.batchSize,
        lr: recipe.lr,
        ...(recipe.proximalMu ? { proximalMu: recipe.proximalMu } : {}),
      },
      fractionFit: 1,
      minResults: silos.length,
      seed: recipe.seed,
      sumBackend: platform.sumBackend,
    });
    const result = await runFederated({
      engine,
      initial: initial.values,
      rounds: recipe.rounds,
      settings: {},
      subscribers: onRound ? [{ round: (record) => onRound(record) }] : [],
    });
    if (result.failure) throw new Error(`the federated training failed: ${result.failure}`);
    const parameters = initialParameters(recipe.spec);
    parameters.values.set(result.global);
    return { parameters, history: result.history };
  } finally {
    await trainer.dispose();
  }
}

/**
 * The input scaling every silo's model shares (a `standardize` layer's constants): the silos pool
 * their training data's per-feature means and variances, weighted by size — two numbers per feature
 * and silo, no record. A constant feature gets std 1.
 */
export function sharedScaling(silos: readonly Silo[]): { mean: number[]; std: number[] } {
  const d = silos[0].train.featureShape.reduce((a, b) => a * b, 1);
  const sum = new Float64Array(d);
  const squares = new Float64Array(d);
  let count = 0;
  for (const s of silos) {
    const { features } = gatherAll(s.train);
    for (let i = 0; i < features.length; i++) {
      sum[i % d] += features[i];
      squares[i % d] += features[i] * features[i];
    }
    count += s.train.length;
  }
  const mean = Array.from(sum, (v) => v / count);
  const std = Array.from(squares, (v, j) => Math.sqrt(Math.max(v / count - mean[j] ** 2, 0)) || 1);
  return { mean, std };
}

/**
 * The model's outputs for every sample of each dataset, in order (a classifier's logits): one
 * trainer (one compiled session) scores them all.
 */
export async function predict(
  spec: ModelSpec,
  parameters: ParameterSet,
  datasets: readonly Dataset[],
  platform: Platform,
): Promise<Float32Array[]> {
  const trainer = await Trainer.create(spec, {
    // Loss and optimizer are never used: the trainer only predicts.
    loss: datasets[0].labelType === 'int32' ? 'softmaxCrossEntropy' : 'meanSquaredError',
    optimizer: sgd({ lr: 0.01 }),
    parameters,
    runtime: platform.runtime,
  });
  try {
    const outputs: Float32Array[] = [];
    for (const data of datasets) outputs.push(await trainer.predict(data));
    return outputs;
  } finally {
    await trainer.dispose();
  }
}

/** Each sample's probability of class 1 (a two-class classifier's softmax), per dataset, in order. */
export async function positiveScores(
  spec: ModelSpec,
  parameters: ParameterSet,
  datasets: readonly Dataset[],
  platform: Platform,
): Promise<Float32Array[]> {
  return (await predict(spec, parameters, datasets, platform)).map((logits) => {
    const scores = new Float32Array(logits.length / 2);
    for (let i = 0; i < scores.length; i++) scores[i] = 1 / (1 + Math.exp(logits[2 * i] - logits[2 * i + 1]));
    return scores;
  });
}

/** Every sample of a dataset, features and labels, in order. */
export function gatherAll(data: Dataset): { features: FeatureArray; labels: LabelArray } {
  const features = allocateFeatures(data, data.length);
  const labels = allocateLabels(data, data.length);
  data.gather(
    Uint32Array.from({ length: data.length }, (_, i) => i),
    features,
    labels,
  );
  return { features, labels };
}

/** Every sample's label (class indices), in order. */
export function labelsOf(data: Dataset): Int32Array {
  return Int32Array.from(gatherAll(data).labels);
}

/** The datasets' samples one after the other, as one dataset. */
export function concatenate(parts: readonly Dataset[]): ArrayDataset {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const first = parts[0];
  const features = allocateFeatures(first, total);
  const labels = allocateLabels(first, total);
  let f = 0;
  let l = 0;
  for (const p of parts) {
    const part = gatherAll(p);
    features.set(part.features, f);
    labels.set(part.labels, l);
    f += part.features.length;
    l += part.labels.length;
  }
  return new ArrayDataset({
    features,
    labels,
    featureShape: first.featureShape,
    labelShape: first.labelShape,
    classes: first.classes,
  });
}

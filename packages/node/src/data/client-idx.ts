/**
 * A client's folder of MNIST-format IDX files: train-images-idx3-ubyte and train-labels-idx1-ubyte,
 * optionally gzipped, and the client's own test files beside them (test-*, or MNIST's own t10k-*).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ArrayDataset,
  decodeMnist,
  mnistDataset,
  MNIST_CLASSES,
  type IdxTensor,
  type Normalization,
} from 'edgefl';
import { readIdxFile } from './idx.js';
import type { ClientData, ClientDataOptions } from './client-data.js';

export async function loadIdxFolder(dir: string, o: ClientDataOptions, formats: string): Promise<ClientData> {
  const classes = o.classes ?? MNIST_CLASSES;
  const train = await readPair(dir, 'train', o.normalize, classes);
  if (!train)
    throw new Error(
      `client data ${dir}: the folder has no train-images-idx3-ubyte (nor .gz); expected ${formats}`,
    );
  const test =
    (await readPair(dir, 'test', o.normalize, classes)) ??
    (await readPair(dir, 't10k', o.normalize, classes));
  return { train, test, classes };
}

/** The dataset of `<prefix>-images-idx3-ubyte` and its labels, or undefined when the images are not there. */
async function readPair(
  dir: string,
  prefix: string,
  normalize: Normalization | false | undefined,
  classes: readonly string[],
): Promise<ArrayDataset | undefined> {
  const imagesPath = await findFile(dir, `${prefix}-images-idx3-ubyte`);
  if (!imagesPath) return undefined;
  const labelsPath = await findFile(dir, `${prefix}-labels-idx1-ubyte`);
  if (!labelsPath)
    throw new Error(
      `client data ${dir}: ${prefix}-images-idx3-ubyte has no ${prefix}-labels-idx1-ubyte (nor .gz) beside it`,
    );
  const [images, labels] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  let arrays;
  try {
    arrays = decodeMnist(images, labels, classes.length);
  } catch (e) {
    throw new Error(`client data ${dir}, ${prefix} files: ${(e as Error).message}`, { cause: e });
  }
  // The default is decodeMnist's own pixels / 255, so a client reads exactly what a simulation does.
  if (normalize === undefined) return mnistDataset(arrays, { classes });
  return new ArrayDataset({
    features: scaled(images, normalize),
    labels: arrays.labels,
    featureShape: [1, arrays.rows, arrays.cols],
    classes,
    normalization: normalize === false ? undefined : { ...normalize },
  });
}

function scaled(images: IdxTensor, n: Normalization | false): Float32Array {
  const bytes = images.data as Uint8Array;
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++)
    out[i] = n === false ? bytes[i] : (bytes[i] * n.scale - n.mean) / n.std;
  return out;
}

/** The file itself, or its .gz twin (as MNIST is usually downloaded). */
async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const candidate of [join(dir, name), join(dir, name + '.gz')]) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

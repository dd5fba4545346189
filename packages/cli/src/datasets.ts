/** The datasets the CLI knows by name, loaded through the Node adapters. */
import { type Dataset, SubsetDataset } from 'edgefl';
import { loadMnist } from './data/mnist.js';

export interface NamedDataset {
  name: string;
  train: Dataset;
  test: Dataset;
  classes: readonly string[];
}

export const DATASETS = ['mnist'] as const;

/**
 * What a named dataset's examples look like, known without reading it: a run's model is built and
 * checked against its settings before any data is loaded (datasets.test.ts checks it against the data).
 */
export const DATASET_SHAPES: Record<
  (typeof DATASETS)[number],
  { readonly featureShape: readonly number[]; readonly classes: number }
> = {
  mnist: { featureShape: [1, 28, 28], classes: 10 },
};

export async function loadNamedDataset(name: string, o: { limit?: number } = {}): Promise<NamedDataset> {
  let ds: NamedDataset;
  switch (name) {
    case 'mnist': {
      const [train, test] = await Promise.all([loadMnist({ split: 'train' }), loadMnist({ split: 'test' })]);
      ds = { name, train, test, classes: train.classes ?? [] };
      break;
    }
    default:
      throw new Error(`unknown dataset '${name}'; available: ${DATASETS.join(', ')}`);
  }
  if (o.limit !== undefined) {
    if (!Number.isInteger(o.limit) || o.limit < 1)
      throw new Error(`--limit must be a positive integer, got ${o.limit}`);
    const head = (d: Dataset) =>
      new SubsetDataset(
        d,
        Uint32Array.from({ length: Math.min(o.limit!, d.length) }, (_, i) => i),
      );
    ds = { ...ds, train: head(ds.train), test: head(ds.test) };
  }
  return ds;
}

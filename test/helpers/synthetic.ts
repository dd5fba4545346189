/** Small deterministic datasets for tests. */
import { ArrayDataset, Rng } from 'edgefl';

/** `classes` Gaussian blobs in `dim` dimensions, well separated. */
export function blobs(n: number, dim: number, classes: number, seed = 1, spread = 0.3): ArrayDataset {
  const rng = new Rng(seed);
  const centers = Array.from({ length: classes }, () =>
    Array.from({ length: dim }, () => 2 * rng.uniform() - 1),
  );
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let d = 0; d < dim; d++) features[i * dim + d] = centers[c][d] + spread * rng.normal();
  }
  return new ArrayDataset({
    features,
    labels,
    featureShape: [dim],
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
  });
}

/**
 * Training and held-out sets from one draw of the same blobs: disjoint samples of the same
 * distribution. (Two `blobs` calls with the same seed would repeat the same samples.)
 */
export function blobsTrainTest(
  train: number,
  test: number,
  dim: number,
  classes: number,
  seed = 1,
  spread = 0.3,
): { train: ArrayDataset; test: ArrayDataset } {
  const all = blobs(train + test, dim, classes, seed, spread);
  const slice = (from: number, to: number) =>
    new ArrayDataset({
      features: all.features.slice(from * dim, to * dim),
      labels: all.labels.slice(from, to),
      featureShape: [dim],
      classes: all.classes ? [...all.classes] : undefined,
    });
  return { train: slice(0, train), test: slice(train, train + test) };
}

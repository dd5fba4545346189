/**
 * Label inference from the gradient of the last layer's bias (iDLG: Zhao, Mopuri & Bilen 2020,
 * "iDLG: Improved Deep Leakage from Gradients").
 *
 * Under softmax cross-entropy the gradient of the logit bias for one example is p - onehot(y): every
 * entry is positive except the true class's, p_y - 1 < 0. For a batch mean it is
 * mean_n p_n - (count of each label) / B, so the labels present show up as the most negative
 * entries. With more examples than classes the counts themselves are estimated as
 * B (mean p_c - g_c), assuming the (unknown) mean prediction is uniform — exact for the one-example
 * case, a heuristic beyond it.
 */
import type { ParameterEntry } from '../../tensor/parameters.js';

/**
 * `batch` labels (ascending by class within equal counts; the order carries no information) from
 * the logit-bias gradient `g` of a mean softmax cross-entropy loss.
 */
export function inferLabels(g: ArrayLike<number>, batch: number): Int32Array {
  const classes = g.length;
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`inferLabels: batch must be a positive integer, got ${batch}`);
  if (classes < 2)
    throw new RangeError(`inferLabels: need the bias gradient of >= 2 classes, got ${classes}`);
  const order = Array.from({ length: classes }, (_, c) => c).sort((a, b) => g[a] - g[b]);
  const negatives = order.filter((c) => g[c] < 0).length;
  if (batch <= Math.max(1, negatives)) return Int32Array.from(order.slice(0, batch)).sort();

  // Counts: B (1/C - g_c), rounded by largest remainder so that they add up to B.
  const raw = Array.from({ length: classes }, (_, c) => Math.max(0, batch * (1 / classes - g[c])));
  const total = raw.reduce((a, b) => a + b, 0) || 1;
  const want = raw.map((r) => (r * batch) / total);
  const counts = want.map(Math.floor);
  let left = batch - counts.reduce((a, b) => a + b, 0);
  const byRemainder = want.map((w, c) => [w - Math.floor(w), c]).sort((p, q) => q[0] - p[0]);
  for (let k = 0; left > 0; k = (k + 1) % classes, left--) counts[byRemainder[k][1]]++;
  const labels: number[] = [];
  counts.forEach((n, c) => {
    for (let i = 0; i < n; i++) labels.push(c);
  });
  return Int32Array.from(labels);
}

/** The bias gradient of the model's last layer: the last parameter tensor, which must be 1-D. */
export function lastBiasGradient(gradient: Float32Array, layout: readonly ParameterEntry[]): Float32Array {
  const last = layout[layout.length - 1];
  if (!last || last.shape.length !== 1)
    throw new Error(
      `label inference needs the model to end with a biased dense layer; its last parameter is ${last ? `${last.name} [${last.shape.join(', ')}]` : 'missing'}`,
    );
  return gradient.subarray(last.offset, last.offset + last.size);
}

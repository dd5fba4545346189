/**
 * A histogram of |x| that grows as it streams: calibration sees activations batch by batch and
 * keeps none of them, so the range is not known when the first batch arrives.
 *
 * Why |x| and why growing: the clipping thresholds (percentile, entropy) are magnitudes, as in
 * TensorRT's calibrator, and a histogram of magnitudes has one edge fixed at 0. The other edge
 * starts at the first batch's largest magnitude; when a later value lies beyond it, the bin width
 * doubles (adjacent bins merge pairwise) until it fits. Doubling keeps every bin edge of the old
 * histogram an edge of the new one, so no count is ever split or smeared between bins; the price is
 * at most a factor 2 of resolution per doubling, against a second pass over the data (calibration
 * batches may be a one-shot stream).
 */
export class MagnitudeHistogram {
  readonly counts: Float64Array;
  /** Width of one bin; 0 until a non-zero value has been seen. */
  binWidth = 0;
  /** Values seen, zeros included. */
  total = 0;
  /** The largest magnitude seen. */
  largest = 0;

  constructor(readonly bins = 2048) {
    if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0)
      throw new RangeError(`MagnitudeHistogram: bins must be an even integer >= 2, got ${bins}`);
    this.counts = new Float64Array(bins);
  }

  /** The upper edge of the last bin. */
  get top(): number {
    return this.binWidth * this.bins;
  }

  add(values: Float32Array): void {
    let batchLargest = 0;
    for (let i = 0; i < values.length; i++) {
      const v = Math.abs(values[i]);
      if (v > batchLargest) batchLargest = v;
    }
    if (!Number.isFinite(batchLargest))
      throw new RangeError('MagnitudeHistogram: the values include NaN or infinity');
    if (batchLargest > 0 && this.binWidth === 0) this.binWidth = batchLargest / this.bins;
    // Values equal to the top belong to the last bin: grow only past it.
    while (batchLargest > this.top) this.#double();
    const counts = this.counts;
    const last = this.bins - 1;
    for (let i = 0; i < values.length; i++) {
      const v = Math.abs(values[i]);
      counts[this.binWidth === 0 ? 0 : Math.min(last, Math.floor(v / this.binWidth))]++;
    }
    this.total += values.length;
    if (batchLargest > this.largest) this.largest = batchLargest;
  }

  #double(): void {
    const c = this.counts;
    const half = this.bins / 2;
    for (let i = 0; i < half; i++) c[i] = c[2 * i] + c[2 * i + 1];
    c.fill(0, half);
    this.binWidth *= 2;
  }
}

/**
 * The smallest magnitude below which at least `percentile` % of the values lie, at bin resolution
 * (the upper edge of the bin where the cumulative count crosses it), never above the largest value
 * seen.
 */
export function percentileThreshold(h: MagnitudeHistogram, percentile: number): number {
  if (!(percentile > 0 && percentile <= 100))
    throw new RangeError(`percentile must be in (0, 100], got ${percentile}`);
  if (h.total === 0 || h.binWidth === 0) return h.largest;
  const wanted = (h.total * percentile) / 100;
  let cumulative = 0;
  for (let i = 0; i < h.bins; i++) {
    cumulative += h.counts[i];
    if (cumulative >= wanted) return Math.min(h.largest, (i + 1) * h.binWidth);
  }
  return h.largest;
}

/**
 * TensorRT's entropy calibration: the clipping threshold whose 8-bit quantization loses the least
 * information, measured by KL(P || Q), where P is the histogram clipped at the threshold (the
 * clipped mass added to its last bin) and Q is P's bins merged into `levels` quantization levels
 * and spread back evenly over the bins that were non-zero. Candidate thresholds are the bin edges
 * from `levels` bins up (below that, there are more levels than bins and nothing is lost).
 * Returns the threshold, never above the largest value seen.
 */
export function entropyThreshold(h: MagnitudeHistogram, levels: number): number {
  if (!Number.isInteger(levels) || levels < 2)
    throw new RangeError(`entropyThreshold: levels must be an integer >= 2, got ${levels}`);
  if (h.total === 0 || h.binWidth === 0) return h.largest;
  // Only bins up to the last non-empty one can matter.
  let used = h.bins;
  while (used > 0 && h.counts[used - 1] === 0) used--;
  if (used <= levels) return h.largest;
  const counts = h.counts;
  let best = used;
  let bestDivergence = Infinity;
  for (let i = levels; i <= used; i++) {
    const d = clippedDivergence(counts, i, used, levels);
    if (d < bestDivergence) {
      bestDivergence = d;
      best = i;
    }
  }
  return Math.min(h.largest, best * h.binWidth);
}

/** KL(P || Q) for the threshold at bin edge `i` (see entropyThreshold). */
function clippedDivergence(counts: Float64Array, i: number, used: number, levels: number): number {
  const p = counts.slice(0, i);
  for (let j = i; j < used; j++) p[i - 1] += counts[j];
  const q = new Float64Array(i);
  // Level k covers bins [start, end): the bins split as evenly as integers allow.
  for (let k = 0; k < levels; k++) {
    const start = Math.floor((k * i) / levels);
    const end = Math.floor(((k + 1) * i) / levels);
    let mass = 0;
    let nonZero = 0;
    for (let j = start; j < end; j++) {
      mass += counts[j];
      if (counts[j] > 0) nonZero++;
    }
    // Q spreads the level's mass (of the unclipped bins: the outlier mass is what Q cannot hold)
    // over the bins P has mass in; empty bins of the reference stay empty.
    for (let j = start; j < end; j++) if (counts[j] > 0) q[j] = mass / nonZero;
  }
  return divergence(p, q);
}

/** KL(P || Q) of two unnormalized histograms; a bin P has and Q lacks counts as a large penalty. */
function divergence(p: Float64Array, q: Float64Array): number {
  let pSum = 0;
  let qSum = 0;
  for (let j = 0; j < p.length; j++) {
    pSum += p[j];
    qSum += q[j];
  }
  if (pSum === 0) return 0;
  if (qSum === 0) return Infinity;
  let d = 0;
  for (let j = 0; j < p.length; j++) {
    if (p[j] === 0) continue;
    const pj = p[j] / pSum;
    // The clipped mass lands in P's last bin, which Q may have as empty: smooth it instead of
    // returning infinity, as TensorRT does, so thresholds that clip into an empty bin still compare.
    const qj = q[j] > 0 ? q[j] / qSum : 1e-4 / qSum;
    d += pj * Math.log(pj / qj);
  }
  return d;
}

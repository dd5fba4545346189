/**
 * How well scores separate two classes, for problems where accuracy says little: a diagnosis
 * (ROC-AUC), fraud under 1% of transactions (precision-recall, F1 at a chosen recall), an anomaly
 * detector (detection and false-positive rates). Scores are any numbers that rank cases (higher
 * means more likely positive); labels are 1 positive, 0 negative.
 *
 * Definitions, so that figures compare with published ones:
 *  - ROC-AUC: the probability that a random positive scores above a random negative, ties counting
 *    one half (the Mann–Whitney U statistic over n⁺·n⁻).
 *  - Average precision: Σₙ (Rₙ − Rₙ₋₁) · Pₙ over the distinct thresholds from high to low — the
 *    step-wise area under the precision-recall curve, without interpolation (as scikit-learn's
 *    average_precision_score).
 */

export interface Confusion {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  precision: number;
  recall: number;
  /** False-positive rate: negatives flagged. */
  fpr: number;
  f1: number;
}

export interface CurvePoint {
  threshold: number;
  precision: number;
  recall: number;
  fpr: number;
}

function check(scores: ArrayLike<number>, labels: ArrayLike<number>, what: string): void {
  if (scores.length !== labels.length)
    throw new RangeError(`${what}: ${scores.length} scores for ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1)
      throw new RangeError(`${what}: label ${i} is ${labels[i]}, not 0 or 1`);
    if (!Number.isFinite(scores[i])) throw new RangeError(`${what}: score ${i} is ${scores[i]}`);
  }
}

function counts(labels: ArrayLike<number>): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return { positives, negatives: labels.length - positives };
}

/**
 * The curve at every distinct score, from the highest threshold down: at threshold s, cases
 * scoring ≥ s are flagged positive.
 */
export function binaryCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): CurvePoint[] {
  check(scores, labels, 'binaryCurve');
  const { positives, negatives } = counts(labels);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const points: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (labels[i] === 1) tp++;
    else fp++;
    // A point once every case of this score is counted.
    if (k + 1 < order.length && scores[order[k + 1]] === scores[i]) continue;
    points.push({
      threshold: scores[i],
      precision: tp / (tp + fp),
      recall: positives ? tp / positives : 0,
      fpr: negatives ? fp / negatives : 0,
    });
  }
  return points;
}

export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  check(scores, labels, 'rocAuc');
  const { positives, negatives } = counts(labels);
  if (!positives || !negatives) throw new RangeError('rocAuc: needs both positive and negative cases');
  // Rank-sum form of Mann–Whitney U, with average ranks for ties.
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0;
  for (let k = 0; k < order.length;) {
    let end = k;
    while (end + 1 < order.length && scores[order[end + 1]] === scores[order[k]]) end++;
    const rank = (k + end) / 2 + 1;
    for (let j = k; j <= end; j++) if (labels[order[j]] === 1) rankSum += rank;
    k = end + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const curve = binaryCurve(scores, labels);
  if (!counts(labels).positives) throw new RangeError('averagePrecision: there are no positive cases');
  let previous = 0;
  let ap = 0;
  for (const p of curve) {
    ap += (p.recall - previous) * p.precision;
    previous = p.recall;
  }
  return ap;
}

/** The counts and rates when cases scoring ≥ threshold are flagged. */
export function confusionAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): Confusion {
  check(scores, labels, 'confusionAt');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (flagged) tp++;
      else fn++;
    } else if (flagged) fp++;
    else tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 1;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    threshold,
    tp,
    fp,
    tn,
    fn,
    precision,
    recall,
    fpr: fp + tn ? fp / (fp + tn) : 0,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
  };
}

/**
 * The highest threshold that flags at least `recall` of the positives (a bank's "catch 80% of fraud"),
 * with its counts. Choose it on validation data, then apply it to test data with confusionAt.
 */
export function atRecall(scores: ArrayLike<number>, labels: ArrayLike<number>, recall: number): Confusion {
  if (!(recall > 0 && recall <= 1)) throw new RangeError(`atRecall: recall must be in (0, 1], got ${recall}`);
  const point = binaryCurve(scores, labels).find((p) => p.recall >= recall - 1e-12);
  if (!point) throw new RangeError('atRecall: there are no positive cases');
  return confusionAt(scores, labels, point.threshold);
}

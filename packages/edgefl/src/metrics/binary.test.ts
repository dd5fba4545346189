/**
 * Ranking metrics against a second implementation (ROC-AUC by counting every positive–negative
 * pair; average precision by its definition over sorted cases) and hand-worked values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { atRecall, averagePrecision, binaryCurve, confusionAt, rocAuc } from './binary.js';

/** Every pair: 1 when the positive scores higher, ½ on a tie. */
function pairwiseAuc(s: number[], y: number[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++)
      if (y[i] === 1 && y[j] === 0) {
        pairs++;
        sum += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
  return sum / pairs;
}

/** Σ over each distinct threshold of (recall gained) × precision there, by brute force. */
function bruteAp(s: number[], y: number[]): number {
  const thresholds = [...new Set(s)].sort((a, b) => b - a);
  const positives = y.reduce((a, b) => a + b, 0);
  let previous = 0;
  let ap = 0;
  for (const t of thresholds) {
    const flagged = s.map((v, i) => (v >= t ? i : -1)).filter((i) => i >= 0);
    const tp = flagged.filter((i) => y[i] === 1).length;
    const recall = tp / positives;
    ap += (recall - previous) * (tp / flagged.length);
    previous = recall;
  }
  return ap;
}

test('hand-worked values: a perfect ranking, a reversed one, one swap, ties', () => {
  assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]), 1);
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]), 0);
  assert.equal(rocAuc([0.9, 0.3, 0.5, 0.1], [1, 1, 0, 0]), 0.75);
  assert.equal(rocAuc([0.5, 0.5], [1, 0]), 0.5);
  // Positives at ranks 1 and 3 of 4: precision 1 at recall ½, then 2/3 at recall 1.
  assert.ok(
    Math.abs(averagePrecision([0.9, 0.7, 0.5, 0.1], [1, 0, 1, 0]) - (0.5 * 1 + 0.5 * (2 / 3))) < 1e-12,
  );
  const c = confusionAt([0.9, 0.7, 0.5, 0.1], [1, 0, 1, 0], 0.6);
  assert.deepEqual([c.tp, c.fp, c.tn, c.fn], [1, 1, 1, 1]);
  assert.equal(c.f1, 0.5);
  assert.equal(c.fpr, 0.5);
});

test('ROC-AUC and average precision equal their brute-force definitions on random scores with ties', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const n = 5 + rng.int(60);
    const y = Array.from({ length: n }, () => (rng.uniform() < 0.3 ? 1 : 0));
    y[0] = 1;
    y[1] = 0;
    // Rounded scores: many ties.
    const s = y.map((v) => Math.round((v + rng.normal()) * 4) / 4);
    assert.ok(Math.abs(rocAuc(s, y) - pairwiseAuc(s, y)) < 1e-12, `trial ${trial}: AUC`);
    assert.ok(Math.abs(averagePrecision(s, y) - bruteAp(s, y)) < 1e-12, `trial ${trial}: AP`);
  }
});

test('the threshold for a recall catches at least that share, and is the highest that does', () => {
  const s = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3];
  const y = [1, 0, 1, 0, 1, 1, 0, 0];
  const at = atRecall(s, y, 0.75);
  assert.equal(at.threshold, 0.6);
  assert.equal(at.recall, 0.75);
  assert.equal(at.precision, 3 / 5);
  const curve = binaryCurve(s, y);
  assert.equal(curve.length, 8);
  assert.deepEqual(curve[curve.length - 1], { threshold: 0.3, precision: 0.5, recall: 1, fpr: 1 });
});

test('inputs that cannot be scored are refused, naming the problem', () => {
  assert.throws(() => rocAuc([1, 2], [1]), /2 scores for 1 labels/);
  assert.throws(() => rocAuc([1, 2], [1, 2]), /label 1 is 2, not 0 or 1/);
  assert.throws(() => rocAuc([1, NaN], [1, 0]), /score 1 is NaN/);
  assert.throws(() => rocAuc([1, 2], [1, 1]), /needs both positive and negative/);
  assert.throws(() => averagePrecision([1, 2], [0, 0]), /no positive cases/);
  assert.throws(() => atRecall([1], [1], 0), /recall must be in \(0, 1\]/);
});

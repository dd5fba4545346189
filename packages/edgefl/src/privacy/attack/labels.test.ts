/** iDLG label inference from the last layer's bias gradient, on exact softmax cross-entropy gradients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { inferLabels, lastBiasGradient } from './labels.js';

/** d mean CE / d bias = mean_n (softmax(z_n) - onehot(y_n)), for random logits. */
function biasGradient(labels: readonly number[], classes: number, rng: Rng, spread = 1): Float64Array {
  const g = new Float64Array(classes);
  for (const y of labels) {
    const z = Array.from({ length: classes }, () => spread * rng.normal());
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (g[c] += (v / s - (c === y ? 1 : 0)) / labels.length));
  }
  return g;
}

const sorted = (a: ArrayLike<number>) => [...Array.from(a)].sort((p, q) => p - q);

test('one example: the only negative entry is the label, whatever the logits', () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 50; trial++) {
    const y = rng.int(10);
    assert.deepEqual([...inferLabels(biasGradient([y], 10, rng, 3), 1)], [y]);
  }
});

test('a small batch of distinct labels: the most negative entries', () => {
  const rng = new Rng(2);
  for (let trial = 0; trial < 20; trial++) {
    const labels = [...rng.permutation(10)].slice(0, 4);
    assert.deepEqual(sorted(inferLabels(biasGradient(labels, 10, rng), 4)), sorted(labels));
  }
});

test('more examples than classes: counts estimated from the bias gradient', () => {
  const rng = new Rng(3);
  const labels = Array.from({ length: 64 }, () => rng.int(10));
  const guess = inferLabels(biasGradient(labels, 10, rng, 0.1), 64);
  assert.equal(guess.length, 64);
  const count = (a: ArrayLike<number>, c: number) => Array.from(a).filter((v) => v === c).length;
  // With nearly uniform predictions (an untrained model), the estimate is exact or off by one.
  for (let c = 0; c < 10; c++)
    assert.ok(
      Math.abs(count(guess, c) - count(labels, c)) <= 1,
      `class ${c}: ${count(guess, c)} vs ${count(labels, c)}`,
    );
});

test('the last bias is found in a layout, and a model without one is refused', () => {
  const layout = [
    { name: 'w', shape: [3, 2], offset: 0, size: 6 },
    { name: 'b', shape: [3], offset: 6, size: 3 },
  ];
  const flat = Float32Array.from({ length: 9 }, (_, i) => i);
  assert.deepEqual([...lastBiasGradient(flat, layout)], [6, 7, 8]);
  assert.throws(
    () => lastBiasGradient(flat, layout.slice(0, 1)),
    /end with a biased dense layer; its last parameter is w \[3, 2\]/,
  );
  assert.throws(() => inferLabels([0.1, -0.1], 0), /batch must be a positive integer/);
});

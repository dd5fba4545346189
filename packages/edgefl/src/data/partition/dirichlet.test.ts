import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { dirichlet } from './dirichlet.js';

/** 60,000 samples, 6,000 of each of 10 classes. */
const labels = new Int32Array(60000).map((_, i) => i % 10);

function classMix(parts: Uint32Array[]): { meanClasses: number; meanTotalVariation: number } {
  let classes = 0;
  let tv = 0;
  for (const part of parts) {
    const histogram = new Float64Array(10);
    for (const j of part) histogram[labels[j]]++;
    classes += histogram.filter((c) => c > 0).length;
    // Total variation distance between the client's label mix and the global one (uniform).
    tv += histogram.reduce((a, c) => a + Math.abs(c / part.length - 0.1), 0) / 2;
  }
  return { meanClasses: classes / parts.length, meanTotalVariation: tv / parts.length };
}

test('dirichlet covers every sample exactly once and respects minSize', () => {
  const parts = dirichlet(labels, 100, 0.3, new Rng(1), { minSize: 20 });
  const held = new Uint8Array(labels.length);
  for (const part of parts) for (const j of part) held[j]++;
  assert.ok(held.every((c) => c === 1));
  assert.ok(parts.every((p) => p.length >= 20));
});

test('dirichlet with huge alpha approaches the global label mix', () => {
  // alpha = 1000: client j's share of class k is Beta(1000, 99000), sd ≈ 0.000315, so it holds 60 ± 1.9
  // of each class's 6,000; the mean total variation from uniform is then about
  // 10 · 1.9 · sqrt(2/pi) / 600 / 2 ≈ 0.013. Assert every class present and TV below 0.03.
  const { meanClasses, meanTotalVariation } = classMix(dirichlet(labels, 100, 1000, new Rng(2)));
  assert.equal(meanClasses, 10);
  assert.ok(meanTotalVariation < 0.03, `TV ${meanTotalVariation}`);
});

test('dirichlet with small alpha concentrates labels', () => {
  // alpha = 0.1: client j's share of a class is Beta(0.1, 9.9); it holds none of the class's 6,000 when
  // the share is below ~1/6000, which happens with probability ~ x^0.1 / (0.1 B(0.1, 9.9)) ≈ 0.55 at
  // x = 1/6000. So ~4.5 of 10 classes per client (measured 4.9–5.1 over seeds, minSize lifting it a
  // little); a client is dominated by a few classes (TV from uniform ~0.7, vs 0.013 at alpha = 1000).
  const { meanClasses, meanTotalVariation } = classMix(dirichlet(labels, 100, 0.1, new Rng(3)));
  assert.ok(meanClasses > 3 && meanClasses < 7, `mean classes ${meanClasses}`);
  assert.ok(meanTotalVariation > 0.5, `TV ${meanTotalVariation}`);
  // And skew falls as alpha grows.
  const at1 = classMix(dirichlet(labels, 100, 1, new Rng(3)));
  assert.ok(at1.meanTotalVariation < meanTotalVariation && at1.meanTotalVariation > 0.1);
});

test('dirichlet is reproducible under a seed and differs between seeds', () => {
  const few = labels.subarray(0, 2000);
  assert.deepEqual(dirichlet(few, 10, 0.5, new Rng(4)), dirichlet(few, 10, 0.5, new Rng(4)));
  assert.notDeepEqual(dirichlet(few, 10, 0.5, new Rng(4)), dirichlet(few, 10, 0.5, new Rng(5)));
});

test('dirichlet gives a clear error when minSize cannot be met', () => {
  const rng = new Rng(1);
  assert.throws(
    () => dirichlet(labels.subarray(0, 100), 20, 1, rng),
    /100 samples cannot give each of 20 clients minSize=10/,
  );
  // Feasible in principle, but with alpha = 0.01 some client is nearly always empty.
  assert.throws(
    () => dirichlet(labels.subarray(0, 1000), 50, 0.01, rng, { maxAttempts: 20 }),
    /after 20 draws with alpha=0.01, some client still had fewer than minSize=10 samples.*raise alpha/,
  );
  assert.throws(() => dirichlet(labels, 10, 0, rng), /alpha must be a finite number > 0, got 0/);
  assert.throws(() => dirichlet(labels, 10, 1, rng, { minSize: -1 }), /minSize must be an integer >= 0/);
});

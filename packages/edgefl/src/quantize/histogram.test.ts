/** The streaming histogram and the thresholds read from it, on histograms with known answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activationParams, quantizeWeight, roundHalfEven, weightScales } from './affine.js';
import { entropyThreshold, MagnitudeHistogram, percentileThreshold } from './histogram.js';

test('the histogram grows by doubling its bin width, keeping every count', () => {
  const h = new MagnitudeHistogram(8);
  h.add(Float32Array.of(0.5, -1, 2, 4)); // width 0.5: bins 1, 2, 4, and 4 lands in the last bin
  assert.equal(h.binWidth, 0.5);
  assert.deepEqual([...h.counts], [0, 1, 1, 0, 1, 0, 0, 1]);
  h.add(Float32Array.of(-7.5)); // past the top (4): width 1, then bins merge pairwise
  assert.equal(h.binWidth, 1);
  // The 4 that sat in the last bin (the top belongs to it) merges into [3, 4): only a value at
  // exactly the old top moves across an edge.
  assert.deepEqual([...h.counts], [1, 1, 1, 1, 0, 0, 0, 1]);
  assert.equal(h.total, 5);
  assert.equal(h.largest, 7.5);
});

/** A histogram set directly: `counts` in bins of width 1. */
function histogram(counts: (i: number) => number, bins = 2048): MagnitudeHistogram {
  const h = new MagnitudeHistogram(bins);
  h.binWidth = 1;
  for (let i = 0; i < bins; i++) h.counts[i] = counts(i);
  h.total = h.counts.reduce((a, b) => a + b, 0);
  h.largest = bins;
  return h;
}

test('percentile: the upper edge of the bin where the cumulative count crosses it', () => {
  const h = histogram((i) => (i < 100 ? 1 : 0));
  assert.equal(percentileThreshold(h, 50), 50);
  assert.equal(percentileThreshold(h, 99.5), 100);
  assert.equal(percentileThreshold(h, 100), 100);
});

test('entropy: a decaying bulk with one far outlier is clipped at the end of the bulk', () => {
  // Counts decay as exp(-i / 100) over bins 0..999, then one count at bin 2047. Clipping inside
  // the bulk piles its tail into the last bin, a spike Q cannot follow; clipping past it spreads
  // 255 levels over more bins (coarser) and leaves the outlier in an empty bin. Least divergence:
  // exactly at the bulk's end, bin edge 1000. (A uniform bulk would not test this: Q spreads each
  // level's mass evenly over its non-empty bins, which reproduces a flat histogram exactly.)
  const h = histogram((i) => (i < 1000 ? Math.round(1e6 * Math.exp(-i / 100)) : i === 2047 ? 1 : 0));
  assert.equal(entropyThreshold(h, 255), 1000);
  // Every bin used equally: nothing is lost at the top, and nothing is clipped.
  assert.equal(
    entropyThreshold(
      histogram(() => 1),
      255,
    ),
    2048,
  );
  // The candidates start at one bin per level: fewer bins than levels, nothing is clipped.
  assert.equal(
    entropyThreshold(
      histogram((i) => (i < 200 ? 5 : 0)),
      255,
    ),
    2048,
  );
});

test('affine parameters: 0 is exact, ranges widen to include it, weights are symmetric', () => {
  assert.deepEqual(
    [roundHalfEven(2.5), roundHalfEven(3.5), roundHalfEven(-2.5), roundHalfEven(2.4)],
    [2, 4, -2, 2],
  );
  assert.deepEqual(activationParams(0, 255), { scale: 1, zeroPoint: 0 });
  assert.deepEqual(activationParams(2, 255), { scale: 1, zeroPoint: 0 }, 'widened down to 0');
  const p = activationParams(-1, 3);
  assert.equal(p.zeroPoint, 64);
  assert.equal(p.scale, Math.fround(4 / 255));
  // Per channel along axis 0 of [2, 3]: each row's largest magnitude maps to 127.
  const w = Float32Array.of(1, -2, 0.5, 0.1, 0.2, -0.4);
  const s = weightScales(w, [2, 3], 0);
  assert.deepEqual([...s], [Math.fround(2 / 127), Math.fround(0.4 / 127)]);
  assert.deepEqual([...quantizeWeight(w, [2, 3], 0, s)], [64, -127, 32, 32, 64, -127]);
  // Along axis 1 (a MatMul's [K, N]): columns.
  assert.deepEqual(
    [...weightScales(w, [2, 3], 1)],
    [1, 2, 0.5].map((v) => Math.fround(v / 127)),
  );
});

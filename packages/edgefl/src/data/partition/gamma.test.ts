import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { sampleDirichlet, sampleGamma, sampleLogGamma } from './gamma.js';

const N = 20000;

function moments(xs: Float64Array): { mean: number; variance: number } {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

test('Gamma(a) mean and variance match a and a within 4 standard errors', () => {
  const rng = new Rng(7);
  for (const a of [0.05, 0.3, 1, 2.5, 40]) {
    const xs = Float64Array.from({ length: N }, () => sampleGamma(rng, a));
    const { mean, variance } = moments(xs);
    // Standard error of the mean: sqrt(a / N). Of the sample variance: sqrt((mu4 - sigma^4) / N) with
    // mu4 = 3a^2 + 6a for Gamma(a, 1) (excess kurtosis 6/a), so sqrt((2a^2 + 6a) / N).
    const seMean = Math.sqrt(a / N);
    const seVar = Math.sqrt((2 * a * a + 6 * a) / N);
    assert.ok(Math.abs(mean - a) < 4 * seMean, `a=${a}: mean ${mean}, expected ${a} ± ${4 * seMean}`);
    assert.ok(
      Math.abs(variance - a) < 4 * seVar,
      `a=${a}: variance ${variance}, expected ${a} ± ${4 * seVar}`,
    );
    assert.ok(xs.every((x) => x >= 0 && Number.isFinite(x)));
  }
});

test('Gamma(1) is Exp(1): Kolmogorov–Smirnov distance below the 0.1% critical value', () => {
  const rng = new Rng(11);
  const xs = Float64Array.from({ length: N }, () => sampleGamma(rng, 1)).sort();
  let d = 0;
  for (let i = 0; i < N; i++) {
    const cdf = 1 - Math.exp(-xs[i]);
    d = Math.max(d, Math.abs(cdf - i / N), Math.abs(cdf - (i + 1) / N));
  }
  // Asymptotic KS critical value at level 0.001: 1.95 / sqrt(N).
  assert.ok(d < 1.95 / Math.sqrt(N), `KS distance ${d}`);
});

test('the scale parameter multiplies mean by scale and variance by scale^2', () => {
  const rng = new Rng(3);
  const a = 2;
  const scale = 0.25;
  const { mean, variance } = moments(Float64Array.from({ length: N }, () => sampleGamma(rng, a, scale)));
  assert.ok(Math.abs(mean - a * scale) < 4 * Math.sqrt(a / N) * scale);
  assert.ok(Math.abs(variance - a * scale ** 2) < 4 * Math.sqrt((2 * a * a + 6 * a) / N) * scale ** 2);
});

test('log-Gamma stays finite where the variate underflows', () => {
  const rng = new Rng(5);
  // Gamma(0.001) is below 1e-300 with probability ~ (1e-300)^0.001 = 0.5; its log is ~ -700 or less.
  const logs = Float64Array.from({ length: 1000 }, () => sampleLogGamma(rng, 0.001));
  assert.ok(logs.every(Number.isFinite));
  assert.ok(
    logs.some((l) => l < -745),
    'expected some variates below the smallest double',
  );
});

test('Dirichlet: sums to 1, marginal mean 1/k and variance (k-1)/(k^2 (k alpha + 1))', () => {
  const rng = new Rng(9);
  const k = 5;
  for (const alpha of [0.2, 3]) {
    const first = new Float64Array(N);
    const p = new Float64Array(k);
    for (let i = 0; i < N; i++) {
      sampleDirichlet(rng, alpha, k, p);
      const sum = p.reduce((a, x) => a + x, 0);
      assert.ok(Math.abs(sum - 1) < 1e-12);
      first[i] = p[0];
    }
    // The marginal is Beta(alpha, (k-1) alpha).
    const { mean, variance } = moments(first);
    const expectedVar = (k - 1) / (k * k * (k * alpha + 1));
    assert.ok(Math.abs(mean - 1 / k) < 4 * Math.sqrt(expectedVar / N), `alpha=${alpha}: mean ${mean}`);
    // Beta values lie in [0, 1], so the fourth central moment is at most the variance: SE(var) <= sqrt(var / N).
    assert.ok(
      Math.abs(variance - expectedVar) < 4 * Math.sqrt(expectedVar / N),
      `alpha=${alpha}: variance ${variance}, expected ${expectedVar}`,
    );
  }
});

test('Dirichlet with tiny alpha still gives a distribution (no NaN from underflow)', () => {
  const p = sampleDirichlet(new Rng(1), 0.001, 100);
  assert.ok(p.every((x) => x >= 0 && Number.isFinite(x)));
  assert.ok(Math.abs(p.reduce((a, x) => a + x, 0) - 1) < 1e-12);
});

test('bad parameters are refused', () => {
  const rng = new Rng(1);
  assert.throws(() => sampleGamma(rng, 0), /shape must be a finite number > 0, got 0/);
  assert.throws(() => sampleGamma(rng, NaN), /shape/);
  assert.throws(() => sampleGamma(rng, 1, -1), /scale/);
  assert.throws(() => sampleDirichlet(rng, 1, 0), /k must be an integer >= 1/);
  assert.throws(() => sampleDirichlet(rng, 1, 3, new Float64Array(2)), /out has 2 entries, expected 3/);
});

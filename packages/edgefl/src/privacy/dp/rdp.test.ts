import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ORDERS, OPACUS_ORDERS, rdpSampledGaussian } from './rdp.js';

function relErr(actual: number, expected: number): number {
  return actual === expected ? 0 : Math.abs(actual - expected) / Math.abs(expected);
}

function assertRelClose(actual: number, expected: number, rel: number, what: string): void {
  const err = relErr(actual, expected);
  assert.ok(err <= rel, `${what}: got ${actual}, expected ${expected} (relative error ${err} > ${rel})`);
}

test('q = 1 is the plain Gaussian mechanism: exactly alpha / (2 z^2)', () => {
  const orders = [1.5, 2, 3.14159, 32, 1024];
  for (const z of [0.3, 1, 2.71828]) {
    const rdp = rdpSampledGaussian(1, z, orders);
    orders.forEach((alpha, k) => assert.equal(rdp[k], alpha / (2 * z * z), `alpha=${alpha}, z=${z}`));
  }
});

test('degenerate cases: q = 0 leaks nothing, z = 0 and order Infinity certify nothing', () => {
  assert.deepEqual(rdpSampledGaussian(0, 1, [2, 2.5, Infinity]), [0, 0, 0]);
  assert.deepEqual(rdpSampledGaussian(0, 0, [2]), [0]);
  assert.deepEqual(rdpSampledGaussian(0.01, 0, [2, 2.5]), [Infinity, Infinity]);
  assert.deepEqual(rdpSampledGaussian(0.01, 1, [Infinity]), [Infinity]);
  assert.deepEqual(rdpSampledGaussian(0.01, Infinity, [2, 2.5]), [0, 0]);
});

test('order 2 matches its closed form log(1 + q^2 (e^(1/z^2) - 1))', () => {
  // A_2 = E[(1 - q + q L)^2] with L = mu1/mu0 and E[L] = 1, E[L^2] = e^(1/z^2) under mu0.
  for (const [q, z] of [
    [1e-7, 1],
    [1e-3, 1],
    [0.01, 1.1],
    [0.5, 0.5],
    [0.99, 3],
  ]) {
    const expected = Math.log1p(q * q * Math.expm1(1 / (z * z)));
    assertRelClose(rdpSampledGaussian(q, z, [2])[0], expected, 1e-13, `q=${q}, z=${z}`);
  }
});

test('TF Privacy rdp_accountant_test.py: test_compute_rdp_scalar and test_compute_rdp_no_sampling', () => {
  // compute_rdp(q=0.1, noise_multiplier=2, steps=10, orders=5) == 0.07737 (assertAlmostEqual places=5)
  const rdp = rdpSampledGaussian(0.1, 2, [5])[0] * 10;
  assert.ok(Math.abs(rdp - 0.07737) < 5e-6, `got ${rdp}`);
  // compute_rdp(1, 10, 1, 20) == 0.1
  assert.equal(rdpSampledGaussian(1, 10, [20])[0], 0.1);
});

const SEQUENCE_ORDERS = [1.5, 2.5, 5, 50, 100, Infinity];

test('TF Privacy rdp_accountant_test.py: test_compute_rdp_sequence (q=0.01, z=2.5, 50 steps), rtol 1e-4', () => {
  const expected = [6.5007e-4, 1.0854e-3, 2.1808e-3, 2.3846e-2, 1.6742e2, Infinity];
  const rdp = rdpSampledGaussian(0.01, 2.5, SEQUENCE_ORDERS).map((r) => r * 50);
  rdp.forEach((r, k) => assertRelClose(r, expected[k], 1e-4, `order ${SEQUENCE_ORDERS[k]}`));
});

test("dp_accounting rdp_privacy_accountant_test.py: test_compute_rdp_poisson_sampled_gaussian, 'absolute' series", () => {
  // Since 2024 dp_accounting sums the magnitudes of the fractional series (an upper bound); with
  // fractionalSeries 'absolute' this implementation reproduces its figures to rtol 1e-4.
  const expected = [6.70579741e-4, 1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2, Infinity];
  const rdp = rdpSampledGaussian(0.01, 2.5, SEQUENCE_ORDERS, { fractionalSeries: 'absolute' }).map(
    (r) => r * 50,
  );
  rdp.forEach((r, k) => assertRelClose(r, expected[k], 1e-4, `order ${SEQUENCE_ORDERS[k]}`));

  // The exact (signed) series agrees with dp_accounting within 1% at every order except 1.5,
  // where dp_accounting's bound is 3.2% above the true value (mpmath quadrature: 6.50070897e-4).
  const exact = rdpSampledGaussian(0.01, 2.5, SEQUENCE_ORDERS).map((r) => r * 50);
  for (let k = 1; k < 5; k++) assertRelClose(exact[k], expected[k], 0.01, `order ${SEQUENCE_ORDERS[k]}`);
  assertRelClose(exact[0], 0.0006500708971880398, 1e-9, 'order 1.5 vs quadrature');
  assert.ok(exact[0] < expected[0]);
});

// log(A_alpha)/(alpha-1) by direct numerical integration of
//   A_alpha = int N(x; 0, z^2) (1 - q + q exp((2x - 1) / (2 z^2)))^alpha dx
// with mpmath.quad at 50 digits (rounded to double): the independent check that both TF Privacy
// and dp_accounting use in test_compute_log_a_equals_mp. The first ten (q, z, alpha) are those
// tests' own parameters; the rest probe slow or cancelling series: alpha near 1, z0 near alpha
// (dp_accounting's test_log_a_frac_positive region, q=0.4, z=12), and q=0.3, z=100, alpha=256.1,
// where Opacus' signed series returns a negative value.
const QUADRATURE: [number, number, number, number][] = [
  [1e-7, 0.1, 1.01, 0.000004003412322526395],
  [1e-6, 0.1, 256, 12786.130310969258],
  [1e-5, 0.1, 256.1, 12793.441943506159],
  [1e-6, 1, 27, 3.372888963403269e-11],
  [1e-4, 1.0, 1.5, 1.2885373907673299e-8],
  [1e-3, 1.0, 2, 0.0000017182803522145153],
  [0.01, 10, 20, 0.000010068263112022611],
  [0.1, 100, 20.5, 0.000010252214593881177],
  [0.99, 0.1, 256, 12799.989910251063],
  [0.999, 100, 256.1, 0.012779725746660574],
  [0.3, 1, 1.01, 0.05577020168780681],
  [0.1, 0.7, 1.01, 0.020324888339700517],
  [0.1, 1, 1.1, 0.008098568468073839],
  [0.3, 2.5, 1.01, 0.007555694125407365],
  [0.04, 0.3, 1.1, 0.1314479684221085],
  [0.5, 0.3, 1.01, 2.270714293088191],
  [0.9, 1.1, 1.1, 0.3723956462254495],
  [0.99, 0.1, 2.5, 124.98324944024415],
  [0.4, 12, 58.5, 0.03603111431281531],
  [0.4, 12, 59, 0.03637334679495884],
  [0.4, 12, 59.3, 0.03657899910657301],
  [0.3, 100, 256.1, 0.0011586919463418299],
];

test('per-step RDP matches numerical integration to 1e-6 relative', () => {
  for (const [q, z, alpha, expected] of QUADRATURE) {
    assertRelClose(rdpSampledGaussian(q, z, [alpha])[0], expected, 1e-6, `q=${q}, z=${z}, alpha=${alpha}`);
  }
});

test('fractional orders at tiny q: log(A) has ~1e-16 absolute accuracy, so tiny RDP is only roughly right', () => {
  // With q = 1e-7 the RDP is ~1e-14 per step: far below anything that moves epsilon. The series
  // sums O(1) terms, so its absolute error in log(A) is at the level of double rounding.
  for (const [alpha, expected] of [
    [1.5, 9.638874568730058e-15],
    [1.1, 7.0685074980289236e-15],
  ]) {
    const rdp = rdpSampledGaussian(1e-7, 1.1, [alpha])[0];
    assert.ok(
      Math.abs(rdp - expected) * (alpha - 1) < 1e-15,
      `alpha=${alpha}: got ${rdp}, expected ${expected}`,
    );
  }
});

test('a series that has not converged is reported as Infinity (dropped, never underestimated)', () => {
  // q = 0.5, z = 100 puts z0 at 1/2: terms decay only like i^-(alpha+1); dp_accounting returns inf too.
  assert.equal(rdpSampledGaussian(0.5, 100, [1.01])[0], Infinity);
  // ... while orders where the series converges are unaffected.
  assert.ok(Number.isFinite(rdpSampledGaussian(0.5, 100, [2.5])[0]));
});

test('RDP grows with q and with the order, and falls with z', () => {
  const orders = [1.5, 2, 4.5, 16, 63];
  const qs = [1e-4, 1e-3, 0.01, 0.1, 0.5, 0.9];
  const zs = [0.5, 0.8, 1.1, 2, 5];
  for (const z of zs) {
    let prev = orders.map(() => 0);
    for (const q of qs) {
      const rdp = rdpSampledGaussian(q, z, orders);
      rdp.forEach((r, k) => assert.ok(r > prev[k], `q=${q}, z=${z}, alpha=${orders[k]}: ${r} <= ${prev[k]}`));
      for (let k = 1; k < rdp.length; k++)
        assert.ok(rdp[k] >= rdp[k - 1], `order monotonicity q=${q} z=${z}`);
      prev = rdp;
    }
  }
  for (const q of qs) {
    let prev = orders.map(() => Infinity);
    for (const z of zs) {
      const rdp = rdpSampledGaussian(q, z, orders);
      rdp.forEach((r, k) => assert.ok(r < prev[k], `q=${q}, z=${z}, alpha=${orders[k]}: ${r} >= ${prev[k]}`));
      prev = rdp;
    }
  }
});

test('default order lists: dp_accounting DEFAULT_RDP_ORDERS and Opacus DEFAULT_ALPHAS', () => {
  assert.equal(DEFAULT_ORDERS.length, 99 + 53 + 4);
  assert.deepEqual(DEFAULT_ORDERS.slice(0, 3), [1.1, 1.2, 1.3]);
  assert.deepEqual(DEFAULT_ORDERS.slice(98, 101), [10.9, 11, 12]);
  assert.deepEqual(DEFAULT_ORDERS.slice(-5), [63, 128, 256, 512, 1024]);
  assert.equal(OPACUS_ORDERS.length, 99 + 52);
  assert.deepEqual(OPACUS_ORDERS.slice(98, 100), [10.9, 12]);
  assert.equal(OPACUS_ORDERS[OPACUS_ORDERS.length - 1], 63);
});

test('bad arguments are refused with a message naming the argument', () => {
  assert.throws(() => rdpSampledGaussian(1.5, 1, [2]), /q must be a number in \[0, 1\].*got 1\.5/);
  assert.throws(() => rdpSampledGaussian(-0.1, 1, [2]), /q must be/);
  assert.throws(() => rdpSampledGaussian(NaN, 1, [2]), /q must be.*got NaN/);
  assert.throws(() => rdpSampledGaussian(0.1, -1, [2]), /noiseMultiplier must be a number >= 0.*got -1/);
  assert.throws(() => rdpSampledGaussian(0.1, 1, []), /orders must be a non-empty array/);
  assert.throws(() => rdpSampledGaussian(0.1, 1, [2, 1]), /orders\[1\] must be an RDP order > 1; got 1/);
  assert.throws(
    () => rdpSampledGaussian(0.1, 1, [2], { fractionalSeries: 'exact' as never }),
    /fractionalSeries must be 'signed' or 'absolute'/,
  );
});

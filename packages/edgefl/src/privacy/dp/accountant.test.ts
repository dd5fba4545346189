import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RdpAccountant, epsilon, epsilonFromRdp, noiseMultiplierFor } from './accountant.js';
import { OPACUS_ORDERS, rdpSampledGaussian } from './rdp.js';

function relErr(actual: number, expected: number): number {
  return actual === expected ? 0 : Math.abs(actual - expected) / Math.abs(expected);
}

function assertRelClose(actual: number, expected: number, rel: number, what: string): void {
  const err = relErr(actual, expected);
  assert.ok(err <= rel, `${what}: got ${actual}, expected ${expected} (relative error ${err} > ${rel})`);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

// ---- Opacus (opacus/tests/accountants_test.py, opacus/accountants/analysis/rdp.py) ----

test('Opacus accountants_test.py test_rdp_accountant: q=0.04, z=1.5, 2250 steps, delta=1e-5 -> 7.32911117143', () => {
  const accountant = new RdpAccountant({ orders: OPACUS_ORDERS });
  for (let i = 0; i < 2250; i++) accountant.step({ noiseMultiplier: 1.5, samplingRate: 0.04 });
  const spent = accountant.spent(1e-5);
  assertRelClose(spent.epsilon, 7.32911117143, 1e-9, 'epsilon');
  assert.equal(accountant.history.length, 1, 'identical steps merge into one history entry');
  // The one-shot function gives the same answer, and so do the default (dp_accounting) orders.
  const oneShot = epsilon({ samplingRate: 0.04, noiseMultiplier: 1.5, steps: 2250, delta: 1e-5 });
  assertRelClose(oneShot.epsilon, 7.32911117143, 1e-9, 'epsilon with default orders');
});

test('Opacus accountants_test.py test_get_noise_multiplier_rdp_{epochs,steps}: 1.416 and 1.3562', () => {
  // Opacus stops its bisection once epsilon is within 0.01 below the target, so its published z is a
  // little above the exact threshold; ours is the threshold to 1e-6 relative. Agreement: < 0.1%.
  for (const [steps, published] of [
    [2250, 1.416], // epochs=90 at sample_rate 0.04
    [2000, 1.3562],
  ]) {
    const z = noiseMultiplierFor({
      samplingRate: 0.04,
      steps,
      delta: 1e-5,
      targetEpsilon: 8,
      orders: OPACUS_ORDERS,
    });
    assertRelClose(z, published, 1e-3, `steps=${steps}`);
    assert.ok(z <= published, `the exact threshold ${z} cannot exceed Opacus' answer ${published}`);
  }
});

test('Opacus analysis/rdp.py docstring: [(1e-5, 1.0, 10), (1e-4, 3.0, 4)], orders 2..32 -> (0.336, 23)', () => {
  const orders = range(2, 33);
  const a = rdpSampledGaussian(1e-5, 1.0, orders);
  const b = rdpSampledGaussian(1e-4, 3.0, orders);
  const spent = epsilonFromRdp(
    orders,
    orders.map((_, k) => 10 * a[k] + 4 * b[k]),
    1e-5,
  );
  assert.equal(spent.epsilon.toFixed(3), '0.336');
  assert.equal(spent.bestOrder, 23);
  // The accountant composes the same heterogeneous history to the same answer.
  const accountant = new RdpAccountant({ orders });
  accountant
    .step({ noiseMultiplier: 1.0, samplingRate: 1e-5 }, 10)
    .step({ noiseMultiplier: 3.0, samplingRate: 1e-4 }, 4);
  assert.deepEqual(accountant.spent(1e-5), spent);
});

// ---- TF Privacy (tensorflow_privacy/privacy/analysis/rdp_accountant_test.py, last version before removal) ----

test('TF Privacy test_get_privacy_spent_check_target_delta: constant RDP 1.1, orders 2..32 -> 1.32783806176', () => {
  const orders = range(2, 33);
  const spent = epsilonFromRdp(
    orders,
    orders.map(() => 1.1),
    1e-5,
  );
  assertRelClose(spent.epsilon, 1.32783806176, 1e-10, 'epsilon');
  assert.equal(spent.bestOrder, 32);
});

test('TF Privacy / dp_accounting: Gaussian z=4.530877117 is exactly (1, 1e-6)-DP on orders 1.001..99.999', () => {
  // The published test uses orders 1.000 .. 99.999; order 1 (KL) is outside this API, which changes nothing.
  const orders = range(1001, 100000).map((i) => 0.001 * i);
  const spent = epsilonFromRdp(orders, rdpSampledGaussian(1, 4.530877117, orders), 1e-6);
  assert.ok(Math.abs(spent.epsilon - 1) < 1e-7, `got ${spent.epsilon}`);
});

test('TF Privacy test_check_composition: 40000 steps (q=1e-4, z=0.4) + 100 steps (q=0.1, z=2)', () => {
  const orders = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
  const accountant = new RdpAccountant({ orders, conversion: 'classic' });
  accountant
    .step({ noiseMultiplier: 0.4, samplingRate: 1e-4 }, 40000)
    .step({ noiseMultiplier: 2, samplingRate: 0.1 }, 100);
  // With the classic conversion the test expected eps 8.509656 at order 2.5 (its commented-out
  // assertion); with the improved conversion it asserts only eps <= 8.509656.
  const classic = accountant.spent(1e-5);
  assertRelClose(classic.epsilon, 8.509656, 1e-6, 'classic epsilon');
  assert.equal(classic.bestOrder, 2.5);
  const improved = RdpAccountant.fromJSON({ ...accountant.toJSON(), conversion: 'improved' }).spent(1e-5);
  assert.ok(improved.epsilon <= 8.509656, `improved epsilon ${improved.epsilon}`);
});

// ---- TF Privacy compute_dp_sgd_privacy_test.py (computed by dp_accounting's RdpAccountant) ----

const TF_LIB_ORDERS = [1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5, ...range(5, 64), 128, 256, 512];

test('TF Privacy compute_dp_sgd_privacy_test.py test_compute_dp_sgd_privacy Test0..Test2', () => {
  for (const [n, batch, z, epochs, delta, published, order] of [
    [60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0],
    [100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0],
    [100000000, 1024, 0.1, 10, 1e-7, 5907982.3113984, 1.25],
  ]) {
    const query = {
      samplingRate: batch / n,
      noiseMultiplier: z,
      steps: Math.ceil((epochs * n) / batch),
      delta,
      orders: TF_LIB_ORDERS,
    };
    const spent = epsilon(query);
    assertRelClose(spent.epsilon, published, 1e-9, `n=${n}`);
    assert.equal(spent.bestOrder, order);
  }
});

test('TF Privacy compute_dp_sgd_privacy_test.py test_compute_dp_sgd_example_privacy (RDP cases)', () => {
  // 1.2 epochs, z = 0.7, delta = 1e-5; microbatching halves z; Poisson q = 0.01 gives ceil(1.2/0.01)
  // = 120 steps, no subsampling gives ceil(1.2) = 2 full-batch steps. dp_accounting default orders.
  const cases: [number, number, number, number][] = [
    [1, 0.7, 2, 10.8602036],
    [1, 0.35, 2, 26.2880374],
    [0.01, 0.7, 120, 3.2392676],
    [0.01, 0.35, 120, 22.6248601],
  ];
  for (const [q, z, steps, published] of cases) {
    const base = { samplingRate: q, noiseMultiplier: z, steps, delta: 1e-5 };
    // dp_accounting's own (absolute) series reproduces the published digits ...
    assertRelClose(
      epsilon({ ...base, fractionalSeries: 'absolute' }).epsilon,
      published,
      1e-7,
      `q=${q} z=${z}`,
    );
    // ... and the exact series is within 1% (at most 0.13% lower, when a fractional order wins).
    const exact = epsilon(base).epsilon;
    assertRelClose(exact, published, 0.01, `exact q=${q} z=${z}`);
    assert.ok(exact <= published * (1 + 1e-9));
  }
});

test('TF Privacy compute_dp_sgd_privacy_test.py privacy statement: Poisson epsilon 1.616', () => {
  // 10000 examples, batch 64, 5 epochs, z = 2.0 halved for microbatching, delta = 1e-6.
  const q = 64 / 10000;
  const spent = epsilon({ samplingRate: q, noiseMultiplier: 1.0, steps: Math.ceil(5 / q), delta: 1e-6 });
  assert.equal(spent.epsilon.toFixed(3), '1.616');
});

// ---- Published tutorial figures (classic conversion: they predate the 2020 conversion) ----

test('TF Privacy tutorials/README.md, MNIST DP-SGD (q = 256/60000, 234 steps/epoch, delta = 1e-5)', () => {
  // Printed with '%.2f' by mnist_dpsgd_tutorial.py (2019): epsilon after 1, 2 and 60 epochs at z=1.1,
  // and the "Select Parameters" table rows z=1.3 x 15 epochs and z=0.7 x 45 epochs.
  for (const [z, epochs, published] of [
    [1.1, 1, '1.03'],
    [1.1, 2, '1.11'],
    [1.1, 60, '3.01'],
    [1.3, 15, '1.19'],
    [0.7, 45, '7.10'],
  ] as const) {
    const spent = epsilon({
      samplingRate: 256 / 60000,
      noiseMultiplier: z,
      steps: epochs * Math.floor(60000 / 256),
      delta: 1e-5,
      orders: OPACUS_ORDERS, // the tutorial's list: 1.1..10.9 and 12..63, same as Opacus'
      conversion: 'classic',
    });
    assert.equal(spent.epsilon.toFixed(2), published, `z=${z}, ${epochs} epochs: ${spent.epsilon}`);
  }
});

test('Opacus examples/mnist_README.md (sample rate 0.004, 250 steps/epoch, delta = 1e-5)', () => {
  for (const [z, epochs, published, order] of [
    [1.3, 1, '0.71', 18],
    [1.3, 15, '1.16', 17],
    [0.7, 45, '6.86', null],
    [1.1, 60, '2.91', null],
  ] as const) {
    const spent = epsilon({
      samplingRate: 0.004,
      noiseMultiplier: z,
      steps: epochs * 250,
      delta: 1e-5,
      orders: OPACUS_ORDERS,
      conversion: 'classic',
    });
    assert.equal(spent.epsilon.toFixed(2), published, `z=${z}, ${epochs} epochs: ${spent.epsilon}`);
    if (order !== null) assert.equal(spent.bestOrder, order);
  }
});

// ---- dp_accounting rdp_privacy_accountant_test.py edge cases ----

test('dp_accounting test_zero_poisson_sample and test_epsilon_non_private_gaussian', () => {
  for (const z of [1, 0]) {
    const spent = epsilon({ samplingRate: 0, noiseMultiplier: z, steps: 1, delta: 1e-10, orders: [3.14159] });
    assert.equal(spent.epsilon, 0);
  }
  const open = epsilon({ samplingRate: 1, noiseMultiplier: 0, steps: 1, delta: 0.1, orders: [3.14159] });
  assert.deepEqual(open, { epsilon: Infinity, bestOrder: null });
});

// ---- Properties ----

test('epsilon grows with steps and with q, and falls with z', () => {
  const base = { samplingRate: 0.01, noiseMultiplier: 1.1, steps: 1000, delta: 1e-5 };
  let prev = 0;
  for (const steps of [1, 10, 100, 1000, 10000]) {
    const e = epsilon({ ...base, steps }).epsilon;
    assert.ok(e > prev, `steps=${steps}: ${e} <= ${prev}`);
    prev = e;
  }
  prev = 0;
  for (const samplingRate of [0.001, 0.004, 0.01, 0.05, 0.2]) {
    const e = epsilon({ ...base, samplingRate }).epsilon;
    assert.ok(e > prev, `q=${samplingRate}: ${e} <= ${prev}`);
    prev = e;
  }
  prev = Infinity;
  for (const noiseMultiplier of [0.6, 0.8, 1.1, 1.5, 3]) {
    const e = epsilon({ ...base, noiseMultiplier }).epsilon;
    assert.ok(e < prev, `z=${noiseMultiplier}: ${e} >= ${prev}`);
    prev = e;
  }
});

test('the improved conversion is never looser than the classic one', () => {
  for (const [q, z, steps] of [
    [0.01, 1.1, 1000],
    [0.1, 0.8, 50],
    [1, 5, 3],
  ]) {
    const query = { samplingRate: q, noiseMultiplier: z, steps, delta: 1e-5 };
    const improved = epsilon(query).epsilon;
    const classic = epsilon({ ...query, conversion: 'classic' }).epsilon;
    assert.ok(improved < classic, `q=${q}: improved ${improved} >= classic ${classic}`);
  }
});

test('noiseMultiplierFor inverts epsilon: the target is met, and barely', () => {
  for (const [samplingRate, steps, delta, targetEpsilon] of [
    [0.004, 15000, 1e-5, 1],
    [0.01, 1000, 1e-5, 3],
    [0.1, 100, 1e-6, 0.5],
    [1, 10, 1e-5, 8],
  ]) {
    const z = noiseMultiplierFor({ samplingRate, steps, delta, targetEpsilon });
    const at = epsilon({ samplingRate, noiseMultiplier: z, steps, delta }).epsilon;
    assert.ok(at <= targetEpsilon, `q=${samplingRate}: epsilon(${z}) = ${at} > ${targetEpsilon}`);
    assert.ok(
      at > targetEpsilon * 0.999,
      `q=${samplingRate}: epsilon(${z}) = ${at} is not close to ${targetEpsilon}`,
    );
    // Smallest: 1e-5 less noise (well beyond the 1e-6 tolerance) misses the target.
    const below = epsilon({ samplingRate, noiseMultiplier: z * (1 - 1e-5), steps, delta }).epsilon;
    assert.ok(below > targetEpsilon, `q=${samplingRate}: z=${z} is not the smallest`);
  }
  // No sampling or no steps: nothing to protect, no noise needed.
  assert.equal(noiseMultiplierFor({ samplingRate: 0, steps: 10, delta: 1e-5, targetEpsilon: 1 }), 0);
  assert.equal(noiseMultiplierFor({ samplingRate: 0.1, steps: 0, delta: 1e-5, targetEpsilon: 1 }), 0);
});

// ---- The accountant as the round engine uses it ----

test('RdpAccountant composes heterogeneous steps by adding RDP', () => {
  const orders = [1.5, 2, 3, 8, 32];
  const accountant = new RdpAccountant({ orders });
  assert.deepEqual(accountant.spent(1e-5), { epsilon: 0, bestOrder: 1.5 });
  accountant
    .step({ noiseMultiplier: 1.1, samplingRate: 0.01 }, 30)
    .step({ noiseMultiplier: 0.9, samplingRate: 0.02 })
    .step({ noiseMultiplier: 0.9, samplingRate: 0.02 }, 4)
    .step({ noiseMultiplier: 1.1, samplingRate: 0.01 }, 0);
  assert.equal(accountant.steps, 35);
  assert.deepEqual(accountant.history, [
    { noiseMultiplier: 1.1, samplingRate: 0.01, steps: 30 },
    { noiseMultiplier: 0.9, samplingRate: 0.02, steps: 5 },
  ]);
  const a = rdpSampledGaussian(0.01, 1.1, orders);
  const b = rdpSampledGaussian(0.02, 0.9, orders);
  const expected = orders.map((_, k) => 30 * a[k] + 5 * b[k]);
  accountant.rdp().forEach((r, k) => assertRelClose(r, expected[k], 1e-15, `order ${orders[k]}`));
  assert.deepEqual(accountant.spent(1e-5), epsilonFromRdp(orders, expected, 1e-5));
});

test('spentAfter previews a step without recording it', () => {
  const accountant = new RdpAccountant().step({ noiseMultiplier: 1, samplingRate: 0.05 }, 20);
  const before = accountant.spent(1e-5);
  const preview = accountant.spentAfter({ noiseMultiplier: 1, samplingRate: 0.05 }, 10, 1e-5);
  assert.deepEqual(accountant.spent(1e-5), before);
  assert.equal(accountant.steps, 20);
  assert.ok(preview.epsilon > before.epsilon);
  accountant.step({ noiseMultiplier: 1, samplingRate: 0.05 }, 10);
  assert.deepEqual(accountant.spent(1e-5), preview);
});

test('toJSON / fromJSON restore an accountant that answers bit for bit the same', () => {
  const accountant = new RdpAccountant({ conversion: 'classic' })
    .step({ noiseMultiplier: 1.2, samplingRate: 0.01 }, 100)
    .step({ noiseMultiplier: 0.8, samplingRate: 0.03 }, 7);
  const restored = RdpAccountant.fromJSON(JSON.parse(JSON.stringify(accountant)));
  assert.deepEqual(restored.toJSON(), accountant.toJSON());
  assert.deepEqual(restored.spent(1e-6), accountant.spent(1e-6));
  // ... and keeps accumulating where it left off, merging with the last entry as before.
  restored.step({ noiseMultiplier: 0.8, samplingRate: 0.03 }, 3);
  accountant.step({ noiseMultiplier: 0.8, samplingRate: 0.03 }, 3);
  assert.deepEqual(restored.spent(1e-6), accountant.spent(1e-6));
  assert.equal(restored.history.length, 2);
});

test('fromJSON refuses malformed state with a message naming the field', () => {
  const good = new RdpAccountant().step({ noiseMultiplier: 1, samplingRate: 0.1 }, 2).toJSON();
  assert.throws(() => RdpAccountant.fromJSON(null), /state must be an object; got null/);
  assert.throws(() => RdpAccountant.fromJSON({ ...good, version: 2 }), /version must be 1; got 2/);
  assert.throws(() => RdpAccountant.fromJSON({ ...good, orders: 'x' }), /state.orders must be an array/);
  assert.throws(() => RdpAccountant.fromJSON({ ...good, conversion: 'best' }), /state.conversion must be/);
  assert.throws(
    () => RdpAccountant.fromJSON({ ...good, history: [{ noiseMultiplier: 1, samplingRate: 2, steps: 1 }] }),
    /state\.history\[0\]\.samplingRate must be a number in \[0, 1\].*got 2/,
  );
  assert.throws(
    () =>
      RdpAccountant.fromJSON({ ...good, history: [{ noiseMultiplier: 1, samplingRate: 0.1, steps: 1.5 }] }),
    /state\.history\[0\]\.steps must be an integer >= 0; got 1.5/,
  );
});

test('bad arguments are refused with a message naming the argument', () => {
  const ok = { samplingRate: 0.01, noiseMultiplier: 1, steps: 10, delta: 1e-5 };
  assert.throws(
    () => epsilon({ ...ok, samplingRate: 1.01 }),
    /samplingRate must be a number in \[0, 1\].*got 1.01/,
  );
  assert.throws(
    () => epsilon({ ...ok, noiseMultiplier: -0.5 }),
    /noiseMultiplier must be a number >= 0.*got -0.5/,
  );
  assert.throws(() => epsilon({ ...ok, steps: 2.5 }), /steps must be an integer >= 0; got 2.5/);
  assert.throws(() => epsilon({ ...ok, steps: -1 }), /steps must be an integer >= 0; got -1/);
  assert.throws(() => epsilon({ ...ok, delta: 0 }), /delta must be a number in \(0, 1\).*got 0/);
  assert.throws(() => epsilon({ ...ok, delta: 1 }), /delta must be/);
  assert.throws(() => epsilon({ ...ok, orders: [0.5] }), /orders\[0\] must be an RDP order > 1; got 0.5/);
  assert.throws(
    () => epsilon({ ...ok, conversion: 'tight' as never }),
    /conversion must be 'improved' or 'classic'/,
  );
  assert.throws(
    () => noiseMultiplierFor({ samplingRate: 0.01, steps: 10, delta: 1e-5, targetEpsilon: 0 }),
    /targetEpsilon must be a finite number > 0; got 0/,
  );
  assert.throws(() => epsilonFromRdp([2, 3], [1], 1e-5), /one value per order: 2 orders, got 1/);
  const accountant = new RdpAccountant();
  assert.throws(
    () => accountant.step({ noiseMultiplier: 1, samplingRate: 0.1 }, -2),
    /count must be an integer/,
  );
  assert.throws(() => accountant.step({ noiseMultiplier: Infinity, samplingRate: 0.1 }), /must be finite/);
  assert.throws(() => accountant.spent(2), /delta must be a number in \(0, 1\)/);
  assert.throws(() => new RdpAccountant({ orders: [2, Infinity] }), /orders must be finite/);
});

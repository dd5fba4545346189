import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parallelSumBackend } from './parallel-sum.js';
import { plainSumBackend, WeightedSum } from 'edgefl/internal/tensor/weighted-sum';
import { FedAvg, UpdateRejected, Rng } from 'edgefl';

function randomVector(n: number, rng: Rng): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (rng.uniform() - 0.5) * 10 ** (rng.int(7) - 3);
  return x;
}

test('two-thread sums are bit-identical to one-thread sums, and refuse a NaN or Infinity in either half leaving the sum untouched', async () => {
  const rng = new Rng(11);
  const one: WeightedSum[] = [];
  const lengths = [1, 15, 16, 17, 1000, 100_003];
  for (const n of lengths) one.push(new WeightedSum(n));
  const parallel = await parallelSumBackend({ minLength: 1 });
  assert.ok(parallel, 'this Node has shared WebAssembly memories and SIMD');
  const { backend } = parallel;
  try {
    const two = lengths.map((n) => new WeightedSum(n, { backend }));
    two.forEach((s) => assert.equal(s.threads, 2));
    one.forEach((s) => assert.equal(s.threads, 1));
    // The back-end is what a sum is given, not a switch: sums made meanwhile without it use one thread.
    assert.equal(new WeightedSum(100).threads, 1);
    for (let k = 0; k < 6; k++)
      lengths.forEach((n, j) => {
        const x = randomVector(n, rng);
        const w = 1 + rng.int(100);
        assert.equal(one[j].add(x, w), -1);
        assert.equal(two[j].add(x, w), -1);
      });
    lengths.forEach((n, j) => assert.deepEqual(two[j].sumView(), one[j].sumView(), `length ${n}`));

    // A bad value in the main thread's half, in the helper's half, and an overflowing weight.
    const n = 100_003;
    const sum = two[lengths.indexOf(n)];
    const before = Float64Array.from(sum.sumView());
    for (const [index, value] of [
      [10, NaN],
      [n - 1, Infinity],
      [60_000, -Infinity],
    ] as const) {
      const x = randomVector(n, rng);
      x[index] = value;
      assert.equal(sum.add(x, 3), index);
    }
    assert.equal(
      sum.add(
        Float32Array.from({ length: n }, () => 3e38),
        1e300,
      ),
      n,
      'overflow',
    );
    assert.deepEqual(sum.sumView(), before, 'refused updates change nothing');
    assert.equal(sum.count, 6);

    // Through a strategy: FedAvg over two threads gives the one-thread model, and still refuses NaN.
    const global = randomVector(100_003, rng);
    const deltas = [0, 1, 2].map(() => randomVector(100_003, rng));
    const round = (strategy: FedAvg, sumBackend?: typeof backend) => {
      const agg = strategy.beginRound({ round: 1, global, rng: new Rng(1), sumBackend });
      deltas.forEach((delta, i) => agg.add({ clientId: `c${i}`, delta, numExamples: 10 + i }));
      const bad = randomVector(100_003, rng);
      bad[99_999] = NaN;
      assert.throws(() => agg.add({ clientId: 'bad', delta: bad, numExamples: 5 }), UpdateRejected);
      return agg.finish();
    };
    const viaTwo = round(new FedAvg(), backend);
    assert.deepEqual(round(new FedAvg()), viaTwo);
    await parallel.close();
    assert.equal(new WeightedSum(100_003, { backend }).threads, 1, 'after close, one thread again');
    assert.deepEqual(round(new FedAvg(), backend), viaTwo);
  } finally {
    await parallel.close();
  }
});

test('parallelSumBackend: only long vectors use the helper, and a bad minLength is refused', async () => {
  await assert.rejects(parallelSumBackend({ minLength: 0 }), /minLength must be a positive integer/);
  const parallel = await parallelSumBackend({ minLength: 1000 });
  assert.ok(parallel, 'this Node has shared WebAssembly memories and SIMD');
  const { backend } = parallel;
  try {
    assert.equal(new WeightedSum(999, { backend }).threads, 1);
    assert.equal(new WeightedSum(1000, { backend }).threads, 2);
    assert.equal(new WeightedSum(1000, { backend: plainSumBackend }).threads, 1);
    assert.equal(new WeightedSum(1000, { backend: plainSumBackend }).simd, false);
    // A sum whose helper is gone refuses to go on rather than add half of an update.
    const orphan = new WeightedSum(1000, { backend });
    assert.equal(orphan.add(new Float32Array(1000).fill(1), 1), -1);
    await parallel.close();
    assert.throws(() => orphan.add(new Float32Array(1000).fill(1), 1), /lost its helper thread/);
    assert.equal(orphan.sumView()[999], 1, 'what was added before is intact');
  } finally {
    await parallel.close();
  }
});

test('two parallel back-ends run side by side, each with its own helper', async () => {
  const [a, b] = await Promise.all([
    parallelSumBackend({ minLength: 1 }),
    parallelSumBackend({ minLength: 1 }),
  ]);
  assert.ok(a && b);
  try {
    const rng = new Rng(5);
    const x = randomVector(50_001, rng);
    const sa = new WeightedSum(x.length, { backend: a.backend });
    const sb = new WeightedSum(x.length, { backend: b.backend });
    assert.equal(sa.add(x, 3), -1);
    assert.equal(sb.add(x, 3), -1);
    await a.close();
    // Closing one leaves the other working.
    assert.throws(() => sa.add(x, 1), /lost its helper thread/);
    assert.equal(sb.add(x, 4), -1);
    const one = new WeightedSum(x.length);
    one.add(x, 3);
    one.add(x, 4);
    assert.deepEqual(sb.sumView(), one.sumView());
  } finally {
    await Promise.all([a?.close(), b?.close()]);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constantSparsity, polynomialDecay } from './schedule.js';
import { GradualPruner } from './gradual.js';
import { ParameterSet } from '../tensor/parameters.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('polynomial decay (power 3): closed-form values at known steps', () => {
  const s = polynomialDecay({ finalSparsity: 0.8, endStep: 100 });
  close(s.sparsityAt(0), 0);
  close(s.sparsityAt(25), 0.8 * (1 - 0.75 ** 3)); // 0.4625
  close(s.sparsityAt(50), 0.7); // 0.8 − 0.8 · 0.5³
  close(s.sparsityAt(100), 0.8);
  close(s.sparsityAt(1000), 0.8);
  const t = polynomialDecay({
    initialSparsity: 0.5,
    finalSparsity: 0.9,
    beginStep: 10,
    endStep: 30,
    power: 2,
  });
  close(t.sparsityAt(0), 0.5);
  close(t.sparsityAt(20), 0.9 - 0.4 * 0.25);
  close(t.sparsityAt(30), 0.9);
});

test('the mask is recomputed every `frequency` steps from beginStep to endStep inclusive', () => {
  const s = polynomialDecay({ finalSparsity: 0.5, beginStep: 10, endStep: 35, frequency: 10 });
  const steps = Array.from({ length: 50 }, (_, i) => i).filter((i) => s.prunesAt(i));
  assert.deepEqual(steps, [10, 20, 30]);
  assert.equal(s.nextPruningStep(0), 10);
  assert.equal(s.nextPruningStep(10), 20);
  assert.equal(s.nextPruningStep(29), 30);
  assert.equal(s.nextPruningStep(30), undefined);
  const c = constantSparsity({ sparsity: 0.3, endStep: 4, frequency: 2 });
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].filter((i) => c.prunesAt(i)),
    [0, 2, 4],
  );
  assert.throws(
    () => polynomialDecay({ finalSparsity: 0.5, beginStep: 5, endStep: 5 }),
    /endStep \(5\) must come after beginStep \(5\)/,
  );
  assert.throws(() => polynomialDecay({ finalSparsity: 0.5, endStep: 5, frequency: 0 }), /frequency/);
  assert.throws(
    () => polynomialDecay({ finalSparsity: -0.1, endStep: 5 }),
    /finalSparsity must be a fraction/,
  );
});

test('a gradual pruner follows the schedule, keeps its mask between updates and ends exact', () => {
  const layout = ParameterSet.layout([
    { name: 'dense_0.weight', shape: [10, 10] },
    { name: 'dense_0.bias', shape: [10] },
  ]);
  const pruner = new GradualPruner(
    layout,
    polynomialDecay({ finalSparsity: 0.9, endStep: 40, frequency: 20 }),
  );
  const values = Float32Array.from({ length: 110 }, (_, i) => i + 1);
  const zeros = () => values.subarray(0, 100).filter((v) => v === 0).length;
  pruner.step(0, values);
  assert.equal(zeros(), 0);
  pruner.step(20, values);
  assert.equal(zeros(), Math.round(100 * (0.9 - 0.9 * 0.5 ** 3))); // 79
  // Between updates the mask stays: weights that moved ("regrew") are zeroed again.
  values.fill(5, 0, 100);
  pruner.step(25, values);
  assert.equal(zeros(), 79);
  assert.deepEqual([...values.subarray(79, 82)], [5, 5, 5]);
  // At step 40 the 79 pruned before are pruned again, and 11 more.
  pruner.step(40, values);
  assert.equal(zeros(), 90);
  assert.deepEqual([...values.subarray(0, 79)], new Array(79).fill(0));
  assert.deepEqual(
    [...values.subarray(100)],
    Array.from({ length: 10 }, (_, i) => 101 + i),
  );
  // finish: the final sparsity, from wherever training stopped.
  const early = new GradualPruner(
    layout,
    polynomialDecay({ finalSparsity: 0.9, endStep: 40, frequency: 20 }),
  );
  const v = Float32Array.from({ length: 110 }, (_, i) => i + 1);
  early.step(0, v);
  early.finish(v);
  assert.equal(v.subarray(0, 100).filter((x) => x === 0).length, 90);
});

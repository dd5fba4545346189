import { test } from 'node:test';
import assert from 'node:assert/strict';
import { magnitudeMasks, prunedCount, applyMask, zeroFraction } from './magnitude.js';
import { ParameterMask } from './parameter-mask.js';
import { ParameterSet } from '../tensor/parameters.js';
import { isPrunableWeight } from './prunable.js';
import { Rng } from '../util/rng.js';

const t = (name: string, values: number[]) => ({ name, values: Float32Array.from(values) });
const zerosOf = (mask: Uint8Array) => [...mask].map((m, i) => (m === 0 ? i : -1)).filter((i) => i >= 0);

test('per layer: the smallest magnitudes go, whatever their sign, exactly round(s·n) of them', () => {
  const [m] = magnitudeMasks([t('w', [0.5, -0.1, 3, -2, 0.2, 1, -0.05, 4, 0.3, -0.7])], 0.3);
  assert.deepEqual(zerosOf(m), [1, 4, 6]); // |−0.1|, 0.2, |−0.05|
  assert.equal(prunedCount(7, 0.5), 4); // round(3.5)
  assert.equal(zerosOf(magnitudeMasks([t('w', [1, 2, 3, 4, 5, 6, 7])], 0.5)[0]).length, 4);
  assert.deepEqual(zerosOf(magnitudeMasks([t('w', [1, 2, 3])], 0)[0]), []);
  assert.deepEqual(zerosOf(magnitudeMasks([t('w', [1, 2, 3])], 1)[0]), [0, 1, 2]);
});

test('ties at the threshold are pruned in index order, so the count is exact', () => {
  const [m] = magnitudeMasks([t('w', [1, -1, 1, 1, -1])], 0.4);
  assert.deepEqual(zerosOf(m), [0, 1]);
  // Ties across tensors in global scope: in the order the tensors are given.
  const g = magnitudeMasks([t('a', [2, 1]), t('b', [1, 1, 3])], 0.6);
  assert.deepEqual(g.map(zerosOf), [[1], [0, 1]]);
});

test('global scope: one threshold over all tensors; layer scope: the same fraction of each', () => {
  const tensors = [t('small', [0.1, 0.2]), t('large', [10, 20, 30, 40])];
  assert.deepEqual(magnitudeMasks(tensors, 0.5, { scope: 'global' }).map(zerosOf), [[0, 1], [0]]);
  assert.deepEqual(magnitudeMasks(tensors, 0.5, { scope: 'layer' }).map(zerosOf), [[0], [0, 1]]);
});

test('what a previous mask pruned is pruned first, even after it regrew', () => {
  const previous = [Uint8Array.from([1, 0, 1, 1])];
  const [m] = magnitudeMasks([t('w', [0.1, 9, 0.3, 0.4])], 0.5, { previous });
  assert.deepEqual(zerosOf(m), [0, 1]);
});

test('NaN weights are refused, naming the tensor and index', () => {
  assert.throws(() => magnitudeMasks([t('dense_1.weight', [1, NaN])], 0.5), /'dense_1.weight'\[1\] is NaN/);
  assert.throws(() => magnitudeMasks([t('w', [1])], 1.5), /sparsity must be a fraction in \[0, 1\], got 1.5/);
});

test('random tensors: the count is round(s·n) and every pruned weight is no larger than any kept one', () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 40; trial++) {
    const n = 1 + rng.int(300);
    // Few distinct values, so that ties are common.
    const values = Array.from({ length: n }, () => (rng.int(9) - 4) / 2);
    const s = rng.uniform();
    const [m] = magnitudeMasks([t('w', values)], s);
    const pruned = values.filter((_, i) => m[i] === 0).map(Math.abs);
    const kept = values.filter((_, i) => m[i] === 1).map(Math.abs);
    assert.equal(pruned.length, Math.round(s * n));
    if (pruned.length && kept.length) assert.ok(Math.max(...pruned) <= Math.min(...kept));
    const masked = Float32Array.from(values);
    applyMask(masked, m);
    assert.ok(zeroFraction(masked) >= pruned.length / n);
  }
});

test('a ParameterMask prunes dense and conv weights, never biases or norm scales', () => {
  const layout = ParameterSet.layout([
    { name: 'conv2d_0.weight', shape: [2, 1, 2, 2] },
    { name: 'conv2d_0.bias', shape: [2] },
    { name: 'layerNorm_1.weight', shape: [4] },
    { name: 'dense_2.weight', shape: [2, 4] },
    { name: 'dense_2.bias', shape: [2] },
    { name: 'embedding_3.weight', shape: [5, 4] },
  ]);
  assert.deepEqual(
    layout.filter(isPrunableWeight).map((e) => e.name),
    ['conv2d_0.weight', 'dense_2.weight'],
  );
  const p = new ParameterSet(layout);
  const rng = new Rng(2);
  for (let i = 0; i < p.size; i++) p.values[i] = 0.5 + rng.uniform();
  const before = p.values.slice();
  const mask = ParameterMask.of(p.values, layout, 0.75);
  mask.apply(p.values);
  assert.deepEqual(
    mask.layers().map((l) => [l.name, l.pruned]),
    [
      ['conv2d_0.weight', 6],
      ['dense_2.weight', 6],
    ],
  );
  for (const name of ['conv2d_0.bias', 'layerNorm_1.weight', 'dense_2.bias', 'embedding_3.weight']) {
    const e = p.entry(name);
    assert.deepEqual(p.view(name), before.subarray(e.offset, e.offset + e.size), name);
  }
  assert.equal(mask.overall(), 12 / 16);
});

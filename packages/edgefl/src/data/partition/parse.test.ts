import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { dirichlet } from './dirichlet.js';
import { iid } from './iid.js';
import { parsePartition } from './parse.js';
import { quantitySkew } from './quantity-skew.js';
import { shards } from './shards.js';

const labels = new Int32Array(1200).map((_, i) => i % 6);
const input = { length: labels.length, labels };

test('parsePartition: each form runs its partitioner with the given parameter', () => {
  assert.deepEqual(parsePartition('iid')(input, 4, new Rng(1)), iid(1200, 4, new Rng(1)));
  assert.deepEqual(parsePartition('shards:2')(input, 6, new Rng(1)), shards(labels, 6, 2, new Rng(1)));
  assert.deepEqual(
    parsePartition(' dirichlet:0.3 ')(input, 5, new Rng(1)),
    dirichlet(labels, 5, 0.3, new Rng(1)),
  );
  assert.deepEqual(
    parsePartition('quantity:0.5')(input, 5, new Rng(1)),
    quantitySkew(1200, 5, { alpha: 0.5 }, new Rng(1)),
  );
  assert.deepEqual(
    parsePartition('lognormal:1.5')(input, 5, new Rng(1)),
    quantitySkew(1200, 5, { sigma: 1.5 }, new Rng(1)),
  );
  const groups = new Map([
    ['a', [0, 1]],
    ['b', [2]],
  ]);
  assert.deepEqual(parsePartition('natural')({ length: 3, groups }, undefined, new Rng(1)), [
    new Uint32Array([0, 1]),
    new Uint32Array([2]),
  ]);
});

test('parsePartition: the parsed function says what data it needs and its normalized spec', () => {
  assert.deepEqual(
    ['iid', 'shards:2', 'dirichlet:.30', 'quantity:1', 'lognormal:2', 'natural'].map((s) => {
      const p = parsePartition(s);
      return [p.spec, p.needs];
    }),
    [
      ['iid', 'nothing'],
      ['shards:2', 'labels'],
      ['dirichlet:0.3', 'labels'],
      ['quantity:1', 'nothing'],
      ['lognormal:2', 'nothing'],
      ['natural', 'groups'],
    ],
  );
});

test('parsePartition: clear errors for malformed specs and missing data', () => {
  const forms = /expected iid, shards:S/;
  assert.throws(() => parsePartition('dirchlet:0.3'), /unknown scheme 'dirchlet'/);
  assert.throws(() => parsePartition('dirichlet'), /dirichlet needs a concentration alpha/);
  assert.throws(() => parsePartition('dirichlet:abc'), /must be a number > 0, got 'abc'/);
  assert.throws(() => parsePartition('dirichlet:-1'), forms);
  assert.throws(() => parsePartition('shards:1.5'), /shards per client must be an integer, got '1.5'/);
  assert.throws(() => parsePartition('iid:3'), /iid takes no parameter/);
  assert.throws(() => parsePartition(''), /'': empty/);
  assert.throws(
    () => parsePartition('shards:2')({ length: 10 }, 2, new Rng(1)),
    /shards:2 needs class labels/,
  );
  assert.throws(
    () => parsePartition('iid')({ length: 10 }, undefined, new Rng(1)),
    /needs a number of clients/,
  );
  assert.throws(() => parsePartition('natural')({ length: 10 }, undefined, new Rng(1)), /needs groups/);
  assert.throws(
    () => parsePartition('natural')({ length: 3, groups: new Map([['a', [0]]]) }, 5, new Rng(1)),
    /one client per group \(1 groups\), not 5 clients/,
  );
});

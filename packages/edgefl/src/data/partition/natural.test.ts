import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupByKey, natural } from './natural.js';

test('natural: one client per key, in the map order, indices sorted', () => {
  const groups = new Map([
    ['Lincoln', new Uint32Array([5, 2, 3])],
    ['Grant', new Uint32Array([0, 1])],
    ['Hayes', new Uint32Array([4])],
  ]);
  assert.deepEqual(natural(groups, 6), [
    new Uint32Array([2, 3, 5]),
    new Uint32Array([0, 1]),
    new Uint32Array([4]),
  ]);
});

test('natural with a key function groups by first appearance', () => {
  const speakers = ['b', 'a', 'b', 'c', 'a'];
  assert.deepEqual([...groupByKey(5, (i) => speakers[i]).keys()], ['b', 'a', 'c']);
  assert.deepEqual(
    natural((i) => speakers[i], 5),
    [new Uint32Array([0, 2]), new Uint32Array([1, 4]), new Uint32Array([3])],
  );
});

test('natural refuses duplicates, out-of-range indices, empty groups', () => {
  assert.throws(
    () =>
      natural(
        new Map([
          ['a', [0, 1]],
          ['b', [1]],
        ]),
      ),
    /sample 1 is in both 'a' and 'b'/,
  );
  assert.throws(() => natural(new Map([['a', [0, 7]]]), 5), /group 'a' lists sample 7, outside \[0, 5\)/);
  assert.throws(() => natural(new Map([['a', [0.5]]])), /lists sample 0.5/);
  assert.throws(() => natural(new Map([['a', []]])), /group 'a' is empty/);
  assert.throws(() => natural(new Map()), /no groups/);
  assert.throws(() => natural(() => 'x'), /a key function needs n/);
});

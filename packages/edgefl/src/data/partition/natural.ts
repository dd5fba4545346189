/**
 * The natural split: one client per key that the data already carries — a speaker, a writer, a
 * device, a hospital (Flower's NaturalIdPartitioner; LEAF's per-user splits, Caldas et al. 2018).
 * This is the most realistic non-IID split when the data has such keys: each client's distribution
 * is that of a real person or site.
 *
 * Clients come in the order of the map's keys, or of first appearance for a key function; the keys
 * of the parts are `[...groups.keys()]` (or those of `groupByKey`). Samples that no group lists
 * belong to no client; a sample listed twice, an index out of range, or an empty group is an error.
 */
import { checkCount } from './check.js';

/** Groups sample indices 0..n-1 by key, keys in order of first appearance. */
export function groupByKey(n: number, keyOf: (index: number) => string): Map<string, Uint32Array> {
  checkCount('groupByKey', 'n', n, 0);
  const lists = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key = keyOf(i);
    if (typeof key !== 'string')
      throw new TypeError(`groupByKey: key of sample ${i} is ${typeof key}, not a string`);
    let list = lists.get(key);
    if (!list) lists.set(key, (list = []));
    list.push(i);
  }
  return new Map([...lists].map(([key, list]) => [key, Uint32Array.from(list)]));
}

/**
 * One index list per key. `n`, when given (required with a key function), is the dataset size that
 * indices must stay below.
 */
export function natural(
  groups: ReadonlyMap<string, ArrayLike<number>> | ((index: number) => string),
  n?: number,
): Uint32Array[] {
  if (typeof groups === 'function') {
    if (n === undefined) throw new TypeError('natural: a key function needs n, the number of samples');
    groups = groupByKey(n, groups);
  }
  if (n !== undefined) checkCount('natural', 'n', n, 0);
  if (groups.size === 0) throw new RangeError('natural: no groups, so no clients');
  const keys = [...groups.keys()];
  const lists = [...groups.values()];
  const limit = n ?? 2 ** 32;
  let max = -1;
  lists.forEach((indices, g) => {
    if (indices.length === 0) throw new RangeError(`natural: group '${keys[g]}' is empty`);
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      if (!Number.isInteger(j) || j < 0 || j >= limit)
        throw new RangeError(`natural: group '${keys[g]}' lists sample ${j}, outside [0, ${limit})`);
      if (j > max) max = j;
    }
  });
  // owner[j] = 1 + the group that lists sample j, to find duplicates in one pass.
  const owner = new Int32Array(max + 1);
  return lists.map((indices, g) => {
    const part = Uint32Array.from(indices);
    for (const j of part) {
      if (owner[j] !== 0)
        throw new RangeError(`natural: sample ${j} is in both '${keys[owner[j] - 1]}' and '${keys[g]}'`);
      owner[j] = g + 1;
    }
    return part.sort();
  });
}

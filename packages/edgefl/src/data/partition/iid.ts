/**
 * The IID split: a random permutation of the samples cut into numClients consecutive slices whose
 * sizes differ by at most one (the first n mod numClients clients get the extra sample).
 * Every sample goes to exactly one client.
 */
import type { Rng } from '../../util/rng.js';
import { checkCount } from './check.js';
import { cutIntoParts } from './cut.js';

export function iid(n: number, numClients: number, rng: Rng): Uint32Array[] {
  checkCount('iid', 'n', n, 0);
  checkCount('iid', 'numClients', numClients, 1);
  if (n < numClients)
    throw new RangeError(`iid: ${n} samples cannot give each of ${numClients} clients at least one`);
  const sizes = new Array<number>(numClients);
  const base = Math.floor(n / numClients);
  for (let c = 0; c < numClients; c++) sizes[c] = base + (c < n % numClients ? 1 : 0);
  return cutIntoParts(rng.permutation(n), sizes);
}

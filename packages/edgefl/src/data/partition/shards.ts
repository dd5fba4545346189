/**
 * The pathological non-IID split of McMahan et al., "Communication-Efficient Learning of Deep
 * Networks from Decentralized Data" (AISTATS 2017), §3: sort the samples by label, cut them into
 * numClients × shardsPerClient shards of equal size, and give each client shardsPerClient shards
 * chosen at random. On MNIST with 100 clients and 2 shards each: 200 shards of 300 samples, and most
 * clients see only two digits.
 *
 * Within a label, samples are shuffled before sorting (a stable sort by label of a random
 * permutation), so a shard is a random subset of its class even when the dataset is stored in some
 * meaningful order (by writer, by date).
 *
 * Drops leftovers: with n samples and S shards, each shard holds floor(n / S) samples and the last
 * n mod S samples of the label-sorted order (from the largest labels) belong to no client — as in
 * the paper, where 60,000 = 200 × 300 drops none. Shards cross label boundaries when class sizes are
 * not multiples of the shard size, so a client can then see more than shardsPerClient labels.
 */
import type { Rng } from '../../util/rng.js';
import { sortByLabel } from './by-label.js';
import { checkCount, checkLabels } from './check.js';

export function shards(
  labels: Int32Array,
  numClients: number,
  shardsPerClient: number,
  rng: Rng,
): Uint32Array[] {
  const numClasses = checkLabels('shards', labels);
  checkCount('shards', 'numClients', numClients, 1);
  checkCount('shards', 'shardsPerClient', shardsPerClient, 1);
  const n = labels.length;
  const numShards = numClients * shardsPerClient;
  const shardSize = Math.floor(n / numShards);
  if (shardSize < 1)
    throw new RangeError(
      `shards: ${n} samples cannot fill ${numClients} clients × ${shardsPerClient} shards (${numShards} shards of at least 1)`,
    );

  const { sorted } = sortByLabel(rng.permutation(n), labels, numClasses);
  const shardOrder = rng.permutation(numShards);
  const parts: Uint32Array[] = [];
  for (let c = 0; c < numClients; c++) {
    const part = new Uint32Array(shardsPerClient * shardSize);
    for (let s = 0; s < shardsPerClient; s++) {
      const shard = shardOrder[c * shardsPerClient + s];
      part.set(sorted.subarray(shard * shardSize, (shard + 1) * shardSize), s * shardSize);
    }
    parts.push(part.sort());
  }
  return parts;
}

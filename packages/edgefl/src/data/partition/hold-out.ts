/**
 * Each client's own test split, for federated evaluation: a seeded random share of every client's
 * samples is set aside and never trained on. Per client, so that a client's test data follows its
 * own (perhaps skewed) distribution — what its users would meet — and not the pooled one.
 */
import type { Rng } from '../../util/rng.js';

export interface ClientSplits {
  train: Uint32Array[];
  test: Uint32Array[];
}

/**
 * Splits every client's indices: floor(fraction·n) to test, but at least one when the client has
 * two samples or more, and never all of them. A client with a single sample keeps it for training
 * and has no test data. Both halves stay in the client's original order.
 */
export function holdOutPerClient(parts: readonly Uint32Array[], fraction: number, rng: Rng): ClientSplits {
  if (!(fraction > 0 && fraction < 1))
    throw new RangeError(`hold-out fraction must be in (0, 1), got ${fraction}`);
  const train: Uint32Array[] = [];
  const test: Uint32Array[] = [];
  for (const part of parts) {
    const n = part.length;
    const k = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.floor(fraction * n)));
    // The first k positions of a random permutation go to test.
    const isTest = new Uint8Array(n);
    const order = rng.permutation(n);
    for (let i = 0; i < k; i++) isTest[order[i]] = 1;
    const tr = new Uint32Array(n - k);
    const te = new Uint32Array(k);
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      if (isTest[i]) te[b++] = part[i];
      else tr[a++] = part[i];
    }
    train.push(tr);
    test.push(te);
  }
  return { train, test };
}

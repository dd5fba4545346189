/**
 * The SecAgg+ communication graph (Bell et al. 2020): each client masks with and shares its secrets
 * among only k neighbours instead of all n - 1 others, so a client's cost grows with k ~ O(log n).
 *
 * Construction: a Harary graph H(k, n) — clients on a circle, each joined to the floor(k/2) nearest on
 * either side, plus the diametrically opposite one when k is odd — over a uniformly random ordering of
 * the clients. H(k, n) is exactly k-regular and k-connected; the random ordering places clients at
 * random as in the random graphs Bell et al. analyse, so a set of dropouts is unlikely to cut the
 * survivors apart. The ordering is derived from the public round id with a cryptographic PRG, so every
 * party computes the same graph and nobody can steer it without choosing the round id. k = n - 1 is
 * the complete graph: classic SecAgg.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { deriveKey } from './kdf.js';

export class NeighbourGraph {
  /** position[i] is where client index i sits on the circle. */
  private readonly position: Uint32Array;
  /** atPosition[p] is the client index sitting at position p. */
  private readonly atPosition: Uint32Array;
  private readonly half: number;
  private readonly oddDegree: boolean;

  constructor(
    readonly size: number,
    readonly degree: number,
    roundId: Uint8Array,
  ) {
    if (!Number.isInteger(size) || size < 2)
      throw new RangeError(`neighbour graph: need at least 2 clients, got ${size}`);
    if (!Number.isInteger(degree) || degree < 1 || degree > size - 1) {
      throw new RangeError(
        `neighbour graph: neighbours must be an integer in [1, ${size - 1}], got ${degree}`,
      );
    }
    if ((degree * size) % 2 !== 0) {
      throw new RangeError(
        `neighbour graph: ${size} clients with ${degree} neighbours each is impossible (n * k must be even); ` +
          `use ${degree + 1} or ${degree - 1} neighbours`,
      );
    }
    this.half = Math.floor(degree / 2);
    this.oddDegree = degree % 2 === 1;
    this.atPosition = shuffledIndices(size, deriveKey('neighbour-graph', roundId, roundId));
    this.position = new Uint32Array(size);
    for (let p = 0; p < size; p++) this.position[this.atPosition[p]] = p;
  }

  areNeighbours(i: number, j: number): boolean {
    if (i === j) return false;
    const d = Math.abs(this.position[i] - this.position[j]);
    const circular = Math.min(d, this.size - d);
    return circular <= this.half || (this.oddDegree && circular === this.size / 2);
  }

  /** Indices of client i's neighbours, ascending. */
  neighboursOf(i: number): number[] {
    const p = this.position[i];
    const n = this.size;
    const out = new Set<number>();
    for (let d = 1; d <= this.half; d++) {
      out.add(this.atPosition[(p + d) % n]);
      out.add(this.atPosition[(p - d + n) % n]);
    }
    if (this.oddDegree) out.add(this.atPosition[(p + n / 2) % n]);
    return [...out].sort((a, b) => a - b);
  }
}

/** Fisher–Yates over 0..n-1 driven by a ChaCha20 keystream, with rejection sampling (no modulo bias). */
function shuffledIndices(n: number, key: Uint8Array): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let pool = new Uint32Array(0);
  let used = 0;
  let counter = 0;
  const nextWord = (): number => {
    if (used === pool.length) {
      const bytes = chacha20(key, new Uint8Array(12), new Uint8Array(4096), undefined, counter);
      counter += 4096 / 64;
      pool = new Uint32Array(bytes.buffer, bytes.byteOffset, 1024);
      used = 0;
    }
    return pool[used++];
  };
  for (let i = n - 1; i > 0; i--) {
    const bound = i + 1;
    const limit = 2 ** 32 - (2 ** 32 % bound);
    let r = nextWord();
    while (r >= limit) r = nextWord();
    const j = r % bound;
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Smallest strict majority of the k + 1 shares of a client's secrets (k neighbours and itself). */
export function majorityThreshold(neighbours: number): number {
  return Math.floor((neighbours + 1) / 2) + 1;
}

/** P[Binomial(trials, p) < threshold], summed in log space so large k stays accurate. */
export function binomialBelow(trials: number, p: number, threshold: number): number {
  if (threshold <= 0) return 0;
  if (threshold > trials) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  let logChoose = 0; // log C(trials, j)
  let total = 0;
  for (let j = 0; j < threshold; j++) {
    if (j > 0) logChoose += Math.log((trials - j + 1) / j);
    total += Math.exp(logChoose + j * Math.log(p) + (trials - j) * Math.log1p(-p));
  }
  return Math.min(1, total);
}

export interface NeighbourhoodPlan {
  readonly neighbours: number;
  readonly threshold: number;
  /** Union bound on the chance that some client's secret cannot be rebuilt at the planned dropout rate. */
  readonly failureBound: number;
}

export interface PlanOptions {
  /** Fraction of clients expected to drop after sharing their keys (0 <= rate < 0.5). Default 0.1. */
  readonly dropoutRate?: number;
  /** Acceptable chance that the round aborts for lack of shares. Default 1e-6. */
  readonly failureProbability?: number;
}

/**
 * Choose k (neighbours) and t (threshold) for n clients: the smallest k >= ceil(log2 n), with t the
 * strict majority of k + 1, such that a union bound on "some client's secret cannot be rebuilt" (each
 * neighbour surviving independently with probability 1 - dropoutRate) is below `failureProbability`,
 * falling back to
 * k = n - 1 (classic SecAgg) when no smaller k reaches it. The majority threshold is what lets honest
 * clients' "one kind of share per client" rule protect them even from a server that asks different
 * clients for different kinds.
 */
export function planNeighbourhood(clients: number, options: PlanOptions = {}): NeighbourhoodPlan {
  const dropoutRate = options.dropoutRate ?? 0.1;
  const failureProbability = options.failureProbability ?? 1e-6;
  if (!Number.isInteger(clients) || clients < 2)
    throw new RangeError(`plan: need at least 2 clients, got ${clients}`);
  if (!(dropoutRate >= 0 && dropoutRate < 0.5))
    throw new RangeError(`plan: dropoutRate must be in [0, 0.5), got ${dropoutRate}`);
  if (!(failureProbability > 0 && failureProbability < 1)) {
    throw new RangeError(`plan: failureProbability must be in (0, 1), got ${failureProbability}`);
  }
  const bound = (k: number) => {
    const t = majorityThreshold(k);
    // A dropped client's key needs t shares among its surviving neighbours; a survivor's self-mask
    // seed needs t - 1 of them besides its own share.
    const perClient =
      dropoutRate * binomialBelow(k, 1 - dropoutRate, t) +
      (1 - dropoutRate) * binomialBelow(k, 1 - dropoutRate, t - 1);
    return { neighbours: k, threshold: t, failureBound: Math.min(1, clients * perClient) };
  };
  const start = Math.min(clients - 1, Math.max(2, Math.ceil(Math.log2(clients))));
  for (let k = start; k < clients - 1; k++) {
    if ((k * clients) % 2 !== 0) continue;
    const plan = bound(k);
    if (plan.failureBound <= failureProbability) return plan;
  }
  return bound(clients - 1);
}

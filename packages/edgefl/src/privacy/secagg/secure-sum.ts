/**
 * One secure sum of non-negative integer vectors (counts) across clients: the server learns the total
 * over the clients that finished, and nothing about any one client's vector. It is one round of the
 * same protocol the training rounds use (runSecAggInProcess: every message through the binary codec,
 * dropouts recovered), with the fixed-point encoding chosen so that integers travel exactly:
 *
 * - The quantizer maps [-r, r] onto L = 2^bits levels with step 2r / (L - 1). With r = (L - 1) / 2 the
 *   step is exactly 1, and the levels are the half-integers -r, -r + 1, ..., r. A client sends its count
 *   c (an integer in [0, L - 1]) as c - r, which lands on level c: the ring then adds the counts
 *   themselves, modulo 2^32, and no sum wraps since n (L - 1) < 2^32 (the protocol checks it).
 * - The server's result is decoded to float32 as (sum of levels) - m r for m survivors: a multiple of 1/2
 *   in [-m r, m r]. Float32 holds every such number exactly while m (L - 1) <= 2^24, and so do the
 *   client's c - r (|c - r| < 2^23). The count total is then that value + m r, computed in float64.
 *
 * So `maxValue` (the largest count any client may send) and the number of clients n must satisfy
 * n * (2^bits - 1) <= 2^24 for the smallest bits with 2^bits - 1 >= maxValue: about 16.7 million over
 * all clients, e.g. 390,000 per client for 43 clients, 16,383 for 1,000. Larger counts are refused
 * rather than rounded: callers cap their counts (which bounding a client's contribution does anyway).
 */
import { portableSecAggCrypto, type SecAggCrypto } from './crypto-suite.js';
import { SecAggError } from './errors.js';
import {
  runSecAggInProcessSync,
  type DropoutSchedule,
  type InProcessOptions,
  type InProcessReport,
} from './in-process.js';

/** The largest n * (L - 1) for which the float32 decoding is exact (see above). */
export const EXACT_SUM_LIMIT = 2 ** 24;

export interface SecureSumOptions {
  /** The largest value any client may put in any coordinate; every value must be an integer in [0, maxValue]. */
  readonly maxValue: number;
  /** Client ids, one per vector (default 0..n-1). */
  readonly clientIds?: readonly number[];
  /** Default: the portable (pure JS) suite; a platform's `secaggCrypto` is much faster. */
  readonly crypto?: SecAggCrypto;
  /** Neighbours per client (default: the protocol's plan for n clients). */
  readonly neighbours?: number;
  readonly threshold?: number;
  /** Public seed of the round id (fixes the neighbour graph, not the secrets). Default: random. */
  readonly seed?: number;
  /** Clients that stop responding, by protocol stage (for tests and simulations of dropouts). */
  readonly dropouts?: DropoutSchedule;
}

export interface SecureSumResult {
  /** The exact sum, coordinate by coordinate, of the survivors' vectors. */
  readonly sum: Float64Array;
  /** Clients whose vectors are in the sum, ascending. */
  readonly survivors: readonly number[];
  /** Clients that dropped after sharing keys and whose masks the server removed with the others' help. */
  readonly recoveredDropouts: readonly number[];
  /** The protocol round's own report: timings, bytes sent per client, parameters. */
  readonly report: InProcessReport;
}

/** The fewest quantization bits whose top level 2^bits - 1 reaches maxValue. */
function bitsFor(maxValue: number): number {
  return Math.max(1, Math.ceil(Math.log2(maxValue + 1)));
}

/** Checks that `n` clients can send values up to `maxValue` through an exact sum; returns the bits. */
export function secureSumBits(maxValue: number, n: number): number {
  if (!Number.isInteger(maxValue) || maxValue < 1)
    throw new SecAggError('invalid-params', 'setup', `maxValue must be an integer >= 1, got ${maxValue}`);
  const bits = bitsFor(maxValue);
  const top = 2 ** bits - 1;
  if (n * top > EXACT_SUM_LIMIT)
    throw new SecAggError(
      'invalid-params',
      'setup',
      `${n} clients with values up to ${maxValue} (${bits} bits, top level ${top}) exceed the exact range: ` +
        `clients x (2^bits - 1) must be at most 2^24 = ${EXACT_SUM_LIMIT}; cap each value at ` +
        `${2 ** Math.floor(Math.log2(EXACT_SUM_LIMIT / n + 1)) - 1} or fewer`,
    );
  return bits;
}

/**
 * The sum of `vectors` (one per client, all the same length, integers in [0, maxValue]) through one
 * secure-aggregation round; with dropouts, the sum of the survivors'. Synchronous: the protocol itself
 * never waits.
 */
export function secureSumSync(
  vectors: readonly ArrayLike<number>[],
  options: SecureSumOptions & { readonly crypto: SecAggCrypto },
): SecureSumResult {
  const n = vectors.length;
  if (n < 2)
    throw new SecAggError('invalid-params', 'setup', `a secure sum needs at least 2 clients, got ${n}`);
  const length = vectors[0].length;
  if (!(length >= 1)) throw new SecAggError('invalid-input', 'setup', 'the vectors are empty');
  const ids = options.clientIds ?? vectors.map((_, i) => i);
  if (ids.length !== n)
    throw new SecAggError('invalid-params', 'setup', `${ids.length} client ids for ${n} vectors`);
  const { maxValue } = options;
  const bits = secureSumBits(maxValue, n);
  const range = (2 ** bits - 1) / 2;
  vectors.forEach((v, i) => {
    if (v.length !== length)
      throw new SecAggError(
        'invalid-input',
        'setup',
        `client ${ids[i]}'s vector has length ${v.length}, the first has ${length}`,
      );
    for (let j = 0; j < length; j++) {
      const x = v[j];
      if (!Number.isInteger(x) || x < 0 || x > maxValue)
        throw new SecAggError(
          'invalid-input',
          'setup',
          `client ${ids[i]}'s value at index ${j} is ${x}, not an integer in [0, ${maxValue}]`,
        );
    }
  });
  const byId = new Map(ids.map((id, i) => [id, i]));
  // Each client's encoding is made when the protocol asks for its input, so only one is alive at a time.
  const encoded = (id: number): Float32Array => {
    const v = vectors[byId.get(id)!];
    const out = new Float32Array(length);
    for (let j = 0; j < length; j++) out[j] = v[j] - range;
    return out;
  };
  const round: InProcessOptions & { crypto: SecAggCrypto } = {
    vectors: encoded,
    clientIds: ids,
    vectorLength: length,
    range,
    bits,
    rounding: 'nearest',
    crypto: options.crypto,
    ...(options.neighbours !== undefined ? { neighbours: options.neighbours } : {}),
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.dropouts ? { dropouts: options.dropouts } : {}),
  };
  const report = runSecAggInProcessSync(round);
  const m = report.survivors.length;
  const offset = m * range;
  const sum = new Float64Array(length);
  for (let j = 0; j < length; j++) {
    const total = report.sum[j] + offset;
    // Guaranteed by the argument above; checked because a wrong count would pass silently.
    if (!Number.isInteger(total) || total < 0 || total > m * maxValue)
      throw new Error(
        `secureSum: coordinate ${j} decoded to ${total}, not a count: the exactness argument failed`,
      );
    sum[j] = total;
  }
  return { sum, survivors: report.survivors, recoveredDropouts: report.recoveredDropouts, report };
}

/** `secureSumSync` with the portable crypto suite unless one is given. */
export async function secureSum(
  vectors: readonly ArrayLike<number>[],
  options: SecureSumOptions,
): Promise<SecureSumResult> {
  return secureSumSync(vectors, { ...options, crypto: options.crypto ?? portableSecAggCrypto() });
}

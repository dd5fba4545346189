/**
 * A word vocabulary chosen without the server seeing any client's text (the federated alternative to
 * buildVocabulary over everyone's documents):
 *
 * 1. Every client counts, on its device, how often each token of a PUBLIC candidate list occurs in its
 *    own text (tokens outside the list are never counted, so nothing new leaves the device), and bounds
 *    its contribution: each count is cut to `maxCountPerWord`, and if the counts then add up to more
 *    than `maxTotalCount` the client keeps its most frequent words' counts and cuts the rest to fit.
 * 2. The count vectors are added with secure aggregation (secureSum): the server learns the total
 *    over the clients, never one client's vector.
 * 3. Optionally, Gaussian noise is added to every total before it is used (central differential
 *    privacy: the server holds the exact totals for an instant, and everything it publishes — the
 *    vocabulary, a model that carries it — is a function of the noised ones).
 * 4. The server keeps the candidates with the largest totals, at least `minCount`, ties broken by the
 *    token's code-unit order (as buildVocabulary does).
 *
 * Differential privacy, add/remove one client: after step 1 a client's vector c has 0 <= c_w <= C
 * (maxCountPerWord) and sum c_w <= T (maxTotalCount), so its L2 norm is at most
 * sqrt(floor(T / C) C^2 + (T mod C)^2) <= sqrt(T C) (and at most C sqrt(candidates)): that is the
 * sensitivity S, the noise is N(0, (z S)^2) per candidate, and the release is one Gaussian mechanism
 * with noise multiplier z, whose (epsilon, delta) the RDP accountant gives (sampling rate 1, one step).
 * With few clients the noise swamps the counts of rare words (every one of the many candidates gets
 * noise), so raise `minCount` above the noise (a few z S) to keep noise-only candidates out.
 */
import type { SecAggCrypto } from '../../privacy/secagg/crypto-suite.js';
import type { DropoutSchedule } from '../../privacy/secagg/in-process.js';
import { EXACT_SUM_LIMIT, secureSum } from '../../privacy/secagg/secure-sum.js';
import { epsilon as dpEpsilon } from '../../privacy/dp/accountant.js';
import { secureGaussian, type GaussianSource } from '../../privacy/dp/noise.js';
import { RESERVED_TOKENS, Vocabulary } from './vocabulary.js';

export interface ContributionBound {
  /** A client's count of one candidate is cut to this. */
  maxCountPerWord: number;
  /** A client's counts add up to at most this (Infinity: no limit). */
  maxTotalCount: number;
}

/** Candidate token -> its index in the count vectors; refuses duplicates and reserved tokens. */
export function candidateIndex(candidates: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  candidates.forEach((t, i) => {
    if (typeof t !== 'string' || t === '')
      throw new Error(`candidate ${i} must be a non-empty string, got ${JSON.stringify(t)}`);
    if (RESERVED_TOKENS.includes(t))
      throw new Error(`candidate ${i} is the reserved token ${t}: reserved tokens have fixed ids`);
    const first = index.get(t);
    if (first !== undefined)
      throw new Error(`candidate ${JSON.stringify(t)} appears twice, at ${first} and ${i}`);
    index.set(t, i);
  });
  return index;
}

/**
 * What one client computes on its device: its count of every candidate in its tokens, bounded as in
 * step 1 (the most frequent words keep their counts when the total is cut; ties by candidate index).
 */
export function clientCandidateCounts(
  tokens: Iterable<string>,
  index: ReadonlyMap<string, number>,
  bound: ContributionBound,
): Uint32Array {
  const raw = new Map<number, number>();
  for (const t of tokens) {
    const i = index.get(t);
    if (i !== undefined) raw.set(i, (raw.get(i) ?? 0) + 1);
  }
  const out = new Uint32Array(index.size);
  const ranked = [...raw].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  let budget = bound.maxTotalCount;
  for (const [i, c] of ranked) {
    if (budget <= 0) break;
    const kept = Math.min(c, bound.maxCountPerWord, budget);
    out[i] = kept;
    budget -= kept;
  }
  return out;
}

/** The largest L2 norm of a bounded count vector over `candidates` coordinates: the DP sensitivity. */
export function contributionSensitivity(bound: ContributionBound, candidates: number): number {
  const { maxCountPerWord: C, maxTotalCount: T } = bound;
  const full = Math.min(Math.floor(T / C), candidates);
  const rest = full < candidates ? T - full * C : 0;
  return Math.sqrt(full * C * C + Math.min(rest, C) ** 2);
}

export interface VocabularyDp {
  /** z: the noise on every total has standard deviation z times the sensitivity. */
  noiseMultiplier: number;
  delta: number;
  /** Default: the platform's cryptographic generator. Seeded sources are for experiments only. */
  noise?: GaussianSource;
}

export interface FederatedVocabularyOptions {
  /** The public candidate tokens (candidateTokens in public-candidates.ts makes them from a word list). */
  candidates: readonly string[];
  /** Largest vocabulary, the four reserved tokens included. */
  maxSize: number;
  /** Keep only candidates whose (noised) total is at least this (default 1). */
  minCount?: number;
  /**
   * A client's count of one word is cut to this. Default without dp: the most the exact secure sum
   * allows for this many clients (2^24 / clients); required with dp.
   */
  maxCountPerWord?: number;
  /** A client's counts add up to at most this. Default without dp: no limit; required with dp. */
  maxTotalCount?: number;
  /** Gaussian noise on the totals; see the module comment for the sensitivity. */
  dp?: VocabularyDp;
  /** The secure aggregation's crypto suite (default: the portable one; Node's is much faster). */
  crypto?: SecAggCrypto;
  /** Neighbours per client, the round seed and simulated dropouts of the secure sum. */
  secagg?: { neighbours?: number; seed?: number; dropouts?: DropoutSchedule };
}

export interface FederatedVocabulary {
  vocabulary: Vocabulary;
  /** The totals the choice was made from, per candidate (noised with dp). */
  totals: Float64Array;
  /** Clients whose counts are in the totals (indices into the clients given). */
  survivors: readonly number[];
  /** Bytes each client sent during the secure sum, on average. */
  bytesUpPerClient: number;
  bound: ContributionBound;
  privacy?: { epsilon: number; delta: number; sensitivity: number; noiseStd: number };
}

/**
 * Runs steps 1–4 with every client in this process: `clients[i]` is client i's token stream (its own
 * text, read by the tokenizer). The clients' raw counts never leave clientCandidateCounts.
 */
export async function federatedVocabulary(
  clients: readonly Iterable<string>[],
  options: FederatedVocabularyOptions,
): Promise<FederatedVocabulary> {
  const { candidates, maxSize, dp } = options;
  const minCount = options.minCount ?? 1;
  if (!Number.isInteger(maxSize) || maxSize < RESERVED_TOKENS.length)
    throw new Error(
      `federatedVocabulary: maxSize must be an integer >= ${RESERVED_TOKENS.length}, got ${maxSize}`,
    );
  if (!(minCount > 0)) throw new Error(`federatedVocabulary: minCount must be > 0, got ${minCount}`);
  if (clients.length < 2)
    throw new Error(
      `federatedVocabulary: secure aggregation needs at least 2 clients, got ${clients.length}`,
    );
  const index = candidateIndex(candidates);
  if (index.size === 0) throw new Error('federatedVocabulary: the candidate list is empty');
  if (dp && (options.maxCountPerWord === undefined || options.maxTotalCount === undefined))
    throw new Error(
      'federatedVocabulary: dp needs maxCountPerWord and maxTotalCount: they bound what one client adds, ' +
        'which the noise is scaled to',
    );
  const exactCap = 2 ** Math.floor(Math.log2(EXACT_SUM_LIMIT / clients.length + 1)) - 1;
  const bound: ContributionBound = {
    maxCountPerWord: options.maxCountPerWord ?? exactCap,
    maxTotalCount: options.maxTotalCount ?? Infinity,
  };
  if (!Number.isInteger(bound.maxCountPerWord) || bound.maxCountPerWord < 1)
    throw new Error(
      `federatedVocabulary: maxCountPerWord must be an integer >= 1, got ${bound.maxCountPerWord}`,
    );
  if (bound.maxTotalCount !== Infinity && (!Number.isInteger(bound.maxTotalCount) || bound.maxTotalCount < 1))
    throw new Error(`federatedVocabulary: maxTotalCount must be an integer >= 1, got ${bound.maxTotalCount}`);

  // Steps 1 and 2: each device's bounded counts, added securely.
  const counts = clients.map((tokens) => clientCandidateCounts(tokens, index, bound));
  const summed = await secureSum(counts, {
    maxValue: bound.maxCountPerWord,
    crypto: options.crypto,
    ...options.secagg,
  });
  const totals = Float64Array.from(summed.sum);

  // Step 3: the noise, scaled to what one client can change.
  let privacy: FederatedVocabulary['privacy'];
  if (dp) {
    const z = dp.noiseMultiplier;
    if (!(z > 0 && Number.isFinite(z)))
      throw new Error(`federatedVocabulary: dp.noiseMultiplier must be a finite number > 0, got ${z}`);
    const sensitivity = contributionSensitivity(bound, index.size);
    const noiseStd = z * sensitivity;
    (dp.noise ?? secureGaussian()).addNoise(totals, noiseStd);
    const spent = dpEpsilon({ samplingRate: 1, noiseMultiplier: z, steps: 1, delta: dp.delta });
    privacy = { epsilon: spent.epsilon, delta: dp.delta, sensitivity, noiseStd };
  }

  // Step 4: the top candidates.
  const ranked: number[] = [];
  for (let i = 0; i < totals.length; i++) if (totals[i] >= minCount) ranked.push(i);
  ranked.sort(
    (a, b) =>
      totals[b] - totals[a] || (candidates[a] < candidates[b] ? -1 : candidates[a] > candidates[b] ? 1 : 0),
  );
  const kept = ranked.slice(0, maxSize - RESERVED_TOKENS.length).map((i) => candidates[i]);
  return {
    vocabulary: new Vocabulary([...RESERVED_TOKENS, ...kept]),
    totals,
    survivors: summed.survivors,
    bytesUpPerClient: summed.report.bytes.upPerClient,
    bound,
    ...(privacy ? { privacy } : {}),
  };
}

export interface Coverage {
  /** Token occurrences in the vocabulary (not <unk>). */
  covered: number;
  total: number;
  /** covered / total (0 when there are no tokens). */
  share: number;
}

/**
 * The share of token occurrences in `tokenStreams` that `vocabulary` has (the rest would be <unk>):
 * the measure for comparing vocabularies of the same size on held-out text. `wordsOnly` counts only
 * tokens with a letter in them (leaving out punctuation and numbers).
 */
export function vocabularyCoverage(
  vocabulary: Vocabulary,
  tokenStreams: Iterable<Iterable<string>>,
  options: { wordsOnly?: boolean } = {},
): Coverage {
  let covered = 0;
  let total = 0;
  for (const stream of tokenStreams)
    for (const t of stream) {
      if (options.wordsOnly && !/\p{L}/u.test(t)) continue;
      total++;
      if (vocabulary.has(t)) covered++;
    }
  return { covered, total, share: total === 0 ? 0 : covered / total };
}

/**
 * Secure aggregation as a layer around any sum-based strategy: `withSecureAggregation(fedavg)` runs
 * each round's aggregation through the SecAgg / SecAgg+ protocol (./secagg, docs/secagg.md), so the
 * server learns the survivors' Σ wᵢ·Δᵢ and Σ wᵢ and nothing about any single update.
 *
 * Each accepted client's input to the protocol is one vector of length d + 1:
 *
 *     [ uᵢ·clip(Δᵢ) (d values, each clipped to [−r, r]) , uᵢ·r ]      uᵢ = nᵢ / max_j nⱼ ∈ (0, 1]
 *
 * - clip(Δᵢ): Δᵢ scaled down to L2 norm `clipNorm` when given (DP-FedAvg's clipping); none otherwise.
 * - uᵢ: the client's example count over the round's largest, so that weighting never enlarges an
 *   update and one range r fits both raw and weighted deltas. (In a deployment the clients must know
 *   the scale before masking: the server would announce it with the round's configuration.)
 * - The weight slot carries uᵢ·r rather than uᵢ so that it uses the whole quantization range.
 * - r, the quantization range: `range`, else `clipNorm` (an update of L2 norm ≤ C has every value in
 *   [−C, C], so nothing is cut per coordinate), else 1. Values still outside [−r, r] are clipped per
 *   coordinate and counted; the weight slot is never clipped (uᵢ·r ≤ r).
 *
 * Updates may carry a few `auxiliary` values (DP-FedAvg's noisy unclipped indicator, for adaptive
 * clipping under distributed noise): they ride in slots after the weight, unweighted and clipped to
 * [−r, r] like the delta's values, and their survivors' sum is `auxiliarySum()` of the round's
 * aggregator. Every update of a round must carry as many.
 *
 * The quantizer maps each value to one of 2^bits levels with n·(2^bits − 1) < 2^32, so the modular
 * sum of n clients cannot wrap. From the decoded sums S (the d values) and W (the weight slot) the
 * wrapper forms the mean delta S·r / W, and feeds the inner strategy's aggregator ONE update
 * (delta = that mean, numExamples = Σ nᵢ decoded): FedAvg, FedAvgM, FedProx and the FedOpt family
 * then step exactly as they would from the plain weighted mean, up to the quantization error
 * (`lastRound.meanErrorBound`, derived from `sumErrorBound`).
 *
 * Strategies whose aggregation is 'individual' (FedMedian, FedTrimmedAvg, Krum, MultiKrum, Bulyan,
 * Centered Clipping) need every client's update and are refused at construction.
 *
 * Dropouts: clients that never return are left out by the engine before they reach `add`. The
 * `dropouts` option simulates clients vanishing inside the protocol (after advertising keys, after
 * sharing keys, after sending the masked input), chosen by the round's seeded RNG; the survivors'
 * sum stays exact, and a round the protocol cannot finish throws `RoundAborted` with its reason (the
 * engine records it and keeps the global model).
 *
 * Memory and where masking happens: this is the in-process form — every client and the server run
 * in this process, at `finish`. The wrapper therefore holds a copy of each accepted update until
 * then: O(clients × model) memory, unlike the O(model) of the streaming strategies it wraps. In a
 * deployment each client masks its own update on its device and the server only ever folds masked
 * vectors into one running sum (O(model)); that needs the protocol's messages on the network and
 * is left to the networking layer.
 *
 * `RoundAggregator.finish` is synchronous, so the protocol runs synchronously
 * (`runSecAggInProcessSync`). The fast node:crypto suite loads asynchronously: the wrapper starts
 * loading it at construction (`ready` resolves when done) and a round that finishes before it has
 * loaded uses the portable suite — the same result, only slower (`lastRound.cryptoSuite` says which).
 */
import type {
  ClientInfo,
  ClientUpdate,
  FitConfig,
  RoundAggregator,
  RoundResult,
  RoundContext,
  Strategy,
  StrategyState,
} from '../fl/strategy.js';
import { assertUpdate, RoundAborted, UpdateRejected } from '../fl/update-check.js';
import { Rng } from '../util/rng.js';
import { loadSecAggCrypto, portableSecAggCrypto, type SecAggCrypto } from './secagg/crypto-suite.js';
import { SecAggAbortError } from './secagg/errors.js';
import { runSecAggInProcessSync } from './secagg/in-process.js';
import { majorityThreshold, planNeighbourhood, type PlanOptions } from './secagg/neighbours.js';
import { PRG_ALGORITHMS, type PrgAlgorithm } from './secagg/prg.js';
import { maxBitsFor, type Rounding } from './secagg/quantize.js';

/** Fractions of a round's accepted clients that vanish at each point of the protocol (simulation). */
export interface SecureAggregationDropouts {
  /** Advertise keys, then vanish: simply not in the sum. */
  afterAdvertise?: number;
  /** Share keys, then vanish: their pairwise masks are rebuilt and removed; not in the sum. */
  afterShareKeys?: number;
  /** Send the masked input, then vanish before unmasking: their input still counts. */
  afterMaskedInput?: number;
}

const DROPOUT_STAGES = ['afterAdvertise', 'afterShareKeys', 'afterMaskedInput'] as const;
type DropoutStage = (typeof DROPOUT_STAGES)[number];

export interface SecureAggregationOptions {
  /**
   * C: each client's delta is scaled down to L2 norm C before weighting (counted in
   * `lastRound.clippedUpdates`). Default: no norm clipping.
   */
  clipNorm?: number;
  /**
   * r: the quantization range; every value of a weighted delta is clipped to [−r, r] (counted in
   * `lastRound.clippedValues`). Default: `clipNorm` when given, otherwise 1. A function is asked
   * at every round, e.g. to follow a clip norm that adaptive clipping moves.
   */
  range?: number | (() => number);
  /**
   * Quantization levels 2^bits. Default, and upper limit: the most that the round's n clients can
   * sum without wrapping the ring 2^32 (28 bits for 10 clients, 25 for 100).
   */
  bits?: number;
  /** Default 'nearest'; 'stochastic' makes the rounding error unbiased (and twice the bound). */
  rounding?: Rounding;
  /**
   * k, SecAgg+'s neighbours per client (capped at n − 1 in a smaller round, where n − 1 is classic
   * SecAgg). Default: `planNeighbourhood(n, plan)`, which starts from ⌈log2 n⌉.
   */
  neighbours?: number;
  /**
   * t, shares needed to rebuild a client's secrets, out of k + 1. Default: the strict majority of
   * k + 1 (the protocol's minimum). Kept within [majority, k + 1] when a round's k is smaller than planned.
   */
  threshold?: number;
  /** How `planNeighbourhood` chooses the default k (expected dropout rate, acceptable abort risk). */
  plan?: PlanOptions;
  /** Mask stream cipher (default 'aes-256-ctr'; 'chacha20' is faster in browsers). */
  prg?: PrgAlgorithm;
  /** Simulated dropouts inside the protocol, as fractions of the accepted clients (rounded). */
  dropouts?: SecureAggregationDropouts;
  /** Crypto suite; default: node:crypto in Node (loaded asynchronously, see `ready`), else portable. */
  crypto?: SecAggCrypto;
}

/** What the last round's secure aggregation did, for metrics. */
export interface SecureAggregationRoundStats {
  round: number;
  /** Clients whose update was accepted and who entered the protocol. */
  clients: number;
  /** Clients whose input is in the sum. */
  survivors: number;
  survivorIds: string[];
  /** Clients scheduled (by `dropouts`) to vanish at each stage. */
  dropped: { afterAdvertise: string[]; afterShareKeys: string[]; afterMaskedInput: string[] };
  /** Dropped after sharing keys: their pairwise masks were rebuilt and removed. */
  recoveredDropouts: number;
  /** Left out by the server before masking because too few of their neighbours were present. */
  excluded: number;
  neighbours: number;
  threshold: number;
  bits: number;
  range: number;
  /** Clients whose delta was scaled down to `clipNorm`. */
  clippedUpdates: number;
  /** Values cut to [−range, range] (over the clients that sent a masked input). */
  clippedValues: number;
  /** Σ nᵢ over the survivors, as decoded from the weight slot (approximate, see meanErrorBound). */
  totalExamples: number;
  /** Per-coordinate bound on |decoded sum − exact sum| (`sumErrorBound` over the survivors). */
  errorBound: number;
  /** Per-coordinate bound on |mean delta given to the inner strategy − exact weighted mean of the clipped deltas|. */
  meanErrorBound: number;
  /** Time in client code, summed over clients; time in server code; wall time of the whole protocol. */
  clientSeconds: number;
  serverSeconds: number;
  totalSeconds: number;
  /** Bytes all clients sent / the server sent, as encoded by the protocol's binary codec. */
  bytesUp: number;
  bytesDown: number;
  /** Which crypto suite ran: the `crypto` option, the runtime's fastest (node:crypto), or portable. */
  cryptoSuite: 'given' | 'runtime' | 'portable';
  /**
   * Why the round aborted, when it did. The protocol reports nothing for an aborted round, so the
   * seconds and bytes are then 0 (totalSeconds is still measured) and survivors are 0.
   */
  aborted?: string;
}

/** The strategy `withSecureAggregation` returns. */
export class SecureAggregationStrategy implements Strategy {
  readonly name: string;
  readonly aggregation = 'sum' as const;
  readonly configureFit?: (
    ctx: RoundContext,
    available: readonly ClientInfo[],
    base: FitConfig,
  ) => { clients: ClientInfo[]; config: FitConfig };
  readonly getState?: () => StrategyState;
  readonly setState?: (state: StrategyState) => void;
  /** The sum of one update is that update: the protocol needs two at least. */
  get minUpdates(): number {
    return Math.max(2, this.inner.minUpdates ?? 1);
  }
  /** Resolves when the runtime's crypto suite has loaded (immediately when `crypto` was given). */
  readonly ready: Promise<void>;
  private runtimeCrypto: SecAggCrypto | undefined;
  private portableCrypto: SecAggCrypto | undefined;

  constructor(
    readonly inner: Strategy,
    readonly options: SecureAggregationOptions = {},
  ) {
    if (inner instanceof SecureAggregationStrategy)
      throw new Error(`'${inner.name}' is already under secure aggregation; wrap the strategy once`);
    if (inner.aggregation !== 'sum') {
      throw new Error(
        `secure aggregation cannot wrap '${inner.name}': its aggregation is '${String(inner.aggregation)}', ` +
          `it needs each client's update, and under secure aggregation the server only sees the sum of ` +
          `the updates. Use a sum-based strategy (fedavg, fedavgm, fedprox, fedadagrad, fedadam, fedyogi)`,
      );
    }
    validateOptions(options);
    this.name = `secagg(${inner.name})`;
    // Pass-throughs are defined only when the inner strategy has them, so the engine and the
    // checkpoints see exactly the inner strategy's capabilities (and state: the wrapper keeps none
    // across rounds — every protocol secret lives for one round).
    if (inner.configureFit) {
      const configure = inner.configureFit.bind(inner);
      this.configureFit = (ctx, available, base) => configure(ctx, available, base);
    }
    if (inner.getState) this.getState = inner.getState.bind(inner);
    if (inner.setState) this.setState = inner.setState.bind(inner);
    this.ready = options.crypto
      ? Promise.resolve()
      : loadSecAggCrypto().then(
          (suite) => {
            this.runtimeCrypto = suite;
          },
          () => {
            // loadSecAggCrypto falls back to the portable suite itself; nothing is lost here either.
          },
        );
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    const inner = this.inner.beginRound(ctx);
    // One fork of the round's seeded stream, drawn after the inner strategy has begun, picks the
    // simulated dropouts and the public round id (hence the neighbour graph): a seeded run repeats.
    return new SecureAggregator(this, ctx, inner, ctx.rng.fork());
  }

  /** @internal The crypto suite for a round finishing now, and which one it is. */
  cryptoForRound(): { suite: SecAggCrypto; kind: SecureAggregationRoundStats['cryptoSuite'] } {
    if (this.options.crypto) return { suite: this.options.crypto, kind: 'given' };
    if (this.runtimeCrypto) return { suite: this.runtimeCrypto, kind: 'runtime' };
    this.portableCrypto ??= portableSecAggCrypto();
    return { suite: this.portableCrypto, kind: 'portable' };
  }
}

/**
 * Wraps a sum-based strategy so that every round aggregates under SecAgg / SecAgg+ (see the file
 * comment). Throws if `inner` needs individual updates or an option is invalid.
 */
export function withSecureAggregation(
  inner: Strategy,
  options: SecureAggregationOptions = {},
): SecureAggregationStrategy {
  return new SecureAggregationStrategy(inner, options);
}

function validateOptions(o: SecureAggregationOptions): void {
  const positiveFinite = (name: string, v: number | undefined) => {
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0))
      throw new RangeError(`secure aggregation: ${name} must be a positive finite number, got ${v}`);
  };
  const integerAtLeast = (name: string, v: number | undefined, min: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min))
      throw new RangeError(`secure aggregation: ${name} must be an integer >= ${min}, got ${v}`);
  };
  positiveFinite('clipNorm', o.clipNorm);
  if (typeof o.range !== 'function') positiveFinite('range', o.range);
  integerAtLeast('neighbours', o.neighbours, 1);
  integerAtLeast('threshold', o.threshold, 2);
  integerAtLeast('bits', o.bits, 1);
  if (o.bits !== undefined && o.bits > 31)
    throw new RangeError(
      `secure aggregation: bits must be at most 31 (two clients must fit the ring 2^32), got ${o.bits}`,
    );
  if (o.neighbours !== undefined && o.threshold !== undefined) {
    const min = majorityThreshold(o.neighbours);
    if (o.threshold < min || o.threshold > o.neighbours + 1)
      throw new RangeError(
        `secure aggregation: threshold must be in [${min}, ${o.neighbours + 1}] for ${o.neighbours} neighbours ` +
          `(a strict majority of the k + 1 shares of each secret), got ${o.threshold}`,
      );
  }
  if (o.rounding !== undefined && o.rounding !== 'nearest' && o.rounding !== 'stochastic')
    throw new RangeError(
      `secure aggregation: rounding must be 'nearest' or 'stochastic', got '${String(o.rounding)}'`,
    );
  if (o.prg !== undefined && !PRG_ALGORITHMS.includes(o.prg))
    throw new RangeError(
      `secure aggregation: unknown prg '${String(o.prg)}', expected one of ${PRG_ALGORITHMS.join(', ')}`,
    );
  if (o.plan !== undefined) planNeighbourhood(2, o.plan); // its own checks, with messages naming the field
  let total = 0;
  for (const [stage, f] of Object.entries(o.dropouts ?? {})) {
    if (!(DROPOUT_STAGES as readonly string[]).includes(stage))
      throw new RangeError(
        `secure aggregation: unknown dropout stage '${stage}', expected one of ${DROPOUT_STAGES.join(', ')}`,
      );
    if (f === undefined) continue;
    if (!(typeof f === 'number' && f >= 0 && f <= 1))
      throw new RangeError(`secure aggregation: dropouts.${stage} must be a fraction in [0, 1], got ${f}`);
    total += f;
  }
  if (total > 1)
    throw new RangeError(
      `secure aggregation: the dropout fractions add up to ${total}, more than every client`,
    );
}

/** k, t and bits for a round of n clients (n ≥ 2), from the options. */
function roundShape(n: number, o: SecureAggregationOptions) {
  let neighbours: number;
  let planned: number | undefined;
  if (o.neighbours !== undefined) {
    neighbours = Math.min(o.neighbours, n - 1);
    // n·k must be even for a k-regular graph; k < n − 1 here (n·(n − 1) is always even).
    if ((neighbours * n) % 2 !== 0) neighbours += 1;
  } else {
    const plan = planNeighbourhood(n, o.plan);
    neighbours = plan.neighbours;
    planned = plan.threshold;
  }
  const min = majorityThreshold(neighbours);
  const threshold = Math.min(Math.max(o.threshold ?? planned ?? min, min), neighbours + 1);
  const bits = Math.min(o.bits ?? 32, maxBitsFor(n));
  return { neighbours, threshold, bits };
}

interface HeldUpdate {
  readonly clientId: string;
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly auxiliary: readonly number[];
}

type DroppedIds = SecureAggregationRoundStats['dropped'];

/**
 * Which protocol ids (positions 0..n-1) vanish at each stage: Math.round(fraction · n) of them,
 * taken in turn from one seeded permutation so that no client drops twice.
 */
function scheduleDropouts(
  n: number,
  fractions: SecureAggregationDropouts | undefined,
  rng: Rng,
): Record<DropoutStage, number[]> {
  const order = rng.permutation(n);
  const schedule = { afterAdvertise: [], afterShareKeys: [], afterMaskedInput: [] } as Record<
    DropoutStage,
    number[]
  >;
  let taken = 0;
  for (const stage of DROPOUT_STAGES) {
    const count = Math.min(Math.round((fractions?.[stage] ?? 0) * n), n - taken);
    schedule[stage] = Array.from(order.subarray(taken, taken + count));
    taken += count;
  }
  return schedule;
}

/**
 * Builds client inputs [uᵢ·clip(Δᵢ), uᵢ·r] (see the file comment) and counts what clipping did.
 * Called by the protocol at each client's masking step, one vector at a time.
 */
class InputBuilder {
  clippedUpdates = 0;
  clippedValues = 0;
  readonly maxExamples: number;

  constructor(
    private readonly held: readonly HeldUpdate[],
    private readonly range: number,
    private readonly clipNorm: number | undefined,
  ) {
    this.maxExamples = held.reduce((m, h) => Math.max(m, h.numExamples), 0);
  }

  build(id: number): Float32Array {
    const { delta, numExamples, auxiliary } = this.held[id];
    const d = delta.length;
    const range = this.range;
    const u = numExamples / this.maxExamples;
    let factor = u;
    if (this.clipNorm !== undefined) {
      let squares = 0;
      for (let i = 0; i < d; i++) squares += delta[i] * delta[i];
      const norm = Math.sqrt(squares);
      if (norm > this.clipNorm) {
        // One part in 10^7 below the bound, so float32 rounding cannot leave it above.
        factor *= (this.clipNorm / norm) * (1 - 1e-7);
        this.clippedUpdates++;
      }
    }
    const x = new Float32Array(d + 1 + auxiliary.length);
    let cut = 0;
    const put = (i: number, v: number) => {
      if (v > range || v < -range) {
        x[i] = v > 0 ? range : -range;
        cut++;
      } else x[i] = v;
    };
    for (let i = 0; i < d; i++) put(i, factor * delta[i]);
    x[d] = u * range; // ≤ r: the weight itself is never clipped
    auxiliary.forEach((v, j) => put(d + 1 + j, v));
    this.clippedValues += cut;
    return x;
  }
}

declare module '../fl/strategy.js' {
  interface AggregationStatistics {
    /** What secure aggregation did this round. */
    secureAggregation?: SecureAggregationRoundStats;
  }
}

class SecureAggregator implements RoundAggregator {
  private held: HeldUpdate[] = [];
  private readonly ids = new Set<string>();
  private result: RoundResult | undefined;
  private failure: Error | undefined;
  private finished = false;
  private auxiliaryLength: number | undefined;
  private auxSum: number[] | undefined;
  /** The statistics of a round the protocol aborted (for tests and diagnosis; the round has no result). */
  aborted: SecureAggregationRoundStats | undefined;

  constructor(
    private readonly owner: SecureAggregationStrategy,
    private readonly ctx: RoundContext,
    private readonly inner: RoundAggregator,
    private readonly rng: Rng,
  ) {}

  get count(): number {
    return this.ids.size;
  }

  add(update: ClientUpdate): void {
    if (this.finished) throw new Error('round already finished: no more updates can be added');
    assertUpdate(update, this.ctx.global.length);
    if (this.ids.has(update.clientId))
      throw new UpdateRejected(update.clientId, 'a second update from the same client in this round');
    const auxiliary = update.auxiliary ?? [];
    if (this.auxiliaryLength !== undefined && auxiliary.length !== this.auxiliaryLength)
      throw new UpdateRejected(
        update.clientId,
        `${auxiliary.length} auxiliary values where this round's updates carry ${this.auxiliaryLength}`,
      );
    if (!auxiliary.every(Number.isFinite))
      throw new UpdateRejected(update.clientId, 'a non-finite auxiliary value');
    this.auxiliaryLength = auxiliary.length;
    this.ids.add(update.clientId);
    // A copy: the protocol runs at finish, and the caller may reuse its buffer meanwhile.
    this.held.push({
      clientId: update.clientId,
      delta: Float32Array.from(update.delta),
      numExamples: update.numExamples,
      auxiliary: [...auxiliary],
    });
  }

  auxiliarySum(): readonly number[] | undefined {
    return this.auxSum;
  }

  finish(): RoundResult {
    if (this.result) return { ...this.result, global: Float32Array.from(this.result.global) };
    if (this.failure) throw this.failure;
    this.finished = true;
    try {
      this.result = this.run();
    } catch (e) {
      this.failure = e as Error;
      throw e;
    } finally {
      this.held = []; // the copies are no longer needed either way
    }
    return { ...this.result, global: Float32Array.from(this.result.global) };
  }

  private run(): RoundResult {
    const o = this.owner.options;
    const held = this.held;
    const n = held.length;
    if (n === 0) throw new RoundAborted('no update was accepted');
    if (n === 1)
      throw new RoundAborted(
        'secure aggregation needs at least 2 clients (the sum of one update is that update); 1 update was accepted',
      );
    const started = performance.now();
    const d = this.ctx.global.length;
    const { neighbours, threshold, bits } = roundShape(n, o);
    const range = (typeof o.range === 'function' ? o.range() : o.range) ?? o.clipNorm ?? 1;
    if (!(range > 0 && Number.isFinite(range)))
      throw new RangeError(`secure aggregation: range must be positive and finite, got ${range}`);
    const { suite, kind } = this.owner.cryptoForRound();
    // Protocol ids are the positions 0..n-1 in arrival order.
    const schedule = scheduleDropouts(n, o.dropouts, this.rng);
    const dropped = Object.fromEntries(
      DROPOUT_STAGES.map((stage) => [stage, schedule[stage].map((id) => held[id].clientId)]),
    ) as DroppedIds;
    const inputs = new InputBuilder(held, range, o.clipNorm);
    const stats = {
      round: this.ctx.round,
      clients: n,
      dropped,
      neighbours,
      threshold,
      bits,
      range,
      cryptoSuite: kind,
    };
    const abort = (reason: string): RoundAborted => {
      this.aborted = {
        ...stats,
        survivors: 0,
        survivorIds: [],
        recoveredDropouts: 0,
        excluded: 0,
        clippedUpdates: inputs.clippedUpdates,
        clippedValues: inputs.clippedValues,
        totalExamples: 0,
        errorBound: 0,
        meanErrorBound: 0,
        clientSeconds: 0,
        serverSeconds: 0,
        totalSeconds: (performance.now() - started) / 1000,
        bytesUp: 0,
        bytesDown: 0,
        aborted: reason,
      };
      return new RoundAborted(reason);
    };

    let report;
    try {
      report = runSecAggInProcessSync({
        vectors: (id) => inputs.build(id),
        clientIds: held.map((_, i) => i),
        vectorLength: d + 1 + (this.auxiliaryLength ?? 0),
        range,
        bits,
        rounding: o.rounding,
        neighbours,
        threshold,
        prg: o.prg,
        seed: this.rng.nextUint32(),
        dropouts: schedule,
        crypto: suite,
      });
    } catch (e) {
      // Too few survivors, a secret that cannot be rebuilt...: the round ends without a model.
      // Anything else (a refusal, a malformed message) would be a bug here and propagates.
      if (!(e instanceof SecAggAbortError)) throw e;
      throw abort(e.message.replace('round aborted: ', ''));
    }

    // mean = Ŝ·r / Ŵ: Ŝ the decoded Σ uᵢ·xᵢ, Ŵ the decoded Σ uᵢ·r.
    const sum = report.sum;
    const weight = sum[d];
    // The protocol's bound is against the sum of the float32 inputs; each input value (≤ r) was
    // rounded to float32 once when weighted, so add that too.
    const E = report.errorBound + report.survivors.length * range * 2 ** -24;
    if (!(weight - E > 0))
      throw abort(
        `the survivors' total weight ${weight} is within the quantization error ${E}: use more bits or fewer clients`,
      );
    const mean = new Float32Array(d);
    const toMean = range / weight;
    let largest = 0;
    for (let i = 0; i < d; i++) {
      mean[i] = sum[i] * toMean;
      largest = Math.max(largest, Math.abs(mean[i]));
    }
    // With |Ŝ − S|, |Ŵ − W| ≤ E: |Ŝr/Ŵ − Sr/W| ≤ E·(r + |Sr/W|)/Ŵ; bounding the unknown exact mean
    // |Sr/W| by the computed one plus this error gives the expression below; plus the float32
    // rounding of the mean itself.
    const meanErrorBound = (E * (range + largest)) / (weight - E) + largest * 2 ** -24;
    const totalExamples = (weight / range) * inputs.maxExamples;
    this.auxSum = Array.from(sum.subarray(d + 1));
    const statistics: SecureAggregationRoundStats = {
      ...stats,
      survivors: report.survivors.length,
      survivorIds: report.survivors.map((id) => held[id].clientId),
      recoveredDropouts: report.recoveredDropouts.length,
      excluded: report.excluded.length,
      clippedUpdates: inputs.clippedUpdates,
      clippedValues: inputs.clippedValues,
      totalExamples,
      errorBound: report.errorBound,
      meanErrorBound,
      clientSeconds: report.timing.clientMs / 1000,
      serverSeconds: report.timing.serverMs / 1000,
      totalSeconds: (performance.now() - started) / 1000,
      bytesUp: report.bytes.totalUp,
      bytesDown: report.bytes.totalDown,
    };
    this.inner.add({
      clientId: `secagg(${report.survivors.length} clients)`,
      delta: mean,
      numExamples: totalExamples,
    });
    const inner = this.inner.finish();
    return { global: inner.global, statistics: { ...inner.statistics, secureAggregation: statistics } };
  }
}

/**
 * Secure aggregation as a layer around any sum-based strategy: `withSecureAggregation(fedavg)` runs
 * each round's aggregation through the SecAgg / SecAgg+ protocol (./secagg, docs/secagg.md), so the
 * server learns the survivors' Σ wᵢ·Δᵢ and Σ wᵢ and nothing about any single update.
 *
 * The two halves run where they belong. The server's half is this strategy: `configureFit` fixes
 * the round's public parameters (who takes part, the neighbour graph's seed, the quantization) and
 * hands them to the clients with their instructions; its aggregator receives each client's first
 * protocol message in place of an update, runs the protocol's next three stages through the round's
 * channel to the clients (`complete`), and only ever holds the running sum of masked inputs. The
 * client's half is `SecureClientSession` (./secagg/client-session.ts), the last step of the client
 * pipeline: the client builds its input vector, masks it and answers the stages itself.
 *
 * Each client's input is one vector of length d + 1 (+ auxiliary slots):
 *
 *     [ uᵢ·clip(Δᵢ) (d values, each cut to [−r, r]) , uᵢ·r , auxiliary... ]     uᵢ = wᵢ / max_j wⱼ ∈ (0, 1]
 *
 * - clip(Δᵢ): Δᵢ scaled down to L2 norm `clipNorm` when given; none otherwise.
 * - uᵢ: the client's weight (its example count; 1 under DP, where every client weighs the same)
 *   over the round's largest, announced in the instructions, so weighting never enlarges an update
 *   and one range r fits both raw and weighted deltas.
 * - The weight slot carries uᵢ·r rather than uᵢ so that it uses the whole quantization range.
 * - r, the quantization range: `range`, else `clipNorm`, else 1.
 * - Auxiliary values (DP-FedAvg's noisy unclipped indicator, for adaptive clipping under
 *   distributed noise) ride after the weight, unweighted; their survivors' sum is `auxiliarySum()`.
 *   A round carries one slot when its instructions ask the clients for the indicator (`dp.countScale`).
 *
 * The quantizer maps each value to one of 2^bits levels with n·(2^bits − 1) < 2^32, so the modular
 * sum of n clients cannot wrap. From the decoded sums S (the d values) and W (the weight slot) the
 * layer forms the mean delta S·r / W and feeds the inner strategy ONE update (delta = that mean,
 * numExamples = Σ wᵢ decoded): FedAvg, FedAvgM, FedProx and the FedOpt family then step exactly as
 * they would from the plain weighted mean, up to the quantization error (`meanErrorBound` in the
 * round's statistics, derived from `sumErrorBound`).
 *
 * Strategies whose aggregation is 'individual' (FedMedian, FedTrimmedAvg, Krum, MultiKrum, Bulyan,
 * Centered Clipping) need every client's update and are refused at construction.
 *
 * Dropouts: a client that fails before its first message is simply not in the protocol; one that
 * vanishes at a later stage is recovered by the protocol (its pairwise masks rebuilt from its
 * neighbours' shares) and the survivors' sum stays exact; a round the protocol cannot finish ends
 * with `RoundAborted` and its reason, and the global model stays as it was. The engine records each
 * client lost at each stage. Ids of the protocol are the clients' positions in the round's
 * participant list, fixed by the (seeded) sample, so a seeded simulation repeats whatever order
 * clients answer in.
 */
import type {
  ClientInfo,
  ClientUpdate,
  FitConfig,
  RoundAggregator,
  RoundChannel,
  RoundContext,
  RoundResult,
  SecureAggregationInstructions,
  Strategy,
  StrategyState,
} from '../fl/strategy.js';
import { RoundAborted, UpdateRejected } from '../fl/update-check.js';
import type { SecAggCrypto } from './secagg/crypto-suite.js';
import { SecAggAbortError, SecAggError } from './secagg/errors.js';
import { decodeMessage, encodeMessage } from './secagg/codec.js';
import type { SecAggMessage } from './secagg/messages.js';
import { majorityThreshold, planNeighbourhood, type PlanOptions } from './secagg/neighbours.js';
import { ROUND_ID_BYTES } from './secagg/params.js';
import { PRG_ALGORITHMS, type PrgAlgorithm } from './secagg/prg.js';
import { maxBitsFor, type Rounding } from './secagg/quantize.js';
import { SecAggServer, type SecAggResult } from './secagg/server.js';
import { RoundTopology } from './secagg/topology.js';
import { paramsOf, roundIdHex } from './secagg/client-session.js';

export interface SecureAggregationOptions {
  /** C: each client scales its delta down to L2 norm C before weighting. Default: no norm clipping. */
  clipNorm?: number;
  /**
   * r: the quantization range; every value of a weighted delta is cut to [−r, r]. Default:
   * `clipNorm` when given, otherwise 1. A function is asked at every round, e.g. to follow a clip
   * norm that adaptive clipping moves.
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
  /** The server's crypto suite: the platform's (`nodePlatform().secaggCrypto`, `webPlatform(ort).secaggCrypto`). */
  crypto: SecAggCrypto;
}

/** What one round's secure aggregation did, for metrics. */
export interface SecureAggregationRoundStats {
  round: number;
  /** Clients invited to the protocol (the round's participants). */
  clients: number;
  /** Clients whose input is in the sum. */
  survivors: number;
  survivorIds: string[];
  /** Clients lost at each point of the protocol. */
  dropped: {
    beforeAdvertise: string[];
    afterAdvertise: string[];
    afterShareKeys: string[];
    afterMaskedInput: string[];
  };
  /** Dropped after sharing keys: their pairwise masks were rebuilt and removed. */
  recoveredDropouts: number;
  /** Left out by the server before masking because too few of their neighbours were present. */
  excluded: number;
  neighbours: number;
  threshold: number;
  bits: number;
  range: number;
  /** Σ wᵢ/max w over the survivors, as decoded from the weight slot (approximate, see meanErrorBound). */
  totalExamples: number;
  /** Per-coordinate bound on |decoded sum − exact sum| (`sumErrorBound` over the survivors). */
  errorBound: number;
  /** Per-coordinate bound on |mean delta given to the inner strategy − exact weighted mean of the clipped deltas|. */
  meanErrorBound: number;
  /** Time in server code; wall time of the protocol's later stages (the clients' time is theirs). */
  serverSeconds: number;
  totalSeconds: number;
  /** Protocol bytes the clients sent / the server sent, as encoded by the protocol's binary codec. */
  bytesUp: number;
  bytesDown: number;
  /** Which crypto suite the server ran (its `name`: 'node', 'portable'). */
  cryptoSuite: string;
}

declare module '../fl/strategy.js' {
  interface AggregationStatistics {
    /** What secure aggregation did this round. */
    secureAggregation?: SecureAggregationRoundStats;
  }
}

/** The strategy `withSecureAggregation` returns. */
export class SecureAggregationStrategy implements Strategy {
  readonly name: string;
  readonly aggregation = 'sum' as const;
  readonly getState?: () => StrategyState;
  readonly setState?: (state: StrategyState) => void;
  /** The round whose instructions configureFit gave out last, for its aggregator. */
  private configured: { round: number; instructions: SecureAggregationInstructions } | undefined;

  constructor(
    readonly inner: Strategy,
    readonly options: SecureAggregationOptions,
  ) {
    if (!options?.crypto)
      throw new Error(
        "secure aggregation needs the server's crypto suite: pass { crypto: nodePlatform().secaggCrypto } (@edgefl/node) or webPlatform(ort).secaggCrypto (edgefl/web)",
      );
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
    // The wrapper keeps no state across rounds (every protocol secret lives for one round), so the
    // checkpoints see exactly the inner strategy's.
    if (inner.getState) this.getState = inner.getState.bind(inner);
    if (inner.setState) this.setState = inner.setState.bind(inner);
  }

  /** The sum of one update is that update: the protocol needs two at least. */
  get minUpdates(): number {
    return Math.max(2, this.inner.minUpdates ?? 1);
  }

  /**
   * The inner strategy's plan, with the round's secure-aggregation parameters added to the
   * instructions. The participants are the plan's clients in its (seeded) order; one draw from the
   * round's stream gives the public round id, which seeds the neighbour graph.
   */
  configureFit(
    ctx: RoundContext,
    available: readonly ClientInfo[],
    base: FitConfig,
  ): { clients: ClientInfo[]; config: FitConfig } {
    const plan = this.inner.configureFit
      ? this.inner.configureFit(ctx, available, base)
      : { clients: [...available], config: base };
    const n = plan.clients.length;
    this.configured = undefined;
    if (n < 2) return plan; // the aggregator aborts the round with the reason
    const o = this.options;
    const { neighbours, threshold, bits } = roundShape(n, o);
    const range = (typeof o.range === 'function' ? o.range() : o.range) ?? o.clipNorm ?? 1;
    if (!(range > 0 && Number.isFinite(range)))
      throw new RangeError(`secure aggregation: range must be positive and finite, got ${range}`);
    const rng = ctx.rng.fork();
    const roundId = new Uint8Array(ROUND_ID_BYTES);
    for (let i = 0; i < ROUND_ID_BYTES; i += 4) new DataView(roundId.buffer).setUint32(i, rng.nextUint32());
    const auxiliary = plan.config.dp?.countScale !== undefined ? 1 : 0;
    const instructions: SecureAggregationInstructions = {
      roundId: roundIdHex(roundId),
      participants: plan.clients.map((c) => c.id),
      vectorLength: ctx.global.length + 1 + auxiliary,
      auxiliary,
      neighbours,
      threshold,
      bits,
      range,
      rounding: o.rounding ?? 'nearest',
      prg: o.prg ?? 'aes-256-ctr',
      maxWeight: Math.max(...plan.clients.map((c) => c.numExamples ?? 1)),
      ...(o.clipNorm !== undefined ? { clipNorm: o.clipNorm } : {}),
    };
    paramsOf(instructions); // the protocol's own checks, before any client sees them
    this.configured = { round: ctx.round, instructions };
    return { clients: plan.clients, config: { ...plan.config, secureAggregation: instructions } };
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    const inner = this.inner.beginRound(ctx);
    const instructions = this.configured?.round === ctx.round ? this.configured.instructions : undefined;
    return new SecureAggregator(this, ctx, inner, instructions);
  }
}

/**
 * Wraps a sum-based strategy so that every round aggregates under SecAgg / SecAgg+ (see the file
 * comment). Throws if `inner` needs individual updates or an option is invalid.
 */
export function withSecureAggregation(
  inner: Strategy,
  options: SecureAggregationOptions,
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

/** The protocol's stages after the clients' first messages, as the channel names them. */
type Stage = 'share-keys' | 'masked-input' | 'unmasking';

/** The server's half of one round: the protocol's server state machine and its bookkeeping. */
class SecureAggregator implements RoundAggregator {
  private readonly server: SecAggServer | undefined;
  private readonly advertised = new Set<string>();
  private result: SecAggResult | undefined;
  private finished: RoundResult | undefined;
  private failure: Error | undefined;
  private auxSum: number[] | undefined;
  private serverMs = 0;
  private totalMs = 0;
  private bytesUp = 0;
  private bytesDown = 0;
  private readonly lost = {
    afterAdvertise: [] as string[],
    afterShareKeys: [] as string[],
    afterMaskedInput: [] as string[],
  };

  constructor(
    private readonly owner: SecureAggregationStrategy,
    private readonly ctx: RoundContext,
    private readonly inner: RoundAggregator,
    private readonly instructions: SecureAggregationInstructions | undefined,
  ) {
    if (instructions) {
      const params = paramsOf(instructions);
      this.server = new SecAggServer(params, owner.options.crypto, { topology: new RoundTopology(params) });
    }
  }

  /** Clients in the protocol so far; once it has completed, those whose input is in the sum. */
  get count(): number {
    return this.result ? this.result.survivors.length : this.advertised.size;
  }

  add(update: ClientUpdate): void {
    if (!this.instructions)
      throw new UpdateRejected(
        update.clientId,
        'secure aggregation needs at least 2 clients in a round (the sum of one update is that update); this round has fewer',
      );
    throw new UpdateRejected(
      update.clientId,
      'sent its update unmasked; under secure aggregation a client sends only its masked input',
    );
  }

  /** Runs server code, timing it; a protocol error from a client's message refuses that client. */
  private serve<T>(clientId: string, work: () => T): T {
    const t0 = performance.now();
    try {
      return work();
    } catch (e) {
      if (e instanceof SecAggError && !(e instanceof SecAggAbortError))
        throw new UpdateRejected(clientId, e.message);
      throw e;
    } finally {
      this.serverMs += performance.now() - t0;
    }
  }

  /** A client's message, decoded and checked to be the one expected from it at this stage. */
  private message<T extends SecAggMessage['type']>(
    clientId: string,
    bytes: Uint8Array,
    type: T,
  ): Extract<SecAggMessage, { type: T }> {
    this.bytesUp += bytes.length;
    const m = this.serve(clientId, () => decodeMessage(bytes));
    const id = this.instructions!.participants.indexOf(clientId);
    if (m.type !== type)
      throw new UpdateRejected(clientId, `secure aggregation: sent '${m.type}' where '${type}' was due`);
    if (!('from' in m) || m.from !== id)
      throw new UpdateRejected(clientId, `secure aggregation: a message signed as another client's`);
    return m as Extract<SecAggMessage, { type: T }>;
  }

  receive(clientId: string, bytes: Uint8Array): void {
    if (!this.server)
      throw new UpdateRejected(
        clientId,
        'sent a secure-aggregation message in a round without secure aggregation',
      );
    if (this.finished || this.result)
      throw new Error('round already finished: no more messages can be received');
    if (this.advertised.has(clientId))
      throw new UpdateRejected(clientId, 'a second first message from the same client in this round');
    const m = this.message(clientId, bytes, 'advertise-keys');
    this.serve(clientId, () => this.server!.receiveAdvertisedKeys(m));
    this.advertised.add(clientId);
  }

  async complete(channel: RoundChannel): Promise<void> {
    const server = this.server;
    if (!server) return;
    const started = performance.now();
    const participants = this.instructions!.participants;
    const outgoing = (messages: (SecAggMessage & { to: number })[]) =>
      messages.map((m) => {
        const payload = encodeMessage(m);
        this.bytesDown += payload.length;
        return { clientId: participants[m.to], payload };
      });
    /**
     * Runs one stage: the server's messages out, each answer decoded, checked to be the `reply`
     * due from its sender, and handed to the server. Who was sent a message and did not answer is
     * lost after the previous stage.
     */
    const stage = async <T extends SecAggMessage['type']>(
      name: Stage,
      close: () => (SecAggMessage & { to: number })[],
      reply: T,
      receive: (m: Extract<SecAggMessage, { type: T }>) => void,
      lostAfter: string[],
    ) => {
      const sent = outgoing(this.serve('server', close));
      const answered = new Set<string>();
      await channel.exchange(name, sent, (clientId, bytes) => {
        const m = this.message(clientId, bytes, reply);
        this.serve(clientId, () => receive(m));
        answered.add(clientId);
      });
      for (const m of sent) if (!answered.has(m.clientId)) lostAfter.push(m.clientId);
    };
    try {
      const lost = this.lost;
      await stage(
        'share-keys',
        () => server.closeAdvertising(),
        'share-keys',
        (m) => server.receiveSharedKeys(m),
        lost.afterAdvertise,
      );
      await stage(
        'masked-input',
        () => server.closeKeySharing(),
        'masked-input',
        (m) => server.receiveMaskedInput(m),
        lost.afterShareKeys,
      );
      await stage(
        'unmasking',
        () => server.closeMaskedInputs(),
        'unmask-response',
        (m) => server.receiveUnmaskResponse(m),
        lost.afterMaskedInput,
      );
      this.result = this.serve('server', () => server.finish());
    } catch (e) {
      // Too few survivors, a secret that cannot be rebuilt...: the round ends without a model.
      if (e instanceof SecAggAbortError) {
        this.failure = new RoundAborted(e.message.replace('round aborted: ', ''));
        throw this.failure;
      }
      throw e;
    } finally {
      this.totalMs = performance.now() - started;
    }
  }

  auxiliarySum(): readonly number[] | undefined {
    return this.auxSum;
  }

  finish(): RoundResult {
    if (this.finished) return { ...this.finished, global: Float32Array.from(this.finished.global) };
    if (this.failure) throw this.failure;
    const n = this.advertised.size;
    if (n === 0) throw new RoundAborted('no update was accepted');
    if (!this.instructions || n === 1)
      throw new RoundAborted(
        `secure aggregation needs at least 2 clients (the sum of one update is that update); ${n} took part`,
      );
    const report = this.result;
    if (!report) throw new Error('secure aggregation: finish before the protocol completed');
    const s = this.instructions;
    const d = this.ctx.global.length;
    const range = s.range;
    // mean = Ŝ·r / Ŵ: Ŝ the decoded Σ uᵢ·xᵢ, Ŵ the decoded Σ uᵢ·r.
    const sum = report.sum;
    const weight = sum[d];
    // The protocol's bound is against the sum of the float32 inputs; each input value (≤ r) was
    // rounded to float32 once when weighted, so add that too.
    const E = report.errorBound + report.survivors.length * range * 2 ** -24;
    if (!(weight - E > 0)) {
      this.failure = new RoundAborted(
        `the survivors' total weight ${weight} is within the quantization error ${E}: use more bits or fewer clients`,
      );
      throw this.failure;
    }
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
    const totalExamples = (weight / range) * s.maxWeight;
    this.auxSum = Array.from(sum.subarray(d + 1));
    const survivorIds = report.survivors.map((id) => s.participants[id]);
    const statistics: SecureAggregationRoundStats = {
      round: this.ctx.round,
      clients: s.participants.length,
      survivors: survivorIds.length,
      survivorIds,
      dropped: {
        beforeAdvertise: s.participants.filter((id) => !this.advertised.has(id)),
        ...this.lost,
      },
      recoveredDropouts: report.recoveredDropouts.length,
      excluded: report.excluded.length,
      neighbours: s.neighbours,
      threshold: s.threshold,
      bits: s.bits,
      range,
      totalExamples,
      errorBound: report.errorBound,
      meanErrorBound,
      serverSeconds: this.serverMs / 1000,
      totalSeconds: this.totalMs / 1000,
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      cryptoSuite: this.owner.options.crypto.name,
    };
    this.inner.add({
      clientId: `secagg(${survivorIds.length} clients)`,
      delta: mean,
      numExamples: totalExamples,
    });
    const inner = this.inner.finish();
    this.finished = {
      global: inner.global,
      statistics: { ...inner.statistics, secureAggregation: statistics },
      contributors: survivorIds.length,
    };
    return { ...this.finished, global: Float32Array.from(this.finished.global) };
  }
}

/**
 * The strategy interface of the federated round engine (Flower's configure / aggregate / evaluate
 * split, made streaming). One strategy object drives both the in-process simulation and a real
 * deployment: it never sees transport, only the global parameters and the clients' updates.
 *
 * A round: the engine asks the strategy which clients to use and with what instructions
 * (`configureFit`), sends them the global parameters, and folds each result into the round's
 * aggregator as it arrives (`beginRound` → `add` ... → `finish`), which returns the next global
 * parameters. Updates travel as deltas (local − global): a zero update means "no change", server
 * optimizers (FedAdam, FedAvgM...) treat the mean delta as a pseudo-gradient, and clipping and
 * masking act on the delta.
 */
import type { Rng } from '../util/rng.js';
import type { SumBackendFactory } from '../tensor/weighted-sum.js';

/** What the server knows of a registered client. */
export interface ClientInfo {
  id: string;
  /** Number of local training examples, when the client reported it. */
  numExamples?: number;
}

/**
 * Instructions for one client's half of a round: how to train, then which update transforms to
 * apply, in this order, before the update leaves the device (federation/client-pipeline.ts):
 * local training (plain, DP-SGD with `dpSgd`, or distillation with `distillation`) → clip and noise
 * (`dp`) → encode (`codec`).
 * Plain data: it travels to workers, over the network and to browsers as it is.
 */
export interface FitConfig {
  /** Local epochs, or `localSteps` for a fixed number of steps. */
  localEpochs?: number;
  localSteps?: number;
  batchSize: number;
  lr: number;
  /** FedProx proximal coefficient (0 or absent: plain local SGD). */
  proximalMu?: number;
  /** Train with DP-SGD (example-level DP: per-example clipping and noise) instead of plain SGD. */
  dpSgd?: DpSgdInstructions;
  /**
   * Train on the distillation loss against the teacher the client holds (ClientEnvironment.teacher:
   * it runs on the client and never travels) instead of on the hard labels alone.
   */
  distillation?: DistillationInstructions;
  /** Clip the update and add this client's share of the noise (DP-FedAvg with distributed noise). */
  dp?: ClientDpInstructions;
  /** Encode the update with this codec (a codecByName spec: 'float16', 'qsgd8', 'topk:0.01'). */
  codec?: string;
  /**
   * Mask the update for secure aggregation (SecAgg / SecAgg+): the client then sends the protocol's
   * first message instead of its update and answers the server's next three stages.
   */
  secureAggregation?: SecureAggregationInstructions;
  /** Anything else a custom client understands. */
  extra?: Record<string, number | string | boolean>;
}

/** alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − alpha) · CE(student, label). */
export interface DistillationInstructions {
  temperature: number;
  alpha: number;
}

export interface DpSgdInstructions {
  noiseMultiplier: number;
  clipNorm: number;
  /** Seeded noise and sampling, for reproducible simulations only; absent: cryptographic noise. */
  seeded?: boolean;
}

/**
 * One secure-aggregation round's public parameters (privacy/secagg/params.ts) as plain data, and
 * how a client turns its update into the protocol's input vector:
 *   [ u·clip(Δ) (each value cut to [−range, range]), u·range, auxiliary values... ],
 *   u = the client's weight / maxWeight.
 */
export interface SecureAggregationInstructions {
  /** 32 public random bytes, hex. */
  roundId: string;
  /** The invited clients; a client's protocol id is its position here. */
  participants: string[];
  /** Values of the input vector: the model's, one weight slot, then `auxiliary` slots. */
  vectorLength: number;
  auxiliary: number;
  neighbours: number;
  threshold: number;
  bits: number;
  range: number;
  rounding: 'nearest' | 'stochastic';
  prg: string;
  /** The largest weight among the participants (examples, or 1 when every client weighs 1). */
  maxWeight: number;
  /** Scale the update down to this L2 norm before weighting (absent: no norm clipping). */
  clipNorm?: number;
}

export interface ClientDpInstructions {
  /** Clip the update to this L2 norm. */
  clipNorm: number;
  /** Then add N(0, noiseStd²) to every value (this client's share of the round's noise). */
  noiseStd: number;
  /**
   * Adaptive clipping: report s·(b + N(0, countNoiseStd²)) as the update's auxiliary value, b = 1
   * when the update was within the clip norm (Andrew et al. 2021).
   */
  countScale?: number;
  countNoiseStd?: number;
  /** Seeded noise, for reproducible simulations only; absent: cryptographic noise. */
  seeded?: boolean;
}

/** One client's result. */
export interface ClientUpdate {
  clientId: string;
  /** Local parameters minus the round's global parameters, one value per parameter. */
  delta: Float32Array;
  /** Examples the client trained on (the FedAvg weight). */
  numExamples: number;
  /** e.g. train loss, accuracy, seconds. */
  metrics?: Record<string, number>;
  /**
   * A few values a privacy layer needs summed over the round's clients alongside the deltas, and
   * kept inside the secure sum when there is one: DP-FedAvg's noisy "my update was not clipped"
   * indicator for adaptive clipping under distributed noise. Never averaged into the model.
   */
  auxiliary?: readonly number[];
}

/**
 * What the aggregation layers report about one round, one entry per layer ('dp',
 * 'secureAggregation'...). Each layer declares its entry where it is defined, by augmenting this
 * interface (`declare module '.../fl/strategy.js' { interface AggregationStatistics { dp?: ... } }`),
 * so the record stays typed without this file knowing every layer.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AggregationStatistics {}

/** A round's result: the next global parameters and what the aggregation did. */
export interface RoundResult {
  global: Float32Array;
  statistics: AggregationStatistics;
  /**
   * Clients whose update is in the aggregate, when that is fewer than were accepted (secure
   * aggregation's survivors); absent: every accepted update.
   */
  contributors?: number;
}

/** Folds updates into the round's result as they arrive. */
export interface RoundAggregator {
  /** Adds one client's update; throws (leaving the aggregator unchanged) if it is invalid. */
  add(update: ClientUpdate): void;
  /** Updates accepted so far. */
  readonly count: number;
  /**
   * The next global parameters (a new array: the round's `global` is not modified) with the round's
   * statistics. Throws if no update was accepted.
   */
  finish(): RoundResult;
  /**
   * After `finish`, Σ of the `auxiliary` values of the updates that made it into the aggregate, for
   * aggregators that carry them (secure aggregation: over the protocol's survivors only).
   */
  auxiliarySum?(): readonly number[] | undefined;
  /**
   * Multi-stage aggregation (secure aggregation): a client's first protocol message, which arrives
   * in place of an update. Throws UpdateRejected (leaving the aggregator unchanged) if it is invalid.
   */
  receive?(clientId: string, message: Uint8Array, numExamples: number): void;
  /**
   * Multi-stage aggregation: after the fits, the protocol's further stages with the clients, through
   * `channel`; `finish` follows. Throws RoundAborted when the round cannot end with a model.
   */
  complete?(channel: RoundChannel): Promise<void>;
}

/** The server's line to the clients of a round in progress, for its later stages. */
export interface RoundChannel {
  /**
   * Sends each message and calls `onReply` with each answer. A client that fails, vanishes, or
   * answers what `onReply` refuses (by throwing UpdateRejected) is recorded with the reason.
   */
  exchange(
    stage: string,
    messages: readonly { clientId: string; payload: Uint8Array }[],
    onReply: (clientId: string, payload: Uint8Array) => void,
  ): Promise<void>;
}

export interface RoundContext {
  round: number;
  /** The global parameters the clients start from (read-only by contract). */
  global: Float32Array;
  rng: Rng;
  /** Clients available this round (the population the sample is drawn from); set by the engine. */
  available?: number;
  /**
   * The probability that any one available client is in this round's sample: the fraction for
   * Poisson sampling, selected / available for a fixed-size sample. Privacy accounting uses it; set
   * by the engine.
   */
  samplingRate?: number;
  /**
   * The back-end of the round's weighted sums (the 'sum' strategies); the engine sets it from the
   * platform (RoundEngineOptions.sumBackend). Default: WebAssembly SIMD where available.
   */
  sumBackend?: SumBackendFactory;
  /**
   * false: the robust strategies' pairwise and per-coordinate kernels run as plain loops, as on
   * runtimes without WebAssembly SIMD (same results; for tests and benchmarks). Default: SIMD where
   * available.
   */
  simd?: boolean;
}

/**
 * How a strategy's differential-privacy guarantee grows round by round. The engine reports `spent`
 * after every round and, given a budget, stops before the round that would exceed it.
 */
export interface PrivacyLedger {
  /** The (epsilon, delta) guarantee of the rounds released so far. */
  spent(): { epsilon: number; delta: number };
  /** What `spent` would become after one more round at this client sampling rate. */
  spentAfterNextRound(samplingRate: number): { epsilon: number; delta: number };
}

/**
 * 'sum': the aggregate is a function of a (weighted) sum of updates, so it can run under secure
 * aggregation; 'individual': it needs each update (median, Krum...) and refuses secure aggregation.
 */
export type AggregationKind = 'sum' | 'individual';

export interface Strategy {
  readonly name: string;
  readonly aggregation: AggregationKind;
  /**
   * Adjusts a round's plan: receives the clients the engine sampled (fraction / minimum) and the
   * base instructions; may narrow the clients and change the config (e.g. FedProx sets its mu).
   */
  configureFit?(
    ctx: RoundContext,
    available: readonly ClientInfo[],
    base: FitConfig,
  ): { clients: ClientInfo[]; config: FitConfig };
  /**
   * 'poisson': every available client joins a round independently with probability fractionFit (the
   * sampling that privacy amplification assumes — DP-FedAvg asks for it); default 'fixed': a
   * uniformly random subset of fixed size.
   */
  readonly clientSampling?: 'fixed' | 'poisson';
  /**
   * The fewest updates a round can aggregate (Krum's 2f + 3...); absent: 1. A run refuses, before
   * any work, settings whose rounds train fewer clients.
   */
  readonly minUpdates?: number;
  /** Present on strategies that give a differential-privacy guarantee. */
  readonly privacy?: PrivacyLedger;
  /** Starts aggregating a round. */
  beginRound(ctx: RoundContext): RoundAggregator;
  /** Server-side state (momentum, optimizer moments) for checkpoints: plain JSON + typed arrays. */
  getState?(): StrategyState;
  setState?(state: StrategyState): void;
}

export interface StrategyState {
  json: Record<string, unknown>;
  arrays: Record<string, Float32Array>;
}

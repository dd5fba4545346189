/**
 * The federated round engine: one engine for simulation and deployment (the executor decides
 * where fits run). Each round it samples clients, hands their fits to the executor, folds every
 * result into the strategy's streaming aggregator as it arrives, and — if enough clients
 * succeeded — replaces the global model. Failed, dropped, late and refused clients are recorded
 * with their reason; a round with too few results is recorded and leaves the global model as it
 * was, so nothing a client sends can crash the server or poison the model.
 */
import { Rng } from '../util/rng.js';
import type { FitExecutor, FitOutcome, FitTask } from './executor.js';
import { poissonSample, sampleClients } from './strategies/client-sampling.js';
import type {
  AggregationStatistics,
  ClientInfo,
  ClientUpdate,
  FitConfig,
  RoundChannel,
  Strategy,
} from './strategy.js';
import type { SumBackendFactory } from '../tensor/weighted-sum.js';
import { RoundAborted, UpdateRejected } from './update-check.js';
import {
  checkFederatedEvaluation,
  evaluateFederated,
  type FederatedEvaluationOptions,
  type FederatedEvaluationResult,
} from './federated-evaluation.js';

export interface EvaluationResult {
  loss: number;
  accuracy?: number;
  /** Anything else worth recording. */
  [metric: string]: number | undefined;
}

export interface RoundEngineOptions {
  strategy: Strategy;
  /**
   * The registered clients; a function when the federation grows while it runs (a server's enrolled
   * devices), read at the start of every round.
   */
  clients: readonly ClientInfo[] | (() => readonly ClientInfo[]);
  executor: FitExecutor;
  /** Local training instructions; a function to change them by round (e.g. learning-rate decay). */
  fitConfig: FitConfig | ((round: number) => FitConfig);
  /** Fraction of available clients trained per round (C in FedAvg), and a minimum number. */
  fractionFit?: number;
  minFitClients?: number;
  /** Rounds start only when at least this many clients are available (default 1). */
  minAvailableClients?: number;
  /** Successful results needed to update the global model (default 1). */
  minResults?: number;
  /** Centralized evaluation of the global model after each round. */
  evaluate?: (global: Float32Array, round: number) => Promise<EvaluationResult>;
  /**
   * Federated evaluation of the new global model after each round, by a sample of the clients on
   * their own held-out data (needs an executor with `evaluate`). Not with differential privacy:
   * the clients' figures are functions of their data that no noise covers.
   */
  federatedEvaluation?: FederatedEvaluationOptions;
  /** Root seed: each round's randomness derives from (seed, round), so a resumed run continues identically. */
  seed?: number;
  /** Which clients are available in a round (late joiners, churn); default: all. */
  availableAt?: (round: number, clients: readonly ClientInfo[]) => readonly ClientInfo[];
  /**
   * Differential-privacy budget (epsilon, at the strategy's delta): with a strategy that keeps a
   * privacy ledger, a round that would take the spent epsilon above it is not run and the report
   * says so (`stopped`). Ignored by strategies without a ledger.
   */
  privacyBudget?: number;
  /** The back-end of the rounds' weighted sums (e.g. @edgefl/node's parallelSumBackend); default: SIMD where available. */
  sumBackend?: SumBackendFactory;
}

export interface ClientProblem {
  clientId: string;
  kind: 'failed' | 'dropped' | 'late' | 'excluded';
  reason: string;
}

export interface RoundReport {
  round: number;
  available: number;
  selected: number;
  /** Updates folded into the aggregate. */
  aggregated: number;
  problems: ClientProblem[];
  /** Whether the global model changed this round. */
  updated: boolean;
  /** Why not, when it did not. */
  skippedReason?: string;
  /** Example-weighted mean of the clients' reported training loss / accuracy. */
  trainLoss?: number;
  trainAccuracy?: number;
  evaluation?: EvaluationResult;
  federatedEvaluation?: FederatedEvaluationResult;
  bytesUp: number;
  bytesDown: number;
  seconds: number;
  /** Clients' own compute (sum of their reported seconds), to separate engine overhead. */
  clientSeconds: number;
  /** The privacy guarantee after this round, for strategies that keep a privacy ledger. */
  privacy?: { epsilon: number; delta: number };
  /** Set when the run must end here (e.g. the privacy budget is exhausted); the round did not run. */
  stopped?: string;
  /** What the aggregation layers reported (when the model was updated). */
  statistics?: AggregationStatistics;
}

export function roundRng(seed: number, round: number): Rng {
  return new Rng((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(round + 1, 0xc2b2ae35)) >>> 0);
}

/**
 * The seed of one client's local training in one round: a function of (root seed, round, client id)
 * only, so every executor — in-process, worker pool, remote — gives a client the same randomness
 * whatever the order in which fits run.
 */
export function clientSeed(seed: number, round: number, clientId: string): number {
  let h = 0x811c9dc5; // FNV-1a over the id
  for (let i = 0; i < clientId.length; i++) h = Math.imul(h ^ clientId.charCodeAt(i), 0x01000193);
  return roundRng(seed ^ h, round).nextUint32();
}

export class RoundEngine {
  constructor(readonly options: RoundEngineOptions) {
    if (typeof options.clients !== 'function') {
      if (options.clients.length === 0) throw new Error('RoundEngine: no clients registered');
      const ids = new Set<string>();
      for (const c of options.clients) {
        if (ids.has(c.id)) throw new Error(`RoundEngine: client id '${c.id}' is registered twice`);
        ids.add(c.id);
      }
    }
    const minResults = options.minResults ?? 1;
    if (!Number.isInteger(minResults) || minResults < 1)
      throw new Error(`minResults must be an integer >= 1, got ${minResults}`);
    if (options.privacyBudget !== undefined && !(options.privacyBudget > 0))
      throw new Error(`privacyBudget must be a positive epsilon, got ${options.privacyBudget}`);
    if (options.federatedEvaluation) {
      checkFederatedEvaluation(options.federatedEvaluation);
      if (!options.executor.evaluate)
        throw new Error(
          'federated evaluation needs an executor whose clients can evaluate (executor.evaluate)',
        );
      if (options.strategy.privacy)
        throw new Error(
          "federated evaluation reports the clients' own loss and accuracy, which differential privacy does not cover; evaluate centrally instead",
        );
    }
  }

  /**
   * The line to a round's clients for the later stages of a multi-stage aggregation: messages go
   * out through the executor; traffic is counted, and every client lost or refused at a stage is
   * recorded in the report with the stage.
   */
  private channel(round: number, report: RoundReport): RoundChannel {
    const executor = this.options.executor;
    return {
      exchange: async (stage, messages, onReply) => {
        if (!executor.exchange)
          throw new Error(
            `this executor cannot carry a round's '${stage}' stage (it has no exchange): secure aggregation needs one that can`,
          );
        for (const m of messages) report.bytesDown += m.payload.length;
        await executor.exchange(round, stage, messages, (r) => {
          if (!r.ok) {
            report.problems.push({
              clientId: r.clientId,
              kind: r.kind,
              reason: `${r.reason} (at stage '${stage}')`,
            });
            return;
          }
          report.bytesUp += r.payload.length;
          report.clientSeconds += r.seconds;
          try {
            onReply(r.clientId, r.payload);
          } catch (e) {
            if (!(e instanceof UpdateRejected)) throw e;
            report.problems.push({
              clientId: r.clientId,
              kind: 'excluded',
              reason: `${e.reason} (at stage '${stage}')`,
            });
          }
        });
      },
    };
  }

  /** One round from `global`; returns the next global parameters (or `global` itself) and the report. */
  async runRound(
    round: number,
    global: Float32Array,
  ): Promise<{ global: Float32Array; report: RoundReport }> {
    const o = this.options;
    const started = performance.now();
    const rng = roundRng(o.seed ?? 0, round);
    const registered = typeof o.clients === 'function' ? o.clients() : o.clients;
    const available = o.availableAt ? o.availableAt(round, registered) : registered;
    const base = typeof o.fitConfig === 'function' ? o.fitConfig(round) : o.fitConfig;
    const report: RoundReport = {
      round,
      available: available.length,
      selected: 0,
      aggregated: 0,
      problems: [],
      updated: false,
      bytesUp: 0,
      bytesDown: 0,
      seconds: 0,
      clientSeconds: 0,
    };
    const minAvailable = o.minAvailableClients ?? 1;
    if (available.length < minAvailable) {
      report.skippedReason = `${available.length} clients available, the round needs ${minAvailable}`;
      report.seconds = (performance.now() - started) / 1000;
      return { global, report };
    }
    // The engine samples; a strategy's configureFit then sees only the sampled clients (it may
    // narrow them) and sets its part of the instructions (e.g. FedProx's mu).
    const poisson = o.strategy.clientSampling === 'poisson';
    const sampled = poisson
      ? poissonSample(available, o.fractionFit ?? 1, rng)
      : sampleClients(available, { fractionFit: o.fractionFit, minFitClients: o.minFitClients }, rng);
    const samplingRate = poisson ? (o.fractionFit ?? 1) : sampled.length / available.length;
    const ledger = o.strategy.privacy;
    if (ledger && o.privacyBudget !== undefined) {
      const next = ledger.spentAfterNextRound(samplingRate);
      if (next.epsilon > o.privacyBudget) {
        const now = ledger.spent();
        report.stopped = `privacy budget exhausted: epsilon ${now.epsilon.toFixed(3)} spent, one more round would bring it to ${next.epsilon.toFixed(3)} > ${o.privacyBudget} (delta ${now.delta})`;
        report.privacy = now;
        report.seconds = (performance.now() - started) / 1000;
        return { global, report };
      }
    }
    const ctx = { round, global, rng, available: available.length, samplingRate, sumBackend: o.sumBackend };
    const plan = o.strategy.configureFit
      ? o.strategy.configureFit(ctx, sampled, base)
      : { clients: sampled, config: base };
    report.selected = plan.clients.length;
    const tasks: FitTask[] = plan.clients.map((client) => ({ client, config: plan.config }));
    const aggregator = o.strategy.beginRound(ctx);
    let lossSum = 0;
    let accSum = 0;
    let weightLoss = 0;
    let weightAcc = 0;
    const onOutcome = (r: FitOutcome) => {
      if (!r.ok) {
        report.problems.push({ clientId: r.clientId, kind: r.kind, reason: r.reason });
        return;
      }
      report.bytesUp += r.bytesUp;
      report.bytesDown += r.bytesDown;
      report.clientSeconds += r.seconds;
      if (r.upload.kind === 'secure') {
        // Secure aggregation: the client's first protocol message, in place of its update.
        if (!aggregator.receive) {
          report.problems.push({
            clientId: r.clientId,
            kind: 'excluded',
            reason: 'sent a secure-aggregation message to a round without secure aggregation',
          });
          return;
        }
        try {
          aggregator.receive(r.clientId, r.upload.message, r.numExamples);
        } catch (e) {
          if (!(e instanceof UpdateRejected)) throw e;
          report.problems.push({ clientId: r.clientId, kind: 'excluded', reason: e.reason });
          return;
        }
      } else if (r.upload.kind !== 'delta') {
        // Decoding is an executor layer (fl/executors/decode.ts); bytes reaching the engine were not decoded.
        report.problems.push({
          clientId: r.clientId,
          kind: 'failed',
          reason: `sent a ${r.upload.codec} update, and this federation decodes none`,
        });
        return;
      } else {
        const update: ClientUpdate = {
          clientId: r.clientId,
          delta: r.upload.delta,
          numExamples: r.numExamples,
          metrics: r.metrics,
          ...(r.upload.auxiliary ? { auxiliary: r.upload.auxiliary } : {}),
        };
        try {
          aggregator.add(update);
        } catch (e) {
          // Refused updates change nothing; anything else from the aggregator is a bug to surface.
          if (e instanceof UpdateRejected) {
            report.problems.push({ clientId: r.clientId, kind: 'excluded', reason: e.reason });
            return;
          }
          throw e;
        }
      }
      report.aggregated++;
      const m = r.metrics;
      if (m?.loss !== undefined && Number.isFinite(m.loss)) {
        lossSum += m.loss * r.numExamples;
        weightLoss += r.numExamples;
      }
      if (m?.accuracy !== undefined && Number.isFinite(m.accuracy)) {
        accSum += m.accuracy * r.numExamples;
        weightAcc += r.numExamples;
      }
    };
    await o.executor.run(round, global, tasks, onOutcome);
    let aborted: string | undefined;
    if (aggregator.complete && report.aggregated > 0) {
      try {
        await aggregator.complete(this.channel(round, report));
      } catch (e) {
        if (!(e instanceof RoundAborted)) throw e;
        aborted = e.reason;
      }
    }
    // Under differential privacy only the noised aggregate may leave the round: the clients'
    // reported training loss and accuracy are functions of their data that no noise covers.
    if (!o.strategy.privacy) {
      if (weightLoss) report.trainLoss = lossSum / weightLoss;
      if (weightAcc) report.trainAccuracy = accSum / weightAcc;
    }

    let next = global;
    const minResults = o.minResults ?? 1;
    if (aborted !== undefined) report.skippedReason = aborted;
    else if (report.aggregated < minResults) {
      report.skippedReason = `${report.aggregated} of ${report.selected} clients returned a usable update, the round needs ${minResults}`;
    } else {
      try {
        const result = aggregator.finish();
        next = result.global;
        report.statistics = result.statistics;
        // Fewer than were accepted when some vanished inside a multi-stage protocol.
        if (result.contributors !== undefined) report.aggregated = result.contributors;
        report.updated = true;
      } catch (e) {
        if (!(e instanceof RoundAborted)) throw e;
        report.skippedReason = e.reason;
      }
    }
    if (ledger) report.privacy = ledger.spent();
    if (o.evaluate) report.evaluation = await o.evaluate(next, round);
    const fe = o.federatedEvaluation;
    if (fe && (fe.when?.(round) ?? true))
      report.federatedEvaluation = await evaluateFederated(
        o.executor,
        round,
        next,
        available,
        fe,
        // A stream of its own: turning federated evaluation on leaves the fit sampling unchanged.
        roundRng((o.seed ?? 0) ^ 0xe7a1, round),
      );
    report.seconds = (performance.now() - started) / 1000;
    return { global: next, report };
  }
}

/**
 * The typed record of one finished round: what the run hands to every subscriber (the metrics
 * files, the terminal line, a dashboard) and what a checkpoint keeps, one per completed round.
 * Flat numbers a table or a chart can take column by column; the clients left out, with the reason,
 * and what each aggregation layer reported, ride along.
 */
import type { ClientProblem, RoundReport } from './engine.js';
import type { AggregationStatistics } from './strategy.js';

export interface RoundRecord {
  round: number;
  /** Central evaluation of the new global model (absent in rounds that were not evaluated). */
  accuracy?: number;
  loss?: number;
  /** Example-weighted mean of the clients' reported training loss (not under DP). */
  trainLoss?: number;
  /** Federated evaluation on the clients' own held-out data. */
  clientAccuracy?: number;
  clientLoss?: number;
  clientsEvaluated?: number;
  clientEvalFailed?: number;
  /** Clients present, sampled, and whose update is in the aggregate. */
  available: number;
  selected: number;
  aggregated: number;
  dropped: number;
  late: number;
  failed: number;
  excluded: number;
  /** Whether the global model changed. */
  updated: boolean;
  /** This round's traffic: the clients' uploads and the model sent to them, bytes. */
  bytesUp: number;
  bytesDown: number;
  seconds: number;
  clientSeconds: number;
  problems: ClientProblem[];
  skippedReason?: string;
  /** Client-level (epsilon, delta) spent after this round, under DP. */
  epsilon?: number;
  /** What else the run adds (e.g. the simulation's local DP-SGD bound). */
  localEpsilon?: number;
  /** What the aggregation layers reported ('dp', 'secureAggregation', ...). */
  statistics?: AggregationStatistics;
}

const count = (r: RoundReport, kind: ClientProblem['kind']) =>
  r.problems.filter((p) => p.kind === kind).length;
const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : undefined);

/** The record of an engine's round report. */
export function roundRecordOf(r: RoundReport): RoundRecord {
  const fe = r.federatedEvaluation;
  return {
    round: r.round,
    accuracy: r.evaluation?.accuracy,
    loss: finite(r.evaluation?.loss),
    trainLoss: r.trainLoss,
    ...(fe
      ? {
          clientAccuracy: fe.accuracy,
          clientLoss: finite(fe.loss),
          clientsEvaluated: fe.clients,
          clientEvalFailed: fe.failed.length,
        }
      : {}),
    available: r.available,
    selected: r.selected,
    aggregated: r.aggregated,
    dropped: count(r, 'dropped'),
    late: count(r, 'late'),
    failed: count(r, 'failed'),
    excluded: count(r, 'excluded'),
    updated: r.updated,
    bytesUp: r.bytesUp,
    bytesDown: r.bytesDown,
    seconds: r.seconds,
    clientSeconds: r.clientSeconds,
    problems: r.problems,
    skippedReason: r.skippedReason,
    epsilon: r.privacy?.epsilon,
    ...(r.statistics && Object.keys(r.statistics).length ? { statistics: r.statistics } : {}),
  };
}

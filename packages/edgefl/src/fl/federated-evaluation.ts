/**
 * Federated evaluation: a sample of the clients evaluates the new global model on data of their own
 * that they never train on, and the round reports the example-weighted mean of their loss and
 * accuracy. Under non-IID data this is the figure that says how the model serves the clients, which
 * a central test set drawn from the pooled distribution cannot (Flower's `evaluate` rounds).
 *
 * Clients report two numbers each; a report that cannot be a loss (not finite, negative) or an
 * accuracy outside [0, 1], or a non-positive example count, is left out with the reason, so that
 * one broken client cannot turn the round's figure into NaN.
 */
import type { Rng } from '../util/rng.js';
import type { EvaluateOutcome, FitExecutor } from './executor.js';
import { sampleClients } from './strategies/client-sampling.js';
import type { ClientInfo } from './strategy.js';

export interface FederatedEvaluationOptions {
  /** Fraction of the clients present that evaluate each round. */
  fraction: number;
  /** At least this many (default 1), when that many are present. */
  minClients?: number;
  /** Rounds that run it (default: every round). */
  when?: (round: number) => boolean;
}

export interface FederatedEvaluationResult {
  /** Example-weighted mean of the clients' losses on their own held-out data (NaN: no client answered). */
  loss: number;
  /** Example-weighted mean accuracy, over the clients that reported one. */
  accuracy?: number;
  /** Clients whose figures are in the means, and their examples. */
  clients: number;
  examples: number;
  /** Clients asked that failed or whose report was refused, with the reason. */
  failed: { clientId: string; reason: string }[];
}

export function checkFederatedEvaluation(o: FederatedEvaluationOptions): void {
  if (!(o.fraction > 0 && o.fraction <= 1))
    throw new RangeError(`federated evaluation: fraction must be in (0, 1], got ${o.fraction}`);
  if (o.minClients !== undefined && !(Number.isInteger(o.minClients) && o.minClients >= 1))
    throw new RangeError(`federated evaluation: minClients must be an integer >= 1, got ${o.minClients}`);
}

/** Why an outcome cannot enter the means, or undefined when it can. */
function refusal(o: Extract<EvaluateOutcome, { ok: true }>): string | undefined {
  if (!(Number.isInteger(o.numExamples) && o.numExamples > 0))
    return `reported ${o.numExamples} examples; a positive integer is needed`;
  if (!(Number.isFinite(o.loss) && o.loss >= 0)) return `reported a loss of ${o.loss}`;
  if (o.accuracy !== undefined && !(o.accuracy >= 0 && o.accuracy <= 1))
    return `reported an accuracy of ${o.accuracy}, outside [0, 1]`;
  return undefined;
}

/** Runs one federated evaluation of `global` among `available` (loss NaN when no client answered). */
export async function evaluateFederated(
  executor: FitExecutor,
  round: number,
  global: Float32Array,
  available: readonly ClientInfo[],
  options: FederatedEvaluationOptions,
  rng: Rng,
): Promise<FederatedEvaluationResult> {
  if (!executor.evaluate) throw new Error('federated evaluation: this executor cannot evaluate on clients');
  const chosen = sampleClients(
    available,
    { fractionFit: options.fraction, minFitClients: options.minClients },
    rng,
  );
  const failed: FederatedEvaluationResult['failed'] = [];
  let examples = 0;
  let lossSum = 0;
  let accExamples = 0;
  let accSum = 0;
  let clients = 0;
  await executor.evaluate(
    round,
    global,
    chosen.map((client) => ({ client })),
    (o) => {
      const why = o.ok ? refusal(o) : o.reason;
      if (!o.ok || why !== undefined) {
        failed.push({ clientId: o.clientId, reason: why ?? 'failed' });
        return;
      }
      clients++;
      examples += o.numExamples;
      lossSum += o.loss * o.numExamples;
      if (o.accuracy !== undefined) {
        accExamples += o.numExamples;
        accSum += o.accuracy * o.numExamples;
      }
    },
  );
  return {
    loss: clients ? lossSum / examples : NaN,
    ...(accExamples ? { accuracy: accSum / accExamples } : {}),
    clients,
    examples,
    failed,
  };
}

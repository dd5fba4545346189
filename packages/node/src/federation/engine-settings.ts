/**
 * The round engine's options that follow from a run's settings alone — the clients' instructions
 * each round and the sampling, minimums and stopping rules — the same for a simulation and a
 * server, so that the two cannot drift apart. What differs (the executor, the clients, evaluation,
 * simulated failures) each run assembles itself.
 */
import type { Dataset, EvaluationResult, FitConfig, RoundEngineOptions, Trainer } from 'edgefl';
import { DEFAULT_LOCAL_EPOCHS, type RunSettings } from './settings.js';

export interface EngineSettingsOptions {
  /**
   * Whether DP-SGD's noise on the clients is seeded: a simulation repeats exactly; real clients
   * must draw cryptographic noise.
   */
  seededClientNoise: boolean;
}

/** The clients' instructions for a round. */
export function fitConfigOf(settings: RunSettings, o: EngineSettingsOptions): (round: number) => FitConfig {
  return (round) => ({
    localEpochs:
      settings.localSteps === undefined ? (settings.localEpochs ?? DEFAULT_LOCAL_EPOCHS) : undefined,
    localSteps: settings.localSteps,
    batchSize: settings.batchSize,
    lr: settings.lr * settings.lrDecay ** (round - 1),
    proximalMu: settings.proximalMu,
    codec: settings.codec,
    dpSgd: settings.localDp
      ? {
          noiseMultiplier: settings.localDp.noiseMultiplier,
          clipNorm: settings.localDp.clipNorm,
          ...(o.seededClientNoise ? { seeded: true } : {}),
        }
      : undefined,
    ...(settings.distillation ? { distillation: settings.distillation } : {}),
  });
}

/** Sampling, minimums, seed, the privacy budget and federated evaluation's sampling. */
export function engineSettingsOf(
  settings: RunSettings,
  o: EngineSettingsOptions,
): Pick<
  RoundEngineOptions,
  | 'fitConfig'
  | 'fractionFit'
  | 'minFitClients'
  | 'minAvailableClients'
  | 'minResults'
  | 'seed'
  | 'privacyBudget'
  | 'federatedEvaluation'
> {
  const fedEval = settings.federatedEvaluation;
  return {
    fitConfig: fitConfigOf(settings, o),
    fractionFit: settings.fraction,
    minFitClients: settings.minFitClients,
    minAvailableClients: settings.minAvailableClients,
    minResults: settings.minResults,
    seed: settings.seed,
    privacyBudget: settings.dp?.epsilonBudget,
    // Clients evaluate the new global model on data they held out, in the rounds that evaluate.
    federatedEvaluation: fedEval
      ? { fraction: fedEval.fraction, minClients: fedEval.minClients, when: evaluatedRound(settings) }
      : undefined,
  };
}

/** Whether a round evaluates (every `evalEvery` rounds, and the last). */
export function evaluatedRound(settings: RunSettings): (round: number) => boolean {
  const every = settings.evalEvery ?? 1;
  return (round) => round % every === 0 || round === settings.rounds;
}

/**
 * The engine's central evaluation: the new global model on a test set the server holds, in the
 * rounds the settings evaluate (others record no figure).
 */
export function centralEvaluation(
  settings: RunSettings,
  evaluator: Trainer,
  test: Dataset,
): (global: Float32Array, round: number) => Promise<EvaluationResult> {
  const evaluated = evaluatedRound(settings);
  return async (global, round) => {
    if (!evaluated(round)) return { loss: NaN };
    evaluator.setParameters(global);
    const r = await evaluator.evaluate(test);
    return { loss: r.loss, accuracy: r.accuracy };
  };
}

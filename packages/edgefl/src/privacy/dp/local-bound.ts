/**
 * The example-level guarantee of clients that all train with DP-SGD (local DP): the worst client's
 * (epsilon, delta) after a number of rounds, as if every client had taken part in every round — a
 * bound, since sampled-out rounds cost a client nothing, but the server does not know who took part
 * in which round under secure aggregation, and a client's guarantee must not depend on it.
 *
 * Clients of the same size have the same sampling rate and steps a round, hence the same guarantee:
 * one accountant per distinct size.
 */
import { RdpAccountant } from './accountant.js';
import { dpSgdStepsPerEpochs } from '../dp-sgd.js';

export interface LocalDpSettings {
  noiseMultiplier: number;
  delta: number;
}

export interface LocalTraining {
  batchSize: number;
  /** A fixed number of steps a round, or epochs. */
  localSteps?: number;
  localEpochs: number;
}

export function localDpBound(
  dp: LocalDpSettings,
  parts: readonly ArrayLike<number>[],
  training: LocalTraining,
): { afterRounds(rounds: number): number } {
  const sizes = [...new Set(parts.map((p) => p.length).filter((n) => n > 0))];
  const perSize = sizes.map((n) => ({
    samplingRate: Math.min(1, training.batchSize / n),
    steps: training.localSteps ?? dpSgdStepsPerEpochs(n, training.batchSize, training.localEpochs),
  }));
  return {
    afterRounds(rounds: number): number {
      let worst = 0;
      for (const s of perSize) {
        const accountant = new RdpAccountant().step(
          { noiseMultiplier: dp.noiseMultiplier, samplingRate: s.samplingRate },
          rounds * s.steps,
        );
        worst = Math.max(worst, accountant.spent(dp.delta).epsilon);
      }
      return worst;
    },
  };
}

/**
 * An executor that hands every fit to `inner` and passes each outcome through `map` on its way back
 * (the shape of every executor layer that acts on what clients send: decoding, simulated damage, a
 * simulated attack). Evaluation and closing go straight through.
 */
import type { FitExecutor, FitOutcome } from '../executor.js';

export function mapOutcomes(
  inner: FitExecutor,
  map: (outcome: FitOutcome, round: number) => FitOutcome,
): FitExecutor {
  return {
    run: (round, global, tasks, onOutcome) =>
      inner.run(round, global, tasks, (o) => onOutcome(map(o, round))),
    evaluate: inner.evaluate?.bind(inner),
    exchange: inner.exchange?.bind(inner),
    close: inner.close?.bind(inner),
  };
}

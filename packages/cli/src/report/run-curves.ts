/**
 * The accuracy and loss curves of a federated run (`accuracy.svg/.png`, `loss.svg/.png` in its
 * folder), redrawn as the run goes — at most every `everySeconds` of wall time, since drawing takes
 * a few hundred milliseconds and rounds can take less — and always when the run ends, however it
 * ends, so an interrupted run has its pictures too.
 */
import { join } from 'node:path';
import type { RoundSubscriber, RoundRecord } from 'edgefl';
import { writeCurves, type CurvePoint } from './curves.js';

export interface RunCurvesOptions {
  title: string;
  /** Name of the central test-set series (e.g. 'central test set' beside federated evaluation). */
  testSeries?: string;
  /** Redraw at most this often while the run goes (default 10 s); 0: only at the end. */
  everySeconds?: number;
}

/** The series of one record field, leaving out rounds where it is absent or not finite. */
function series(history: readonly RoundRecord[], name: string, key: keyof RoundRecord): CurvePoint[] {
  return history
    .map((r) => ({ round: r.round, series: name, value: r[key] as number }))
    .filter((p) => typeof p.value === 'number' && Number.isFinite(p.value));
}

export async function drawRunCurves(
  dir: string,
  history: readonly RoundRecord[],
  o: RunCurvesOptions,
): Promise<void> {
  await writeCurves(
    join(dir, 'accuracy'),
    [
      ...series(history, o.testSeries ?? 'test accuracy', 'accuracy'),
      ...series(history, "clients' own held-out data", 'clientAccuracy'),
    ],
    { title: o.title, yTitle: 'test accuracy' },
  );
  await writeCurves(
    join(dir, 'loss'),
    [
      ...series(history, 'test loss', 'loss'),
      ...series(history, "clients' training loss", 'trainLoss'),
      ...series(history, "clients' own held-out data", 'clientLoss'),
    ],
    { title: o.title, yTitle: 'loss' },
  );
}

export function runCurves(dir: string, o: RunCurvesOptions): RoundSubscriber {
  const every = (o.everySeconds ?? 10) * 1000;
  let last = performance.now();
  return {
    async round(_record, history) {
      if (every <= 0 || performance.now() - last < every) return;
      await drawRunCurves(dir, history, o);
      last = performance.now();
    },
    async end(result) {
      await drawRunCurves(dir, result.history, o);
    },
  };
}

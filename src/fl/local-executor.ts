/**
 * Runs a round's fits in this process, one after the other, on one shared Trainer. The reference
 * executor (and what a browser tab simulating a few clients uses); the worker-thread pool runs the
 * same `fitClient` in parallel.
 */
import type { Dataset } from '../data/dataset.js';
import type { Trainer } from '../runtime/trainer.js';
import type { EvaluateOutcome, EvaluateTask, FitExecutor, FitOutcome, FitTask } from './executor.js';
import { evaluateClient, fitClient } from './trainer-client.js';
import { clientSeed } from './engine.js';

export class LocalExecutor implements FitExecutor {
  constructor(
    private readonly trainer: Trainer,
    /** Each client's data (e.g. a SubsetDataset of index lists into one shared dataset). */
    private readonly dataOf: (clientId: string) => Dataset,
    private readonly seed = 0,
    /** Each client's own held-out data, for federated evaluation (absent: the clients cannot evaluate). */
    testDataOf?: (clientId: string) => Dataset,
  ) {
    if (testDataOf)
      this.evaluate = (_round, global, tasks, onOutcome) =>
        this.evaluateOn(testDataOf, global, tasks, onOutcome);
  }

  readonly evaluate?: FitExecutor['evaluate'];

  async run(
    round: number,
    global: Float32Array,
    tasks: readonly FitTask[],
    onOutcome: (o: FitOutcome) => void,
  ): Promise<void> {
    for (const t of tasks) {
      const seed = clientSeed(this.seed, round, t.client.id);
      const started = performance.now();
      try {
        const update = await fitClient(
          this.trainer,
          t.client.id,
          this.dataOf(t.client.id),
          global,
          t.config,
          seed,
        );
        onOutcome({
          ok: true,
          clientId: t.client.id,
          update,
          seconds: (performance.now() - started) / 1000,
          bytesUp: update.delta.byteLength,
          bytesDown: global.byteLength,
        });
      } catch (e) {
        onOutcome({ ok: false, clientId: t.client.id, kind: 'failed', reason: (e as Error).message });
      }
    }
  }

  private async evaluateOn(
    testDataOf: (clientId: string) => Dataset,
    global: Float32Array,
    tasks: readonly EvaluateTask[],
    onOutcome: (o: EvaluateOutcome) => void,
  ): Promise<void> {
    for (const t of tasks) {
      const started = performance.now();
      try {
        const r = await evaluateClient(this.trainer, testDataOf(t.client.id), global);
        onOutcome({ ok: true, clientId: t.client.id, ...r, seconds: (performance.now() - started) / 1000 });
      } catch (e) {
        onOutcome({ ok: false, clientId: t.client.id, reason: (e as Error).message });
      }
    }
  }
}

/**
 * Runs a round's fits in this process, one after the other, on one shared Trainer: the reference
 * executor (and what a browser tab simulating a few clients uses). The worker-thread pool runs the
 * same client pipeline in parallel; both keep each client's state between its rounds.
 */
import type { Dataset } from '../data/dataset.js';
import type { Trainer } from '../runtime/trainer.js';
import type {
  EvaluateOutcome,
  EvaluateTask,
  FitExecutor,
  FitOutcome,
  FitTask,
  StageMessage,
  StageReply,
} from '../fl/executor.js';
import { clientSeed } from '../fl/engine.js';
import { uploadBytes } from '../fl/upload.js';
import { evaluateClient, fitClient, type ClientEnvironment, type ClientState } from './client-pipeline.js';
import { RoundSessions } from './round-sessions.js';

export class LocalExecutor implements FitExecutor {
  /** Each client's state between its rounds (top-k's residual), by client id. */
  private readonly states = new Map<string, ClientState>();
  /** The clients' rounds in progress (secure aggregation's later stages). */
  private readonly sessions = new RoundSessions();
  private readonly env: ClientEnvironment;

  constructor(
    private readonly trainer: Trainer,
    /** Each client's data (e.g. a SubsetDataset of index lists into one shared dataset). */
    private readonly dataOf: (clientId: string) => Dataset,
    private readonly seed = 0,
    /** Each client's own held-out data, for federated evaluation (absent: the clients cannot evaluate). */
    testDataOf?: (clientId: string) => Dataset,
    /** What the clients hold besides the trainer: cryptography for secure aggregation, a teacher. */
    options: Omit<ClientEnvironment, 'trainer'> = {},
  ) {
    this.env = { ...options, trainer };
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
      const id = t.client.id;
      const started = performance.now();
      let outcome: FitOutcome;
      try {
        const r = await fitClient(this.env, {
          clientId: id,
          data: this.dataOf(id),
          global,
          config: t.config,
          seed: clientSeed(this.seed, round, id),
          state: this.states.get(id),
        });
        this.states.set(id, r.state);
        this.sessions.begin(id, round, r.session);
        outcome = {
          ok: true,
          clientId: id,
          upload: r.upload,
          numExamples: r.numExamples,
          metrics: r.metrics,
          seconds: (performance.now() - started) / 1000,
          bytesUp: uploadBytes(r.upload),
          bytesDown: global.byteLength,
        };
      } catch (e) {
        outcome = { ok: false, clientId: id, kind: 'failed', reason: (e as Error).message };
      }
      onOutcome(outcome);
    }
  }

  async exchange(
    round: number,
    _stage: string,
    messages: readonly StageMessage[],
    onReply: (reply: StageReply) => void,
  ): Promise<void> {
    for (const m of messages) {
      const started = performance.now();
      let reply: StageReply;
      try {
        const payload = this.sessions.answer(m.clientId, round, m.payload);
        reply = { ok: true, clientId: m.clientId, payload, seconds: (performance.now() - started) / 1000 };
      } catch (e) {
        reply = { ok: false, clientId: m.clientId, kind: 'failed', reason: (e as Error).message };
      }
      onReply(reply);
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

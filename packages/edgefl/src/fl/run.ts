/**
 * A federated run: the loop around the round engine that every transport shares — the simulation's
 * worker pool, a network server, a browser tab simulating a few clients. It resumes from the last
 * checkpoint, runs rounds until the last one, a target accuracy, the privacy budget or a stop
 * request, saves a checkpoint after every completed round, and hands each round's typed record to
 * its subscribers as soon as the round ends.
 *
 * It touches nothing but its ports: where checkpoints live (`CheckpointStore`), who hears about
 * rounds (`RoundSubscriber`s: metrics files, the terminal, a dashboard), and the engine (whose
 * executor decides where clients run). The Node adapters of those ports are in @edgefl/node's `io/`
 * (run-files.ts) and @edgefl/server's state folder.
 */
import type { Checkpoint } from './checkpoint.js';
import type { RoundEngine, RoundReport } from './engine.js';
import { roundRecordOf, type RoundRecord } from './round-record.js';

/** Where a run keeps its checkpoint: a file, a database row, a browser's IndexedDB. */
export interface CheckpointStore {
  /** The last checkpoint, or undefined when the run has none. */
  load(): Promise<Checkpoint | undefined>;
  /** Replaces the checkpoint, atomically: an interruption must leave the previous one whole. */
  save(checkpoint: Checkpoint): Promise<void>;
}

/** Hears about a run as it goes. Every method is optional; a subscriber that throws stops the run. */
export interface RoundSubscriber {
  /** Before the first round of this invocation: the rounds already done (a resumed run's history). */
  start?(history: readonly RoundRecord[], info: RunStartInfo): void | Promise<void>;
  /** After every completed round, once its checkpoint is saved. */
  round?(record: RoundRecord, history: readonly RoundRecord[]): void | Promise<void>;
  /** Once, when the run ends for any reason (also after an error or a stop request). */
  end?(result: FederatedRunResult): void | Promise<void>;
}

export interface RunStartInfo {
  /** The round the run starts with (1, or one after the checkpoint's). */
  firstRound: number;
  lastRound: number;
  resumed: boolean;
}

export interface FederatedRunOptions {
  engine: RoundEngine;
  /** The global parameters of round 1 (ignored when resuming). */
  initial: Float32Array;
  /** Run until this round (inclusive). */
  rounds: number;
  /** Stop once the central test accuracy reaches this. */
  targetAccuracy?: number;
  checkpoints?: CheckpointStore;
  /**
   * The run's settings, stored in every checkpoint. On resume `checkResume` receives the stored
   * ones and must throw (naming the setting) if this run cannot continue that one.
   */
  settings: Record<string, unknown>;
  checkResume?: (stored: Record<string, unknown>) => void;
  resume?: boolean;
  subscribers?: readonly RoundSubscriber[];
  /** Adds what only this kind of run knows to a round's record (e.g. a local-DP bound). */
  extendRecord?: (record: RoundRecord, report: RoundReport) => RoundRecord;
  /** Stops the run after the round in progress (e.g. on SIGINT); the checkpoint stays consistent. */
  signal?: AbortSignal;
  /**
   * Awaited before every round (a server waits here until enough clients are connected). A stop
   * request should make it return.
   */
  beforeRound?: (round: number) => Promise<void>;
}

export interface FederatedRunResult {
  /** The global parameters after the last completed round. */
  global: Float32Array;
  /** Every completed round, including those before a resume. */
  history: RoundRecord[];
  /** The rounds this invocation ran. */
  reports: RoundReport[];
  /** The first round that reached the target accuracy. */
  roundsToTarget?: number;
  /** Why the run ended before its last round: the privacy budget, a stop request, an error. */
  stopped?: string;
  /** Set when the run ran rounds but none of them changed the model: what went wrong. */
  failure?: string;
  seconds: number;
}

export class ResumeError extends Error {
  override name = 'ResumeError';
}

export async function runFederated(o: FederatedRunOptions): Promise<FederatedRunResult> {
  const started = performance.now();
  const subscribers = o.subscribers ?? [];
  let global = o.initial;
  let firstRound = 1;
  const history: RoundRecord[] = [];
  if (o.resume) {
    const c = await o.checkpoints?.load();
    if (!c) throw new ResumeError('cannot resume: the run has no checkpoint');
    o.checkResume?.(c.config);
    if (c.global.length !== global.length)
      throw new ResumeError(
        `cannot resume: the checkpoint holds ${c.global.length} parameters, the model has ${global.length}`,
      );
    global = c.global;
    const strategy = o.engine.options.strategy;
    if (c.strategy && strategy.setState) strategy.setState(c.strategy);
    history.push(...(c.metrics as unknown as RoundRecord[]));
    firstRound = c.round + 1;
  }
  const reached = (r: RoundRecord) =>
    o.targetAccuracy !== undefined && r.accuracy !== undefined && r.accuracy >= o.targetAccuracy;
  let roundsToTarget = history.find(reached)?.round;
  for (const s of subscribers)
    await s.start?.(history, { firstRound, lastRound: o.rounds, resumed: !!o.resume });

  const reports: RoundReport[] = [];
  let stopped: string | undefined;
  const result = (): FederatedRunResult => ({
    global,
    history,
    reports,
    roundsToTarget,
    stopped,
    failure: failureOf(reports),
    seconds: (performance.now() - started) / 1000,
  });
  try {
    for (let round = firstRound; round <= o.rounds && roundsToTarget === undefined; round++) {
      if (o.signal?.aborted) {
        stopped = `stopped on request before round ${round}`;
        break;
      }
      await o.beforeRound?.(round);
      if (o.signal?.aborted) {
        stopped = `stopped on request before round ${round}`;
        break;
      }
      const { global: next, report } = await o.engine.runRound(round, global);
      if (report.stopped) {
        stopped = report.stopped;
        break;
      }
      global = next;
      reports.push(report);
      let record = roundRecordOf(report);
      if (o.extendRecord) record = o.extendRecord(record, report);
      history.push(record);
      if (reached(record)) roundsToTarget = round;
      await o.checkpoints?.save({
        round,
        global,
        strategy: o.engine.options.strategy.getState?.(),
        metrics: history as unknown as Record<string, unknown>[],
        config: o.settings,
      });
      for (const s of subscribers) await s.round?.(record, history);
    }
  } catch (e) {
    stopped = `failed: ${(e as Error).message}`;
    for (const s of subscribers) await s.end?.(result());
    throw e;
  }
  const r = result();
  for (const s of subscribers) await s.end?.(r);
  return r;
}

/** Why a run whose rounds never changed the model failed, from its rounds' reasons. */
function failureOf(reports: readonly RoundReport[]): string | undefined {
  if (reports.length === 0 || reports.some((r) => r.updated)) return undefined;
  const reasons = new Map<string, number>();
  const note = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
  for (const r of reports) {
    if (r.skippedReason) note(r.skippedReason);
    for (const p of r.problems) note(`${p.kind}: ${p.reason}`);
  }
  const top = [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
  return `none of the ${reports.length} rounds changed the model; most frequent reasons: ${top
    .map(([why, n]) => `${why} (${n}x)`)
    .join('; ')}`;
}

/**
 * How a round's fits are carried out, kept apart from the round engine: in this process one after
 * the other, in a pool of worker threads (simulation), or over the network (deployment). The
 * engine hands over the global parameters and the clients' instructions and receives each outcome
 * as soon as it is known, in any order — which is what lets it aggregate while fits still run.
 */
import type { ClientInfo, FitConfig } from './strategy.js';
import type { Upload } from './upload.js';

export interface FitTask {
  client: ClientInfo;
  config: FitConfig;
}

export type FitOutcome =
  | {
      ok: true;
      clientId: string;
      upload: Upload;
      /** Examples the client trained on (the FedAvg weight). */
      numExamples: number;
      /** What the client reports of its training: loss, accuracy, steps... */
      metrics?: Record<string, number>;
      /** Wall time of the client's work, seconds. */
      seconds: number;
      /** Bytes the client sent (its encoded update) and received (the global model). */
      bytesUp: number;
      bytesDown: number;
    }
  | {
      ok: false;
      clientId: string;
      /** 'failed': an error; 'dropped': vanished mid-round; 'late': missed the round deadline. */
      kind: 'failed' | 'dropped' | 'late';
      reason: string;
    };

export interface FitExecutor {
  /**
   * Runs the tasks of round `round` from `global` (read-only), calling `onOutcome` once per task, as
   * each finishes. Resolves when every task has an outcome.
   */
  run(
    round: number,
    global: Float32Array,
    tasks: readonly FitTask[],
    onOutcome: (o: FitOutcome) => void,
  ): Promise<void>;
  /**
   * Federated evaluation: each task's client evaluates `global` on its own held-out data and
   * reports its loss, calling `onOutcome` once per task. Optional: executors whose clients hold no
   * test data leave it out, and the engine then refuses a federated-evaluation setting.
   */
  evaluate?(
    round: number,
    global: Float32Array,
    tasks: readonly EvaluateTask[],
    onOutcome: (o: EvaluateOutcome) => void,
  ): Promise<void>;
  /**
   * Multi-stage rounds (secure aggregation): delivers each message to its client's round in
   * progress — the client that ran this round's fit — and calls `onReply` once per message with the
   * client's answer or why there is none. Resolves when every message has its reply. Optional:
   * without it, rounds that need more than one exchange cannot run on this executor.
   */
  exchange?(
    round: number,
    stage: string,
    messages: readonly StageMessage[],
    onReply: (reply: StageReply) => void,
  ): Promise<void>;
  close?(): Promise<void>;
}

/** A server message for one client in a later stage of a round. */
export interface StageMessage {
  clientId: string;
  payload: Uint8Array;
}

export type StageReply =
  | { ok: true; clientId: string; payload: Uint8Array; seconds: number }
  | { ok: false; clientId: string; kind: 'failed' | 'dropped'; reason: string };

export interface EvaluateTask {
  client: ClientInfo;
}

export type EvaluateOutcome =
  | {
      ok: true;
      clientId: string;
      /** Examples the client evaluated on (the weight of its figures). */
      numExamples: number;
      loss: number;
      accuracy?: number;
      seconds: number;
    }
  | { ok: false; clientId: string; reason: string };

/** Messages between the simulation's main thread and its workers (structured-clone friendly). */
import type {
  TrainerOptions,
  ModelSpec,
  ElementType,
  Normalization,
  FitConfig,
  ClientState,
  Upload,
} from 'edgefl';
import type { NodeBackend } from '../runtime/node.js';

/** One dataset, shared by every worker without copies: its arrays live in SharedArrayBuffers. */
export interface SharedDatasetInit {
  features: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  featureType: ElementType;
  labelType: ElementType;
  featureShape: number[];
  labelShape: number[];
  classes?: string[];
  normalization?: Normalization;
}

export interface WorkerInit {
  kind: 'init';
  spec: ModelSpec;
  trainer: Pick<TrainerOptions, 'loss' | 'optimizer' | 'classWeights'>;
  dataset: SharedDatasetInit;
  /** The global parameters of the current round, written by the main thread before tasks go out. */
  global: SharedArrayBuffer;
  intraOpThreads: number;
  /** The ONNX Runtime build the clients train on: the main thread's choice, the same in every worker. */
  backend: NodeBackend;
  /** The teacher every client holds (a classifier .onnx), for rounds whose local objective is distillation. */
  teacher?: Uint8Array;
}

export interface WorkerTask {
  kind: 'fit';
  taskId: number;
  round: number;
  clientId: string;
  /** The client's samples: indices into the shared dataset. */
  indices: Uint32Array;
  config: FitConfig;
  seed: number;
  /**
   * The client's state from its previous round (top-k's residual), kept by the pool because a
   * client runs on any worker. Transferred, not copied; it comes back in the reply.
   */
  state?: ClientState;
}

/** A later stage of a multi-stage round: a server message for a client whose fit ran on this worker. */
export interface WorkerExchangeTask {
  kind: 'exchange';
  taskId: number;
  round: number;
  clientId: string;
  payload: Uint8Array;
}

/** Federated evaluation: the client evaluates the round's global model on its own held-out samples. */
export interface WorkerEvaluateTask {
  kind: 'evaluate';
  taskId: number;
  clientId: string;
  /** The client's held-out samples: indices into the shared dataset. */
  indices: Uint32Array;
}

export type WorkerReply =
  | { kind: 'ready' }
  | {
      kind: 'fitted';
      taskId: number;
      clientId: string;
      upload: Upload;
      /** The state to keep for the client's next round. */
      state: ClientState;
      numExamples: number;
      metrics: Record<string, number>;
      seconds: number;
    }
  | { kind: 'exchanged'; taskId: number; clientId: string; payload: Uint8Array; seconds: number }
  | {
      kind: 'evaluated';
      taskId: number;
      clientId: string;
      numExamples: number;
      loss: number;
      accuracy?: number;
      seconds: number;
    }
  | {
      kind: 'error';
      taskId: number;
      clientId: string;
      message: string;
      /** The task's state, unchanged: a failed fit sent nothing, so the client keeps it. */
      state?: ClientState;
    }
  | { kind: 'init-error'; message: string };

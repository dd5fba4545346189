/** Messages between the simulation's main thread and its workers (structured-clone friendly). */
import type { TrainerOptions } from '../runtime/trainer.js';
import type { ModelSpec } from '../model/layers.js';
import type { ElementType, Normalization } from '../data/dataset.js';
import type { FitConfig } from '../fl/strategy.js';
import type { CodecState } from '../compress/codec.js';

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
  /** A codecByName spec: clients encode their delta with it before sending. Absent: the raw delta. */
  codec?: string;
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
   * The client's codec state from its previous round (top-k's residual), kept by the pool because a
   * client runs on any worker. Transferred, not copied; it comes back in the reply.
   */
  codecState?: CodecState;
}

/** Federated evaluation: the client evaluates the round's global model on its own held-out samples. */
export interface WorkerEvaluateTask {
  kind: 'evaluate';
  taskId: number;
  clientId: string;
  /** The client's held-out samples: indices into the shared dataset. */
  indices: Uint32Array;
}

/** A client's update as it travels to the server: the raw delta without a codec, else the codec's bytes. */
export type UpdatePayload = { delta: Float32Array } | { encoded: Uint8Array };

export type WorkerReply =
  | { kind: 'ready' }
  | {
      kind: 'fitted';
      taskId: number;
      clientId: string;
      payload: UpdatePayload;
      /** The codec state to keep for the client's next round (absent for stateless codecs). */
      codecState?: CodecState;
      numExamples: number;
      metrics: Record<string, number>;
      /** Values a privacy layer sums alongside the deltas (ClientUpdate.auxiliary). */
      auxiliary?: readonly number[];
      seconds: number;
    }
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
      /** The task's codec state, unchanged: a failed fit sent nothing, so the client keeps it. */
      codecState?: CodecState;
    }
  | { kind: 'init-error'; message: string };

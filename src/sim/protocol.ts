/** Messages between the simulation's main thread and its workers (structured-clone friendly). */
import type { TrainerOptions } from '../runtime/trainer.js';
import type { ModelSpec } from '../model/layers.js';
import type { ElementType, Normalization } from '../data/dataset.js';
import type { FitConfig } from '../fl/strategy.js';

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
}

export type WorkerReply =
  | { kind: 'ready' }
  | {
      kind: 'fitted';
      taskId: number;
      clientId: string;
      delta: Float32Array;
      numExamples: number;
      metrics: Record<string, number>;
      seconds: number;
    }
  | { kind: 'error'; taskId: number; clientId: string; message: string }
  | { kind: 'init-error'; message: string };

/**
 * What every peer runner returns, so the training benchmark can put edgefl and its peers in one table.
 *
 * A peer that cannot run (a missing kernel, a missing install, a timeout) still returns a row, with
 * `samplesPerSec: null` and the reason in `note`: a silently missing row would read as "not tried".
 */
export type PeerModel = 'mlp' | 'cnn';

export interface PeerResult {
  /** Which framework: 'tfjs', 'pytorch'. */
  peer: string;
  /** The backend or setting within the framework: 'cpu', 'wasm (simd)', '1 thread'. */
  backend?: string;
  /** The framework's version as it reports it, or 'unknown' when it could not be asked. */
  version: string;
  model: PeerModel;
  batch: number;
  samplesPerSec: number | null;
  msPerStep: number | null;
  note?: string;
}

/** The training settings shared by every peer and by edgefl's own bench (bench/train.ts). */
export const PEER_LEARNING_RATE = 0.05;
export const PEER_CLASSES = 10;

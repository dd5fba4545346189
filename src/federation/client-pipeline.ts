/**
 * The client's half of a round, the same wherever the client runs (in process, in a simulation's
 * worker thread, on another machine, in a browser tab): local training from the global parameters,
 * then the update transforms its instructions ask for, in a fixed order —
 *
 *   train (plain SGD, or DP-SGD with `dpSgd`) → delta = local − global
 *     → clip and noise (`dp`: DP-FedAvg's distributed noise)
 *     → encode (`codec`: float16, qsgd8, top-k with error feedback)
 *
 * — and the upload that results. Each transform is one entry of UPDATE_TRANSFORMS, applied when its
 * section of the instructions is present. What a client keeps between its rounds (top-k's residual)
 * is its `ClientState`, which the caller stores for it.
 */
import type { Dataset } from '../data/dataset.js';
import type { Trainer } from '../runtime/trainer.js';
import type { FitConfig } from '../fl/strategy.js';
import type { Upload } from '../fl/upload.js';
import { privatizeOwnUpdate } from '../privacy/dp/client.js';
import { trainWithDpSgd } from '../privacy/dp-sgd-client.js';
import { codecByName } from '../compress/by-name.js';
import type { CodecState } from '../compress/codec.js';
import { encodeClientUpdate } from '../compress/client-codec.js';

/** What a client keeps from one of its rounds to the next. */
export interface ClientState {
  /** The codec's state (top-k's error-feedback residual). */
  codec?: CodecState;
}

export interface ClientFitResult {
  upload: Upload;
  numExamples: number;
  metrics: Record<string, number>;
  /** The state to keep for the client's next round. */
  state: ClientState;
}

/** The update as it goes through the transforms. */
interface InTransit {
  delta: Float32Array;
  auxiliary?: number[];
  upload?: Upload;
  state: ClientState;
}

interface UpdateTransform {
  /** The section of the instructions that turns it on. */
  readonly section: 'dp' | 'codec';
  apply(update: InTransit, config: FitConfig, seed: number): void;
}

/** The update transforms, in the order they apply. */
const UPDATE_TRANSFORMS: readonly UpdateTransform[] = [
  {
    section: 'dp',
    apply(u, config, seed) {
      const { auxiliary } = privatizeOwnUpdate(u.delta, config.dp!, seed);
      if (auxiliary) u.auxiliary = auxiliary;
    },
  },
  {
    section: 'codec',
    apply(u, config, seed) {
      const codec = codecByName(config.codec!);
      const encoded = encodeClientUpdate(codec, u.delta, seed, u.state.codec);
      u.upload = { kind: 'encoded', bytes: encoded.bytes, codec: codec.name, auxiliary: u.auxiliary };
      u.state = { ...u.state, codec: encoded.state };
    },
  },
];

/**
 * One client's fit: `global` is read, never written; `state` is the client's state from its
 * previous round (left unchanged: the new one is in the result).
 */
export async function fitClient(
  trainer: Trainer,
  data: Dataset,
  global: Float32Array,
  config: FitConfig,
  seed: number,
  state: ClientState = {},
): Promise<ClientFitResult> {
  const trained = config.dpSgd
    ? await trainWithDpSgd(trainer, data, global, config, seed)
    : await trainLocally(trainer, data, global, config, seed);
  const local = trained.local;
  const delta = new Float32Array(local.length);
  for (let i = 0; i < local.length; i++) delta[i] = local[i] - global[i];
  const update: InTransit = { delta, state };
  for (const t of UPDATE_TRANSFORMS) if (config[t.section] !== undefined) t.apply(update, config, seed);
  return {
    upload: update.upload ?? {
      kind: 'delta',
      delta: update.delta,
      ...(update.auxiliary ? { auxiliary: update.auxiliary } : {}),
    },
    numExamples: data.length,
    metrics: trained.metrics,
    state: update.state,
  };
}

async function trainLocally(
  trainer: Trainer,
  data: Dataset,
  global: Float32Array,
  config: FitConfig,
  seed: number,
): Promise<{ local: Float32Array; metrics: Record<string, number> }> {
  trainer.setParameters(global);
  trainer.resetOptimizerState();
  const r = await trainer.fit(data, {
    batchSize: config.batchSize,
    epochs: config.localSteps === undefined ? (config.localEpochs ?? 1) : undefined,
    steps: config.localSteps,
    lr: config.lr,
    seed,
    proximal: config.proximalMu ? { mu: config.proximalMu, reference: global } : undefined,
  });
  return {
    local: trainer.getParameters().values,
    metrics: {
      loss: r.loss,
      ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}),
      steps: r.steps,
      seconds: r.seconds,
    },
  };
}

/**
 * Federated evaluation on one client: the global parameters on the client's own held-out data.
 * The same code in process and in the simulation's workers.
 */
export async function evaluateClient(
  trainer: Trainer,
  data: Dataset,
  global: Float32Array,
): Promise<{ numExamples: number; loss: number; accuracy?: number }> {
  if (data.length === 0) throw new Error('the client holds no test data');
  trainer.setParameters(global);
  const r = await trainer.evaluate(data);
  return {
    numExamples: data.length,
    loss: r.loss,
    ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}),
  };
}

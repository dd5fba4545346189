/**
 * The client's half of a round, the same wherever the client runs (in process, in a simulation's
 * worker thread, on another machine, in a browser tab): local training from the global parameters,
 * then the update transforms its instructions ask for, in a fixed order —
 *
 *   train (plain SGD, DP-SGD with `dpSgd`, or distillation with `distillation`) → delta = local − global
 *     → clip and noise (`dp`: DP-FedAvg's distributed noise)
 *     → encode (`codec`: float16, qsgd8, top-k with error feedback)
 *     → mask (`secureAggregation`: the client's half of SecAgg / SecAgg+)
 *
 * — and the upload that results. Each transform is one entry of UPDATE_TRANSFORMS, applied when its
 * section of the instructions is present. What a client keeps between its rounds (top-k's residual)
 * is its `ClientState`, which the caller stores for it. Under secure aggregation the fit also
 * returns the client's session for the round's later stages, which the caller keeps until the
 * round ends and hands each of the server's messages to.
 *
 * Masking comes after encoding: the server sums what was encoded (a lossy codec's rounding is in
 * the sum) but the bytes that travel are the protocol's masked input, which no codec can shrink.
 */
import type { Dataset } from '../data/dataset.js';
import type { Trainer } from '../runtime/trainer.js';
import type { FitConfig } from '../fl/strategy.js';
import type { Upload } from '../fl/upload.js';
import { privatizeOwnUpdate } from '../privacy/dp/client.js';
import { trainWithDpSgd } from '../privacy/dp-sgd-client.js';
import { trainWithDistillation } from '../distill/client.js';
import type { Teacher } from '../distill/teacher.js';
import { codecByName } from '../compress/by-name.js';
import type { CodecState } from '../compress/codec.js';
import { encodeClientUpdate } from '../compress/client-codec.js';
import type { SecAggCrypto } from '../privacy/secagg/crypto-suite.js';
import { SecureClientSession, secureInput } from '../privacy/secagg/client-session.js';

/** What a client keeps from one of its rounds to the next. */
export interface ClientState {
  /** The codec's state (top-k's error-feedback residual). */
  codec?: CodecState;
}

/** A client's round in progress after its fit, for the round's later stages (secure aggregation). */
export interface ClientRoundSession {
  /** The client's answer to one of the server's messages (bytes in, bytes out). */
  receive(payload: Uint8Array): Uint8Array;
  /** Whether the client has answered its last stage. */
  readonly done: boolean;
}

/** What a client's pipeline runs with: its ONNX Runtime session, and its cryptography. */
export interface ClientEnvironment {
  trainer: Trainer;
  /** The teacher this client distills from when a round asks for it (FitConfig.distillation). */
  teacher?: Teacher;
  /** Secure aggregation's crypto suite (needed only when a round asks for masking). */
  secaggCrypto?: SecAggCrypto;
}

/** One client's fit: who, on what, from which global model, as instructed. */
export interface ClientFit {
  clientId: string;
  data: Dataset;
  /** The round's global parameters (read, never written). */
  global: Float32Array;
  config: FitConfig;
  /** The client's randomness this round (shuffling, noise, stochastic rounding). */
  seed: number;
  /** The client's state from its previous round (left unchanged: the new one is in the result). */
  state?: ClientState;
}

export interface ClientFitResult {
  upload: Upload;
  numExamples: number;
  metrics: Record<string, number>;
  /** The state to keep for the client's next round. */
  state: ClientState;
  /** Under secure aggregation: the client's part of the round's later stages. */
  session?: ClientRoundSession;
}

/** The update as it goes through the transforms. */
interface InTransit {
  delta: Float32Array;
  auxiliary?: number[];
  /** The client's weight in the aggregate: its examples, or 1 where each client weighs the same (DP). */
  weight: number;
  upload?: Upload;
  state: ClientState;
  session?: ClientRoundSession;
  metrics: Record<string, number>;
}

interface UpdateTransform {
  /** The section of the instructions that turns it on. */
  readonly section: 'dp' | 'codec' | 'secureAggregation';
  apply(update: InTransit, fit: Omit<ClientFit, 'data'>, env: Pick<ClientEnvironment, 'secaggCrypto'>): void;
}

/** The update transforms, in the order they apply. */
const UPDATE_TRANSFORMS: readonly UpdateTransform[] = [
  {
    section: 'dp',
    apply(u, { config, seed }) {
      const { auxiliary } = privatizeOwnUpdate(u.delta, config.dp!, seed);
      if (auxiliary) u.auxiliary = auxiliary;
      // DP-FedAvg bounds each client's influence: every client weighs the same.
      u.weight = 1;
    },
  },
  {
    section: 'codec',
    apply(u, { config, seed }) {
      const codec = codecByName(config.codec!);
      const encoded = encodeClientUpdate(codec, u.delta, seed, u.state.codec);
      u.upload = { kind: 'encoded', bytes: encoded.bytes, codec: codec.name, auxiliary: u.auxiliary };
      u.state = { ...u.state, codec: encoded.state };
    },
  },
  {
    section: 'secureAggregation',
    apply(u, { config, clientId }, env) {
      if (!env.secaggCrypto)
        throw new Error(
          'secure aggregation: this client was given no cryptography (ClientEnvironment.secaggCrypto)',
        );
      // After a codec, what is summed is what the server would have decoded (the codec's rounding).
      const values =
        u.upload?.kind === 'encoded'
          ? codecByName(u.upload.codec).decode(u.upload.bytes, u.delta.length)
          : u.delta;
      const { input, stats } = secureInput(config.secureAggregation!, values, u.weight, u.auxiliary ?? []);
      const { session, message } = SecureClientSession.start(
        config.secureAggregation!,
        clientId,
        input,
        env.secaggCrypto,
      );
      u.upload = { kind: 'secure', message };
      u.session = session;
      u.metrics.secaggClippedUpdate = stats.clippedUpdate;
      u.metrics.secaggClippedValues = stats.clippedValues;
    },
  },
];

/** One client's fit: train, then the transforms its instructions ask for (see the file comment). */
export async function fitClient(env: ClientEnvironment, fit: ClientFit): Promise<ClientFitResult> {
  const { trainer } = env;
  const { data, global, config, seed } = fit;
  const trained = config.distillation
    ? await trainWithDistillation(trainer, env.teacher, data, global, config, seed)
    : config.dpSgd
      ? await trainWithDpSgd(trainer, data, global, config, seed)
      : await trainLocally(trainer, data, global, config, seed);
  const local = trained.local;
  const delta = new Float32Array(local.length);
  for (let i = 0; i < local.length; i++) delta[i] = local[i] - global[i];
  return transformUpdate(env, fit, delta, data.length, trained.metrics);
}

/**
 * The transforms of a fit's instructions applied to an update already trained: `delta` (modified
 * in place by clipping and noise), from `numExamples` examples. What `fitClient` does after
 * training; also how a client that trains some other way joins the same pipeline.
 */
export function transformUpdate(
  env: Pick<ClientEnvironment, 'secaggCrypto'>,
  fit: Omit<ClientFit, 'data'>,
  delta: Float32Array,
  numExamples: number,
  metrics: Record<string, number> = {},
): ClientFitResult {
  const update: InTransit = {
    delta,
    weight: numExamples,
    state: fit.state ?? {},
    metrics: { ...metrics },
  };
  for (const t of UPDATE_TRANSFORMS) if (fit.config[t.section] !== undefined) t.apply(update, fit, env);
  return {
    upload: update.upload ?? {
      kind: 'delta',
      delta: update.delta,
      ...(update.auxiliary ? { auxiliary: update.auxiliary } : {}),
    },
    numExamples,
    metrics: update.metrics,
    state: update.state,
    ...(update.session ? { session: update.session } : {}),
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

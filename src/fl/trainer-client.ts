/**
 * Local training of one federated client on a Trainer: start from the global parameters with a
 * fresh optimizer state, train as instructed on the client's own data, and return the delta. One
 * Trainer (one ONNX Runtime session) serves every client that runs in the same process or worker.
 */
import type { Dataset } from '../data/dataset.js';
import type { Trainer } from '../runtime/trainer.js';
import type { ClientUpdate, FitConfig } from './strategy.js';
import { privatizeOwnUpdate } from '../privacy/dp/client.js';
import { dpSgdSettings, trainWithDpSgd } from '../privacy/dp-sgd-client.js';

export async function fitClient(
  trainer: Trainer,
  clientId: string,
  data: Dataset,
  global: Float32Array,
  config: FitConfig,
  seed: number,
): Promise<ClientUpdate> {
  // Example-level DP: the client trains with DP-SGD instead.
  const trained = dpSgdSettings(config)
    ? await trainWithDpSgd(trainer, data, global, config, seed)
    : await trainLocally(trainer, data, global, config, seed);
  const local = trained.local;
  const delta = new Float32Array(local.length);
  for (let i = 0; i < local.length; i++) delta[i] = local[i] - global[i];
  // Distributed DP noise: the client clips and noises its own update before it leaves.
  const auxiliary = privatizeOwnUpdate(delta, config, seed)?.auxiliary;
  return {
    clientId,
    delta,
    numExamples: data.length,
    metrics: trained.metrics,
    ...(auxiliary ? { auxiliary } : {}),
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

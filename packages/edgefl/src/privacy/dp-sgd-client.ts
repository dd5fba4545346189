/**
 * A federated client that trains with DP-SGD: when the round's instructions carry a DP-SGD noise
 * multiplier and clip norm, the client's local training clips every example's gradient and adds
 * noise, so its update is example-level differentially private before it leaves the device —
 * whatever the server does with it. One DP-SGD session per trainer (per worker) and setting is
 * compiled once and reused by every client that trains there.
 */
import type { Dataset } from '../data/dataset.js';
import type { FitConfig } from '../fl/strategy.js';
import type { Trainer } from '../runtime/trainer.js';
import { DpSgdTrainer } from './dp-sgd.js';

/** One compiled DP-SGD session per trainer and setting, reused by every client trained there. */
const sessions = new WeakMap<Trainer, Map<string, Promise<DpSgdTrainer>>>();

/** Local training with DP-SGD from `global`: the trained parameters and the fit's metrics. */
export async function trainWithDpSgd(
  trainer: Trainer,
  data: Dataset,
  global: Float32Array,
  config: FitConfig,
  seed: number,
): Promise<{ local: Float32Array; metrics: Record<string, number> }> {
  const dp = config.dpSgd;
  if (!dp) throw new Error('trainWithDpSgd: the instructions have no dpSgd section');
  if (!(dp.noiseMultiplier > 0 && dp.clipNorm > 0))
    throw new Error(
      `DP-SGD instructions need a positive noise multiplier and clip norm, got ${dp.noiseMultiplier} and ${dp.clipNorm}`,
    );
  if (config.proximalMu) throw new Error('DP-SGD local training does not support the FedProx proximal term');
  const key = JSON.stringify([dp.noiseMultiplier, dp.clipNorm, dp.seeded === true]);
  let byKey = sessions.get(trainer);
  if (!byKey) sessions.set(trainer, (byKey = new Map()));
  let session = byKey.get(key);
  if (!session) {
    session = DpSgdTrainer.create(trainer.model, {
      noiseMultiplier: dp.noiseMultiplier,
      clipNorm: dp.clipNorm,
      batchSize: config.batchSize,
      optimizer: trainer.options.optimizer,
      runtime: trainer.runtime,
      noiseSeed: dp.seeded === true ? 0 : undefined,
    });
    byKey.set(key, session);
  }
  const local = await session;
  local.setParameters(global);
  local.resetOptimizerState();
  const r = await local.fit(data, {
    epochs: config.localSteps === undefined ? (config.localEpochs ?? 1) : undefined,
    steps: config.localSteps,
    lr: config.lr,
    batchSize: config.batchSize,
    seed,
    noiseSeed: seed,
  });
  return {
    local: local.getParameters(),
    metrics: {
      loss: r.loss,
      accuracy: r.accuracy,
      steps: r.steps,
      seconds: r.seconds,
      dpSgdSamplingRate: Math.min(1, config.batchSize / data.length),
      dpSgdClippedFraction: r.clippedFraction,
    },
  };
}

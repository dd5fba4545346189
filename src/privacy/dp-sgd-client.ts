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

export const DP_SGD_KEYS = {
  noiseMultiplier: 'dpSgdNoise',
  clipNorm: 'dpSgdClip',
  /** Seeded noise and sampling, for reproducible simulations only. */
  seeded: 'dpSgdSeeded',
} as const;

const sessions = new WeakMap<Trainer, Map<string, Promise<DpSgdTrainer>>>();

/** The DP-SGD settings in a round's instructions, if any. */
export function dpSgdSettings(
  config: FitConfig,
): { noiseMultiplier: number; clipNorm: number; seeded: boolean } | undefined {
  const z = config.extra?.[DP_SGD_KEYS.noiseMultiplier];
  const c = config.extra?.[DP_SGD_KEYS.clipNorm];
  if (z === undefined && c === undefined) return undefined;
  if (typeof z !== 'number' || typeof c !== 'number')
    throw new Error(
      `DP-SGD instructions need a numeric noise multiplier and clip norm, got ${String(z)} and ${String(c)}`,
    );
  return { noiseMultiplier: z, clipNorm: c, seeded: config.extra?.[DP_SGD_KEYS.seeded] === true };
}

/** Local training with DP-SGD from `global`: the trained parameters and the fit's metrics. */
export async function trainWithDpSgd(
  trainer: Trainer,
  data: Dataset,
  global: Float32Array,
  config: FitConfig,
  seed: number,
): Promise<{ local: Float32Array; metrics: Record<string, number> }> {
  const dp = dpSgdSettings(config)!;
  if (config.proximalMu) throw new Error('DP-SGD local training does not support the FedProx proximal term');
  const key = JSON.stringify(dp);
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
      noiseSeed: dp.seeded ? 0 : undefined,
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

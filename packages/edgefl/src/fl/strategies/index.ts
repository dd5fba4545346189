/**
 * The aggregation strategies, and `strategyByName` for the CLI and config files.
 *
 * 'sum' strategies (streaming, O(model) memory, compatible with secure aggregation): fedavg,
 * fedavgm, fedprox, fedadagrad, fedadam, fedyogi. 'individual' strategies (robust to Byzantine
 * clients, hold every update of the round: O(clients × model)): fedmedian, fedtrimmedavg, krum,
 * multikrum, bulyan, centeredclipping.
 */
import type { Strategy } from '../strategy.js';
import { FedAvg, type FedAvgOptions } from './fedavg.js';
import { FedAvgM, type FedAvgMOptions } from './fedavgm.js';
import { FedProx, type FedProxOptions } from './fedprox.js';
import { FedAdagrad, type FedAdagradOptions } from './fedadagrad.js';
import { FedAdam, type FedAdamOptions } from './fedadam.js';
import { FedYogi, type FedYogiOptions } from './fedyogi.js';
import { FedMedian } from './fedmedian.js';
import { FedTrimmedAvg, type FedTrimmedAvgOptions } from './fedtrimmedavg.js';
import { Krum, type KrumOptions } from './krum.js';
import { MultiKrum, type MultiKrumOptions } from './multikrum.js';
import { Bulyan, type BulyanOptions } from './bulyan.js';
import { CenteredClipping, type CenteredClippingOptions } from './centered-clipping.js';

export { FedAvg, type FedAvgOptions } from './fedavg.js';
export { FedAvgM, type FedAvgMOptions } from './fedavgm.js';
export { FedProx, type FedProxOptions } from './fedprox.js';
export { FedOpt, type FedOptOptions } from './fedopt.js';
export { FedAdagrad, type FedAdagradOptions } from './fedadagrad.js';
export { FedAdam, type FedAdamOptions } from './fedadam.js';
export { FedYogi, type FedYogiOptions } from './fedyogi.js';
export { FedMedian } from './fedmedian.js';
export { FedTrimmedAvg, type FedTrimmedAvgOptions } from './fedtrimmedavg.js';
export { Krum, type KrumOptions, krumScores } from './krum.js';
export { MultiKrum, type MultiKrumOptions } from './multikrum.js';
export { Bulyan, type BulyanOptions, bulyanSelection } from './bulyan.js';
export { CenteredClipping, type CenteredClippingOptions, centeredClip } from './centered-clipping.js';
export { MeanDeltaAggregator, type ServerStep } from './mean-delta-aggregator.js';
export {
  UpdateStore,
  columnwise,
  type ColumnStatistic,
  type StoredUpdates,
  type RobustRule,
} from './update-store.js';
export { sampleClients, type SamplingOptions } from './client-sampling.js';

export interface StrategyOptionsByName {
  fedavg: FedAvgOptions;
  fedavgm: FedAvgMOptions;
  fedprox: FedProxOptions;
  fedadagrad: FedAdagradOptions;
  fedadam: FedAdamOptions;
  fedyogi: FedYogiOptions;
  fedmedian: Record<string, never>;
  fedtrimmedavg: FedTrimmedAvgOptions;
  krum: KrumOptions;
  multikrum: MultiKrumOptions;
  bulyan: BulyanOptions;
  centeredclipping: CenteredClippingOptions;
}

export type StrategyName = keyof StrategyOptionsByName;

const sampling = ['fractionFit', 'minFitClients'];
const fedopt = ['eta', 'etaL', 'beta1', 'tau', ...sampling];

/** Every strategy's name, with the option names it accepts. */
const registry: {
  [N in StrategyName]: { options: readonly string[]; make: (o: StrategyOptionsByName[N]) => Strategy };
} = {
  fedavg: { options: ['serverLearningRate'], make: (o) => new FedAvg(o) },
  fedavgm: { options: ['serverLearningRate', 'serverMomentum'], make: (o) => new FedAvgM(o) },
  fedprox: { options: ['serverLearningRate', 'proximalMu', ...sampling], make: (o) => new FedProx(o) },
  fedadagrad: { options: fedopt, make: (o) => new FedAdagrad(o) },
  fedadam: { options: [...fedopt, 'beta2', 'biasCorrection'], make: (o) => new FedAdam(o) },
  fedyogi: { options: [...fedopt, 'beta2'], make: (o) => new FedYogi(o) },
  fedmedian: { options: [], make: () => new FedMedian() },
  fedtrimmedavg: { options: ['beta'], make: (o) => new FedTrimmedAvg(o) },
  krum: { options: ['f'], make: (o) => new Krum(o) },
  multikrum: { options: ['f', 'm'], make: (o) => new MultiKrum(o) },
  bulyan: { options: ['f'], make: (o) => new Bulyan(o) },
  centeredclipping: {
    options: ['tau', 'iterations', 'serverMomentum', 'serverLearningRate'],
    make: (o) => new CenteredClipping(o),
  },
};

export const strategyNames = Object.keys(registry) as StrategyName[];

export function isStrategyName(name: string): name is StrategyName {
  return Object.prototype.hasOwnProperty.call(registry, name);
}

/** The option names `name` accepts (for CLI help and validation). */
export function strategyOptionNames(name: StrategyName): readonly string[] {
  return registry[name].options;
}

/**
 * Builds a strategy from its name and options. Throws for an unknown name (listing the known ones)
 * and for an option the strategy does not have (a misspelt option must not silently fall back to a
 * default). Options whose value is undefined are ignored.
 */
export function strategyByName<N extends StrategyName>(name: N, options?: StrategyOptionsByName[N]): Strategy;
export function strategyByName(name: string, options?: Record<string, unknown>): Strategy;
export function strategyByName(name: string, options: Record<string, unknown> = {}): Strategy {
  if (!isStrategyName(name))
    throw new Error(`unknown strategy '${name}' (known: ${strategyNames.join(', ')})`);
  const entry = registry[name];
  const defined: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (!entry.options.includes(k))
      throw new Error(
        `strategy '${name}' has no option '${k}' (its options: ${entry.options.join(', ') || 'none'})`,
      );
    defined[k] = v;
  }
  return (entry.make as (o: Record<string, unknown>) => Strategy)(defined);
}

/**
 * Gradual magnitude pruning in federated training, as a layer around any strategy: after each
 * round's aggregation the layer masks the new global model with the schedule's mask, the schedule
 * counting rounds. Clients therefore always start from — and train — the pruned model; their
 * updates may move pruned weights (local training does not know the mask), and the next
 * aggregation's mask zeroes them again. The server alone decides the mask, from the aggregated
 * weights: clients need nothing new, and the layer composes with every strategy, secure aggregation
 * and DP included (it acts on the released model, after them: post-processing) — put it outermost,
 * `withPruning(withDifferentialPrivacy(...), ...)`, so the layers that check what they wrap see
 * their own inner strategies.
 *
 * `withPruning(new FedAvg(), { layout, schedule: polynomialDecay({ finalSparsity: 0.8, endStep: 30,
 * frequency: 3 }) })`. The final sparsity holds from `endStep` on (call `finish` on a model taken
 * before then to bring it to the final sparsity exactly).
 */
import type {
  ClientInfo,
  FitConfig,
  RoundAggregator,
  RoundContext,
  Strategy,
  StrategyState,
} from '../fl/strategy.js';
import type { ParameterEntry } from '../tensor/parameters.js';
import { GradualPruner } from './gradual.js';
import type { PruningScope } from './magnitude.js';
import { PruningError } from './magnitude.js';
import { ParameterMask } from './parameter-mask.js';
import { isPrunableWeight, type PrunableFilter } from './prunable.js';
import type { PruningSchedule } from './schedule.js';

export interface FederatedPruningOptions {
  /** The model's parameter layout (Trainer.layout, initialParameters(spec).entries). */
  layout: readonly ParameterEntry[];
  /** Over rounds: the mask is recomputed after the rounds it prunes at. */
  schedule: PruningSchedule;
  scope?: PruningScope;
  prunable?: PrunableFilter;
}

declare module '../fl/strategy.js' {
  interface AggregationStatistics {
    /** What the pruning layer did this round. */
    pruning?: { round: number; sparsity: number; maskUpdated: boolean };
  }
}

export class PrunedStrategy implements Strategy {
  readonly name: string;
  readonly aggregation: Strategy['aggregation'];
  private readonly pruner: GradualPruner;

  constructor(
    readonly inner: Strategy,
    readonly options: FederatedPruningOptions,
  ) {
    this.name = `pruned(${inner.name})`;
    this.aggregation = inner.aggregation;
    this.pruner = new GradualPruner(options.layout, options.schedule, {
      scope: options.scope,
      prunable: options.prunable,
    });
    if (!options.layout.some(options.prunable ?? isPrunableWeight))
      throw new PruningError(
        'withPruning: the layout has no prunable weights (dense and convolution weights)',
      );
  }

  get clientSampling() {
    return this.inner.clientSampling;
  }
  get minUpdates() {
    return this.inner.minUpdates;
  }
  get privacy() {
    return this.inner.privacy;
  }

  /** The mask in force (undefined before the schedule's first pruning round). */
  get mask(): ParameterMask | undefined {
    return this.pruner.mask;
  }

  configureFit(ctx: RoundContext, available: readonly ClientInfo[], base: FitConfig) {
    return this.inner.configureFit
      ? this.inner.configureFit(ctx, available, base)
      : { clients: [...available], config: base };
  }

  beginRound(ctx: RoundContext): RoundAggregator {
    const inner = this.inner.beginRound(ctx);
    const pruner = this.pruner;
    const size = this.options.layout.reduce((n, e) => n + e.size, 0);
    if (ctx.global.length !== size)
      throw new PruningError(
        `withPruning: the global model has ${ctx.global.length} values, the layout ${size}`,
      );
    const layer: RoundAggregator = {
      add: (u) => inner.add(u),
      get count() {
        return inner.count;
      },
      finish: () => {
        const result = inner.finish();
        // finish returns a new array (the round's global is not modified): masking it is ours to do.
        const maskUpdated = pruner.step(ctx.round, result.global);
        return {
          ...result,
          statistics: {
            ...result.statistics,
            pruning: { round: ctx.round, sparsity: pruner.mask?.overall() ?? 0, maskUpdated },
          },
        };
      },
    };
    if (inner.auxiliarySum) layer.auxiliarySum = () => inner.auxiliarySum!();
    if (inner.receive) layer.receive = (id, m, n) => inner.receive!(id, m, n);
    if (inner.complete) layer.complete = (c) => inner.complete!(c);
    return layer;
  }

  /** Brings `global` (in place) to the schedule's final sparsity, e.g. for a model taken before endStep. */
  finish(global: Float32Array): ParameterMask {
    return this.pruner.finish(global);
  }

  getState(): StrategyState {
    const inner = this.inner.getState?.() ?? { json: {}, arrays: {} };
    const keep = this.pruner.state();
    return {
      json: {
        inner: inner.json,
        pruning: { masks: keep?.length ?? 0, sparsity: this.pruner.mask?.sparsity },
      },
      arrays: {
        ...inner.arrays,
        ...Object.fromEntries((keep ?? []).map((k, i) => [`pruning.mask.${i}`, Float32Array.from(k)])),
      },
    };
  }

  setState(state: StrategyState): void {
    const p = state.json.pruning as { masks?: unknown; sparsity?: unknown } | undefined;
    if (!p || typeof p.masks !== 'number') throw new Error(`state has no pruning record for '${this.name}'`);
    const arrays = { ...state.arrays };
    const keep: Uint8Array[] = [];
    for (let i = 0; i < p.masks; i++) {
      const a = arrays[`pruning.mask.${i}`];
      if (!a) throw new Error(`state of '${this.name}' lacks pruning mask ${i}`);
      keep.push(Uint8Array.from(a));
      delete arrays[`pruning.mask.${i}`];
    }
    this.inner.setState?.({ json: (state.json.inner ?? {}) as Record<string, unknown>, arrays });
    this.pruner.mask =
      p.masks > 0
        ? ParameterMask.fromKeep(this.options.layout, keep, Number(p.sparsity), this.options.prunable)
        : undefined;
  }
}

/** `inner` with gradual magnitude pruning of the global model, as described above. */
export function withPruning(inner: Strategy, options: FederatedPruningOptions): PrunedStrategy {
  return new PrunedStrategy(inner, options);
}

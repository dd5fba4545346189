/**
 * FedProx. Li, Sahu, Zaheer, Sanjabi, Talwalkar, Smith, "Federated Optimization in Heterogeneous
 * Networks", MLSys 2020.
 *
 * Clients minimise their loss plus (μ/2)·‖w − w_global‖², which keeps heterogeneous clients from
 * drifting far from the global model; the server aggregates exactly as FedAvg. This strategy's
 * part is `configureFit`, which puts μ (`proximalMu`) into every client's config; the trainer adds
 * the term. Because `configureFit` also chooses the clients, it samples them by Flower's rule
 * (`fractionFit`, `minFitClients`; default: every available client) — its choice replaces the
 * engine's own sampling, so set them here.
 *
 * Aggregation: 'sum'. Memory: O(model), as FedAvg.
 */
import type { ClientInfo, FitConfig, RoundContext } from '../strategy.js';
import { FedAvg, type FedAvgOptions } from './fedavg.js';
import { sampleClients, validateSampling, type SamplingOptions } from './client-sampling.js';
import { nonNegative } from './options.js';

const DEFAULT_MU = 0.01;

export interface FedProxOptions extends FedAvgOptions, SamplingOptions {
  /**
   * μ, the proximal coefficient. The paper tunes it over {0.001, 0.01, 0.1, 1}; Flower has no default.
   * When omitted: the engine's base config's `proximalMu` if it has one, else 0.01.
   */
  proximalMu?: number;
}

export class FedProx extends FedAvg {
  override readonly name: string = 'fedprox';
  /** μ as given to the constructor (undefined: the base config's, else 0.01). */
  readonly proximalMu: number | undefined;
  private readonly sampling: SamplingOptions;

  constructor(options: FedProxOptions = {}) {
    super(options);
    this.proximalMu =
      options.proximalMu === undefined ? undefined : nonNegative('proximalMu', options.proximalMu);
    validateSampling(options);
    this.sampling = { fractionFit: options.fractionFit, minFitClients: options.minFitClients };
  }

  configureFit(
    ctx: RoundContext,
    available: readonly ClientInfo[],
    base: FitConfig,
  ): { clients: ClientInfo[]; config: FitConfig } {
    return {
      clients: sampleClients(available, this.sampling, ctx.rng),
      config: { ...base, proximalMu: this.proximalMu ?? base.proximalMu ?? DEFAULT_MU },
    };
  }
}

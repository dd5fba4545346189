/**
 * Quantity skew: clients hold very different numbers of samples but the same label mix (labels
 * IID). Two ways to draw the sizes, both found in the literature:
 *
 * - `{ alpha }`: size proportions q ~ Dir(alpha, ..., alpha) over the clients (Li et al., "Federated
 *   Learning on Non-IID Data Silos: An Experimental Study", ICDE 2022 — NIID-Bench's quantity skew).
 * - `{ sigma }`: proportions ∝ exp(sigma · Z), Z ~ N(0, 1), i.e. log-normal sizes with log-std sigma
 *   (the unbalanced splits of FedLab and of Li et al., "Federated Optimization in Heterogeneous
 *   Networks" (FedProx), 2020).
 *
 * Sizes are made whole without resampling: every client first gets minSize samples, and the rest are
 * apportioned by the drawn proportions (largest remainder). So minSize is always met when
 * n >= numClients·minSize, at the price of lifting the smallest clients slightly above their draw.
 * Then a random permutation of all samples is cut into those sizes. Every sample goes to exactly
 * one client.
 */
import type { Rng } from '../../util/rng.js';
import { checkCount, checkPositive } from './check.js';
import { apportion, cutIntoParts } from './cut.js';
import { sampleDirichlet } from './gamma.js';

/** Dirichlet concentration of the size proportions, or log-normal log-standard-deviation. */
export type QuantitySkew = { alpha: number } | { sigma: number };

export interface QuantitySkewOptions {
  /** Fewest samples any client gets (default 10, like dirichlet; NIID-Bench's quantity skew uses the same). */
  minSize?: number;
}

export function quantitySkew(
  n: number,
  numClients: number,
  skew: QuantitySkew,
  rng: Rng,
  options: QuantitySkewOptions = {},
): Uint32Array[] {
  const { minSize = 10 } = options;
  checkCount('quantitySkew', 'n', n, 0);
  checkCount('quantitySkew', 'numClients', numClients, 1);
  checkCount('quantitySkew', 'minSize', minSize, 0);
  const byDirichlet = 'alpha' in skew && !('sigma' in skew);
  if (byDirichlet) checkPositive('quantitySkew', 'alpha', skew.alpha);
  else if ('sigma' in skew && !('alpha' in skew)) {
    if (!Number.isFinite(skew.sigma) || skew.sigma < 0)
      throw new RangeError(`quantitySkew: sigma must be a finite number >= 0, got ${skew.sigma}`);
  } else
    throw new TypeError(`quantitySkew: skew must be { alpha } or { sigma }, got ${JSON.stringify(skew)}`);
  if (n < numClients * minSize)
    throw new RangeError(
      `quantitySkew: ${n} samples cannot give each of ${numClients} clients minSize=${minSize}`,
    );

  let proportions: Float64Array;
  if (byDirichlet) proportions = sampleDirichlet(rng, skew.alpha, numClients);
  else {
    const { sigma } = skew as { sigma: number };
    const logs = Float64Array.from({ length: numClients }, () => sigma * rng.normal());
    // Subtracting the largest log keeps exp() finite for any sigma; proportions are scale-free.
    const max = logs.reduce((a, b) => Math.max(a, b));
    proportions = logs.map((l) => Math.exp(l - max));
  }
  return cutIntoParts(rng.permutation(n), apportion(n, proportions, minSize));
}

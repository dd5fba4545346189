/**
 * Label-skewed non-IID split by Dirichlet proportions, after Hsu, Qi & Brown, "Measuring the Effects
 * of Non-Identical Data Distribution for Federated Visual Classification" (2019), in the per-class
 * form most benchmarks use (Yurochkin et al. 2019; Li et al., NIID-Bench, 2022; Flower's
 * DirichletPartitioner): for each class k, draw client proportions p_k ~ Dir(alpha, ..., alpha) over
 * the numClients clients and split class k's samples (in random order) by those proportions.
 * Large alpha gives every client nearly the global label mix; small alpha gives each client a few
 * dominant classes.
 *
 * Minimum size by resampling, as NIID-Bench and Flower do: if some client ends up with fewer than
 * minSize samples, the whole draw is discarded and repeated, up to maxAttempts times, then a clear
 * error. This conditions the distribution on every client being large enough (the proportions are
 * no longer exactly Dirichlet), which is the point: a client without data cannot train. Only sample
 * counts are computed per attempt, so hundreds of attempts cost milliseconds.
 *
 * Every sample goes to exactly one client.
 */
import type { Rng } from '../../util/rng.js';
import { sortByLabel } from './by-label.js';
import { checkCount, checkLabels, checkPositive } from './check.js';
import { sampleDirichlet } from './gamma.js';

export interface DirichletOptions {
  /** Fewest samples any client may get (default 10, as in NIID-Bench and Flower). */
  minSize?: number;
  /** Draws to try before giving up on minSize (default 1000). */
  maxAttempts?: number;
}

export function dirichlet(
  labels: Int32Array,
  numClients: number,
  alpha: number,
  rng: Rng,
  options: DirichletOptions = {},
): Uint32Array[] {
  const { minSize = 10, maxAttempts = 1000 } = options;
  const numClasses = checkLabels('dirichlet', labels);
  checkCount('dirichlet', 'numClients', numClients, 1);
  checkPositive('dirichlet', 'alpha', alpha);
  checkCount('dirichlet', 'minSize', minSize, 0);
  checkCount('dirichlet', 'maxAttempts', maxAttempts, 1);
  const n = labels.length;
  if (n < numClients * minSize)
    throw new RangeError(
      `dirichlet: ${n} samples cannot give each of ${numClients} clients minSize=${minSize}; lower minSize or use fewer clients`,
    );

  const { sorted, classStart } = sortByLabel(rng.permutation(n), labels, numClasses);
  // cuts[k * (numClients + 1) + j]: client j gets class k's samples from cut j to cut j + 1.
  const cuts = new Uint32Array(numClasses * (numClients + 1));
  const sizes = new Uint32Array(numClients);
  const p = new Float64Array(numClients);
  let smallest = 0;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    sizes.fill(0);
    for (let k = 0; k < numClasses; k++) {
      const count = classStart[k + 1] - classStart[k];
      if (count === 0) continue;
      sampleDirichlet(rng, alpha, numClients, p);
      const base = k * (numClients + 1);
      let cumulative = 0;
      for (let j = 0; j < numClients; j++) {
        cumulative += p[j];
        // floor of the cumulative share; the last cut is the class size exactly, whatever the rounding.
        const cut = j === numClients - 1 ? count : Math.min(count, Math.floor(cumulative * count));
        cuts[base + j + 1] = cut;
        sizes[j] += cut - cuts[base + j];
      }
    }
    smallest = sizes.reduce((a, b) => Math.min(a, b));
    if (smallest >= minSize) return assemble(sorted, classStart, cuts, sizes, numClients);
  }
  throw new Error(
    `dirichlet: after ${maxAttempts} draws with alpha=${alpha}, some client still had fewer than minSize=${minSize} ` +
      `samples (smallest in the last draw: ${smallest}); raise alpha, lower minSize, or use fewer clients`,
  );
}

function assemble(
  sorted: Uint32Array,
  classStart: Uint32Array,
  cuts: Uint32Array,
  sizes: Uint32Array,
  numClients: number,
): Uint32Array[] {
  const parts = Array.from(sizes, (size) => new Uint32Array(size));
  const filled = new Uint32Array(numClients);
  for (let k = 0; k + 1 < classStart.length; k++) {
    const base = k * (numClients + 1);
    for (let j = 0; j < numClients; j++) {
      const from = classStart[k] + cuts[base + j];
      const to = classStart[k] + cuts[base + j + 1];
      parts[j].set(sorted.subarray(from, to), filled[j]);
      filled[j] += to - from;
    }
  }
  for (const part of parts) part.sort();
  return parts;
}

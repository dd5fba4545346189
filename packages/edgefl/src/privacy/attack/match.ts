/**
 * Pairing reconstructions with the originals they are meant to be. A batch's gradient does not say
 * which dummy image became which example (the sum is order-free), so results are scored after the
 * pairing that favours the attacker: one-to-one, best pairs first (greedy on PSNR), for the
 * optimization attack's batch; and each original against its best candidate, for the analytic
 * attack's per-row candidates. Favouring the attacker keeps a "the defense works" reading honest.
 */
import { psnr } from './metrics.js';

/** Clamps every value into [lo, hi] (in place) and returns the array. */
export function clampInPlace(x: Float32Array, lo: number, hi: number): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = x[i] < lo ? lo : x[i] > hi ? hi : Number.isNaN(x[i]) ? lo : x[i];
  return x;
}

/**
 * For each target, the index of its reconstruction, one-to-one: repeatedly takes the pair with the
 * highest PSNR among unpaired targets and reconstructions. Needs at least as many reconstructions
 * as targets.
 */
export function matchOneToOne(
  targets: readonly Float32Array[],
  reconstructions: readonly Float32Array[],
  dataRange: number,
): number[] {
  if (reconstructions.length < targets.length)
    throw new RangeError(
      `matching: ${reconstructions.length} reconstructions cannot be paired with ${targets.length} targets`,
    );
  const pairs: [number, number, number][] = [];
  targets.forEach((t, i) => reconstructions.forEach((r, j) => pairs.push([psnr(t, r, dataRange), i, j])));
  pairs.sort((a, b) => b[0] - a[0]);
  const of = new Array<number>(targets.length).fill(-1);
  const taken = new Set<number>();
  let left = targets.length;
  for (const [, i, j] of pairs) {
    if (left === 0) break;
    if (of[i] >= 0 || taken.has(j)) continue;
    of[i] = j;
    taken.add(j);
    left--;
  }
  return of;
}

/** The index of the candidate with the highest PSNR against `target`. */
export function bestCandidate(
  target: Float32Array,
  candidates: readonly Float32Array[],
  dataRange: number,
): number {
  if (candidates.length === 0) throw new RangeError('matching: no candidates');
  let best = 0;
  let bestScore = -Infinity;
  candidates.forEach((c, j) => {
    const s = psnr(target, c, dataRange);
    if (s > bestScore) [best, bestScore] = [j, s];
  });
  return best;
}

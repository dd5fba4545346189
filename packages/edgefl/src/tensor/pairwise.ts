/**
 * Pairwise distances between the round's updates (Krum, Multi-Krum, Bulyan).
 */
import { commonLength, squaredDistanceRange } from './math.js';
import { roundUp, simdInstance } from './wasm/simd-kernels.js';

/**
 * The n × n matrix (row-major, float64) of squared L2 distances between the rows. Computed over
 * column tiles sized so that the tile of every row stays in a 1 MB L2 cache while all pairs use it,
 * and by differences rather than via ‖a‖² + ‖b‖² − 2a·b, which cancels badly for close rows.
 * With WebAssembly SIMD each tile is copied into the module's memory and every pair's partial sum
 * is one SIMD kernel call; otherwise (or with `simd: false`) plain loops do the same.
 */
export function pairwiseSquaredDistances(
  rows: readonly Float32Array[],
  options: { simd?: boolean } = {},
): Float64Array {
  const n = rows.length;
  const d = commonLength(rows, 'pairwiseSquaredDistances');
  const out = new Float64Array(n * n);
  // 2^18 float32 = 1 MB for all n rows of a tile; at least 1024 columns so calls stay cheap.
  const tile = Math.max(1024, Math.floor(2 ** 18 / Math.max(n, 1) / 8) * 8);
  const simd = (options.simd ?? true) && n > 1 ? simdInstance(n * tile * 4) : undefined;
  const stage = simd && new Float32Array(simd.memory.buffer, 0, n * tile);
  for (let c0 = 0; c0 < d; c0 += tile) {
    const c1 = Math.min(d, c0 + tile);
    if (simd && stage) {
      const len = c1 - c0;
      const padded = roundUp(len, 8);
      for (let i = 0; i < n; i++) {
        stage.set(rows[i].subarray(c0, c1), i * tile);
        if (padded !== len) stage.fill(0, i * tile + len, i * tile + padded);
      }
      const distance = simd.kernels.squaredDistance;
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) out[i * n + j] += distance(i * tile * 4, j * tile * 4, padded);
    } else {
      for (let i = 0; i < n; i++) {
        const a = rows[i];
        for (let j = i + 1; j < n; j++) out[i * n + j] += squaredDistanceRange(a, rows[j], c0, c1);
      }
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[j * n + i] = out[i * n + j];
  return out;
}

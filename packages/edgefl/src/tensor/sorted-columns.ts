/**
 * Columns sorted in bulk, for the per-coordinate robust rules (coordinate-wise median, trimmed
 * mean, Bulyan): a sorting network run as WebAssembly SIMD over tiles of columns.
 */
import { commonLength } from './math.js';
import { simdInstance } from './wasm/simd-kernels.js';

/**
 * The comparators of Batcher's odd–even merge sort for n inputs, as [i0, j0, i1, j1, ...] with
 * i < j: applying "min to i, max to j" for each pair in order sorts any n values. The network for
 * the next power of two restricted to indices < n (the dropped comparators would only ever meet
 * +Infinity padding, so they are no-ops). O(n log² n) comparators: 1,104 for n = 100.
 */
export function sortingNetwork(n: number): Int32Array {
  const pairs: number[] = [];
  for (let p = 1; p < n; p *= 2)
    for (let k = p; k >= 1; k = k / 2)
      for (let j = k % p; j + k < n; j += 2 * k)
        for (let i = 0; i < k && i + j + k < n; i++)
          if (Math.floor((i + j) / (2 * p)) === Math.floor((i + j + k) / (2 * p)))
            pairs.push(i + j, i + j + k);
  return Int32Array.from(pairs);
}

/**
 * Visits the columns of `rows` (equal-length float32 vectors, e.g. the clients' deltas) in tiles with
 * every column sorted ascending: `visit(tile, width, first)` gets a row-major n × width tile where
 * tile[r · width + c] is the r-th smallest value of column first + c (only c < the tile's column
 * count, min(width, d − first), is meaningful).
 *
 * The sort runs as WebAssembly SIMD: a sorting network whose every compare-exchange is a min and a
 * max over four columns at once, no branches — where quickselect on one column spends most of its
 * time on mispredicted branches. Returns false, visiting nothing, where SIMD is unavailable or
 * `simd` is false (callers then use the quickselect helpers of select.ts).
 */
export function forEachSortedColumnTile(
  rows: readonly Float32Array[],
  visit: (tile: Float32Array, width: number, first: number) => void,
  options: { simd?: boolean } = {},
): boolean {
  const n = rows.length;
  const d = commonLength(rows, 'forEachSortedColumnTile');
  // ~256 KB of tile, so it stays in L2 across the ~n log² n passes; a multiple of 8 columns.
  const width = Math.max(8, Math.min(4096, Math.floor(65536 / Math.max(n, 1) / 8) * 8));
  const network = sortingNetwork(n);
  const tileBytes = n * width * 4;
  const simd = (options.simd ?? true) && n > 0 ? simdInstance(tileBytes + network.length * 4) : undefined;
  if (!simd) return false;
  const tile = new Float32Array(simd.memory.buffer, 0, n * width);
  // Comparators as byte offsets of the two rows, read by the kernel.
  const pairs = new Int32Array(simd.memory.buffer, tileBytes, network.length);
  for (let q = 0; q < network.length; q++) pairs[q] = network[q] * width * 4;
  for (let first = 0; first < d; first += width) {
    const cols = Math.min(width, d - first);
    for (let r = 0; r < n; r++) {
      tile.set(rows[r].subarray(first, first + cols), r * width);
      if (cols < width) tile.fill(0, r * width + cols, (r + 1) * width);
    }
    simd.kernels.compareExchange(0, width * 4, tileBytes, tileBytes + network.length * 4);
    visit(tile, width, first);
  }
  return true;
}

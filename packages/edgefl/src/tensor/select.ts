/**
 * The order statistics the robust strategies need per coordinate: quickselect, median, trimmed
 * mean, and the mean of the values closest to the median. All of them reorder the first n entries
 * of `a` in place, so callers gather a column of one coordinate across clients into a preallocated
 * scratch and pay no allocation per coordinate.
 */
import type { FloatArray } from './math.js';

/**
 * Rearranges a[lo..hi] so that a[k] holds the value that sorted order would put there, everything
 * before it is <= a[k] and everything after is >= a[k]; returns a[k]. Quickselect with a
 * median-of-three pivot and Hoare partitioning: O(n) on average, no recursion, no allocation.
 */
export function selectInPlace(a: FloatArray, k: number, lo = 0, hi = a.length - 1): number {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot, which also guards the inner scans at both ends.
    let t: number;
    if (a[mid] < a[lo]) {
      t = a[mid];
      a[mid] = a[lo];
      a[lo] = t;
    }
    if (a[hi] < a[lo]) {
      t = a[hi];
      a[hi] = a[lo];
      a[lo] = t;
    }
    if (a[hi] < a[mid]) {
      t = a[hi];
      a[hi] = a[mid];
      a[mid] = t;
    }
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and everything strictly between j and i equals pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Smallest of a[lo..hi]. */
function minOf(a: FloatArray, lo: number, hi: number): number {
  let m = a[lo];
  for (let i = lo + 1; i <= hi; i++) if (a[i] < m) m = a[i];
  return m;
}

/** Median of a[0..n) (mean of the two middle values when n is even). Reorders a[0..n). */
export function medianInPlace(a: FloatArray, n: number): number {
  if (n <= 0) throw new RangeError('median of no values');
  const k = (n - 1) >>> 1;
  const lower = selectInPlace(a, k, 0, n - 1);
  if (n % 2 === 1) return lower;
  // After the select everything right of k is >= lower, so the upper middle is their minimum.
  return (lower + minOf(a, k + 1, n - 1)) / 2;
}

/**
 * Mean of a[0..n) without its `trim` smallest and `trim` largest values (sum in float64).
 * Reorders a[0..n).
 */
export function trimmedMeanInPlace(a: FloatArray, n: number, trim: number): number {
  if (!(Number.isInteger(trim) && trim >= 0 && 2 * trim < n))
    throw new RangeError(`cannot trim ${trim} values from each end of ${n}`);
  if (trim > 0) {
    selectInPlace(a, trim, 0, n - 1); // a[0..trim) are the `trim` smallest
    selectInPlace(a, n - trim - 1, trim, n - 1); // a(n-trim-1..n) are the `trim` largest
  }
  let s = 0;
  for (let i = trim; i < n - trim; i++) s += a[i];
  return s / (n - 2 * trim);
}

/**
 * Bulyan's coordinate rule: the mean of the `count` values of a[0..n) closest to their median.
 * `keys` is caller-provided scratch of length >= n. Reorders a[0..n).
 */
export function meanClosestToMedianInPlace(
  a: FloatArray,
  n: number,
  count: number,
  keys: Float64Array,
): number {
  if (!(Number.isInteger(count) && count >= 1 && count <= n))
    throw new RangeError(`cannot average ${count} of ${n} values`);
  const med = medianInPlace(a, n);
  for (let i = 0; i < n; i++) keys[i] = Math.abs(a[i] - med);
  if (count < n) selectPairsInPlace(keys, a, count - 1, 0, n - 1);
  let s = 0;
  for (let i = 0; i < count; i++) s += a[i];
  return s / count;
}

/** selectInPlace on `keys`, moving `values` along with them. */
function selectPairsInPlace(keys: Float64Array, values: FloatArray, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < keys[lo]) swapPair(keys, values, mid, lo);
    if (keys[hi] < keys[lo]) swapPair(keys, values, hi, lo);
    if (keys[hi] < keys[mid]) swapPair(keys, values, hi, mid);
    const pivot = keys[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (keys[i] < pivot) i++;
      while (keys[j] > pivot) j--;
      if (i <= j) swapPair(keys, values, i++, j--);
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swapPair(keys: Float64Array, values: FloatArray, i: number, j: number): void {
  const k = keys[i];
  keys[i] = keys[j];
  keys[j] = k;
  const v = values[i];
  values[i] = values[j];
  values[j] = v;
}

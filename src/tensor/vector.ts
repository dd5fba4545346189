/**
 * Vector kernels on flat typed arrays: the hot path of aggregation, clipping and server optimizers.
 *
 * Plain tight loops without per-element closures, unrolled four ways where a loop-carried sum
 * would otherwise serialize on one register. Reductions (dot, norms, distances) accumulate in
 * float64 — JavaScript arithmetic is float64 anyway, so this costs nothing and keeps a 1M-element
 * norm accurate to ~1e-16 relative instead of float32's ~1e-4.
 *
 * Also here: the order statistics the robust strategies need per coordinate (quickselect, median,
 * trimmed mean, mean of the values closest to the median), and `WeightedSum`, the streaming float64
 * accumulator behind FedAvg, with a WebAssembly SIMD path (see the end of the file).
 */

export type FloatArray = Float32Array | Float64Array;

function assertSameLength(a: FloatArray, b: FloatArray, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/** y += a * x. */
export function axpy(y: FloatArray, a: number, x: FloatArray): void {
  assertSameLength(y, x, 'axpy');
  const n = y.length;
  const n4 = n - (n % 4);
  let i = 0;
  for (; i < n4; i += 4) {
    y[i] += a * x[i];
    y[i + 1] += a * x[i + 1];
    y[i + 2] += a * x[i + 2];
    y[i + 3] += a * x[i + 3];
  }
  for (; i < n; i++) y[i] += a * x[i];
}

/** x *= a. */
export function scale(x: FloatArray, a: number): void {
  const n = x.length;
  for (let i = 0; i < n; i++) x[i] *= a;
}

/** Σ x[i]·y[i], accumulated in float64. */
export function dot(x: FloatArray, y: FloatArray): number {
  assertSameLength(x, y, 'dot');
  const n = x.length;
  const n4 = n - (n % 4);
  // Four independent partial sums: the adds pipeline instead of waiting on one accumulator.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; i++) s0 += x[i] * y[i];
  return s0 + s1 + s2 + s3;
}

/** ‖x‖², accumulated in float64. */
export function squaredNorm(x: FloatArray): number {
  return dot(x, x);
}

/** ‖x‖, accumulated in float64. */
export function l2Norm(x: FloatArray): number {
  return Math.sqrt(dot(x, x));
}

/** ‖x − y‖², accumulated in float64 (by differences, not via norms, so close vectors lose nothing). */
export function squaredDistance(x: FloatArray, y: FloatArray): number {
  assertSameLength(x, y, 'squaredDistance');
  return squaredDistanceRange(x, y, 0, x.length);
}

/** ‖x − y‖. */
export function l2Distance(x: FloatArray, y: FloatArray): number {
  return Math.sqrt(squaredDistance(x, y));
}

/** dst := src (same length required: a silent partial copy would hide a layout bug). */
export function copy(dst: FloatArray, src: FloatArray): void {
  assertSameLength(dst, src, 'copy');
  dst.set(src);
}

/** x := v everywhere. */
export function fill(x: FloatArray, v: number): void {
  x.fill(v);
}

/** Index of the first NaN or ±Infinity in x, or -1 when every value is finite. */
export function firstNonFinite(x: FloatArray): number {
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity; NaN !== NaN.
    if (v - v !== 0) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Order statistics over a scratch array (the column of one coordinate across clients). All of
// them reorder the first n entries of `a` in place, so callers gather a column into a
// preallocated scratch and pay no allocation per coordinate.

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

// ---------------------------------------------------------------------------------------------
// WeightedSum: the streaming accumulator behind FedAvg and the server optimizers.

/**
 * A running Σ wᵢ·xᵢ over float32 vectors, held in float64 (8 bytes per parameter, whatever the number
 * of vectors added).
 *
 * Why float64 rather than a float32 Kahan sum: with integer weights below 2^29 every product wᵢ·xᵢ is
 * exact in float64, and the sum's rounding error (~n·1e-16 relative) stays far below float32's
 * resolution, so the mean rounded to float32 is the correctly rounded mean, whatever order the
 * vectors arrive in, except when it falls within ~1e-16 of a float32 rounding boundary. A Kahan
 * pair of float32 arrays moves as many bytes per element, is less accurate (~2 float32 ulps) and
 * needs four dependent operations per element; bench/aggregate.ts times it.
 *
 * `add` is all-or-nothing: a vector holding NaN or ±Infinity is found before any value changes.
 * Where WebAssembly SIMD is available (Node, current browsers) the check and the multiply-add run
 * as SIMD kernels on a copy of the vector in the module's memory; elsewhere (e.g. React Native's
 * Hermes) the same work is done by plain loops.
 */
/**
 * A WeightedSum backend supplied from outside the isomorphic core: edgefl/node's two-thread sum
 * (`useParallelAggregation`). It must keep `add`'s contract — all-or-nothing, the index of the first
 * NaN/±Infinity (or x.length on overflow) when refused — and give bit-identical sums.
 */
export interface ExternalSumBackend {
  add(x: Float32Array, weight: number): number;
  sum(): Float64Array;
  /** Threads the backend works on (for reports and tests). */
  readonly threads: number;
}

let externalSumFactory: ((length: number) => ExternalSumBackend | undefined) | undefined;

/**
 * Installs (or, with undefined, removes) a factory asked first for the backend of every WeightedSum
 * created afterwards with SIMD on; it returns undefined for lengths it does not want.
 */
export function setExternalSumFactory(
  factory: ((length: number) => ExternalSumBackend | undefined) | undefined,
): void {
  externalSumFactory = factory;
}

export class WeightedSum {
  readonly length: number;
  private countAdded = 0;
  private weightSum = 0;
  private readonly backend: SumBackend;

  constructor(length: number, options: { simd?: boolean } = {}) {
    if (!(Number.isInteger(length) && length >= 0)) throw new RangeError(`WeightedSum: bad length ${length}`);
    this.length = length;
    const simd = options.simd ?? true;
    this.backend =
      (simd && simdEnabled && externalSumFactory?.(length)) ||
      (simd && WasmSumBackend.create(length)) ||
      new JsSumBackend(length);
  }

  /** Threads the additions run on: 2 with edgefl/node's `useParallelAggregation` on a long vector, else 1. */
  get threads(): number {
    return (this.backend as Partial<ExternalSumBackend>).threads ?? 1;
  }

  /** Whether the WebAssembly SIMD path is in use. */
  get simd(): boolean {
    return this.backend instanceof WasmSumBackend;
  }

  /** Vectors added so far. */
  get count(): number {
    return this.countAdded;
  }

  /** Σ wᵢ. */
  get totalWeight(): number {
    return this.weightSum;
  }

  /**
   * Adds weight·x. Returns -1 when added; otherwise nothing changed and the result is the index of
   * the first NaN/±Infinity in x (or x.length if x is finite but weight·x overflowed float64).
   */
  add(x: Float32Array, weight: number): number {
    if (x.length !== this.length)
      throw new RangeError(`WeightedSum: vector of ${x.length} values, expected ${this.length}`);
    if (!(Number.isFinite(weight) && weight > 0))
      throw new RangeError(`WeightedSum: weight must be positive and finite, got ${weight}`);
    const bad = this.backend.add(x, weight);
    if (bad >= 0) return bad;
    this.countAdded++;
    this.weightSum += weight;
    return -1;
  }

  /** Adds another accumulator's sums (partial sums from several aggregators combine by addition). */
  merge(other: WeightedSum): void {
    if (other.length !== this.length)
      throw new RangeError(`WeightedSum.merge: lengths differ (${this.length} vs ${other.length})`);
    const a = this.backend.sum();
    const b = other.backend.sum();
    for (let i = 0; i < this.length; i++) a[i] += b[i];
    this.countAdded += other.countAdded;
    this.weightSum += other.weightSum;
  }

  /** A live view of Σ wᵢ·xᵢ (valid until the next add). */
  sumView(): Float64Array {
    return this.backend.sum();
  }

  /** out[i] = base[i] + scale · Σ wᵢ·xᵢ[i] / Σ wᵢ — the weighted mean, optionally stepped from a base. */
  meanInto(out: FloatArray, options: { base?: Float32Array; scale?: number } = {}): void {
    if (out.length !== this.length)
      throw new RangeError(`WeightedSum.meanInto: output of ${out.length} values, expected ${this.length}`);
    if (this.countAdded === 0) throw new Error('WeightedSum: mean of no vectors');
    const s = this.backend.sum();
    const f = (options.scale ?? 1) / this.weightSum;
    const base = options.base;
    const n = this.length;
    if (base) {
      if (base.length !== n) throw new RangeError(`WeightedSum.meanInto: base of ${base.length} values`);
      for (let i = 0; i < n; i++) out[i] = base[i] + f * s[i];
    } else {
      for (let i = 0; i < n; i++) out[i] = f * s[i];
    }
  }
}

interface SumBackend {
  add(x: Float32Array, weight: number): number;
  sum(): Float64Array;
}

/** Largest finite float32: w·x can only overflow float64 when w exceeds ~5e269. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** x.length if some weight·x[i] overflows float64, else -1 (only scans for absurdly large weights). */
export function overflowIndex(x: Float32Array, weight: number): number {
  if (Number.isFinite(weight * FLOAT32_MAX)) return -1;
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] < 0 ? -x[i] : x[i];
    if (v > maxAbs) maxAbs = v;
  }
  return Number.isFinite(weight * maxAbs) ? -1 : x.length;
}

class JsSumBackend implements SumBackend {
  private readonly acc: Float64Array;
  constructor(length: number) {
    this.acc = new Float64Array(length);
  }
  add(x: Float32Array, weight: number): number {
    const bad = firstNonFinite(x);
    if (bad >= 0) return bad;
    const overflow = overflowIndex(x, weight);
    if (overflow >= 0) return overflow;
    const acc = this.acc;
    const n = x.length;
    for (let i = 0; i < n; i++) acc[i] += weight * x[i];
    return -1;
  }
  sum(): Float64Array {
    return this.acc;
  }
}

/**
 * The SIMD accumulator works in the module's memory, where the kernels can reach it: the float64
 * sum and a float32 staging area for the vector being added. Nothing may be added before every
 * value has been checked, so a vector is either
 * - staged whole (up to STAGE_WHOLE elements: the copy stays in L2), checked there and added from
 *   the same copy: the caller's buffer is read once; or
 * - (larger vectors) copied block by block into an L1-sized stage twice, once for the check and once
 *   for the multiply-add: reading the caller's buffer twice costs less than a staged copy that
 *   no longer fits in cache, written once and read twice.
 * In a same-process A/B the first way was ~20% faster at 100k parameters, the second ~8% at 1M.
 */
const STAGE_WHOLE = 1 << 17;
/** Elements per staged block in the second way: 16 KB of float32. */
const BLOCK = 4096;

class WasmSumBackend implements SumBackend {
  private readonly acc: Float64Array;
  private readonly stage: Float32Array;
  private readonly stageOffset: number;
  private readonly kernels: SimdKernels;

  private constructor(length: number, memory: WebAssembly.Memory, kernels: SimdKernels) {
    // Layout: [sum: float64 × length rounded up to 16][stage: float32 × stageLength(length)].
    this.acc = new Float64Array(memory.buffer, 0, length);
    this.stageOffset = roundUp(length, 16) * 8;
    this.stage = new Float32Array(memory.buffer, this.stageOffset, stageLength(length));
    this.kernels = kernels;
  }

  static create(length: number): WasmSumBackend | undefined {
    const simd = simdInstance(roundUp(length, 16) * 8 + stageLength(length) * 4);
    return simd && new WasmSumBackend(length, simd.memory, simd.kernels);
  }

  add(x: Float32Array, weight: number): number {
    const n = x.length;
    const { stageOffset, kernels } = this;
    if (n <= STAGE_WHOLE) {
      // The stage's padding past n is never written, so it stays zero and the kernels may run to a
      // multiple of 16; the sum's padding only ever receives weight · 0.
      this.stage.set(x);
      if (kernels.nonFinite(stageOffset, roundUp(n, 16)) !== 0) return firstNonFinite(x);
      const overflow = overflowIndex(x, weight);
      if (overflow >= 0) return overflow;
      kernels.accumulate(0, stageOffset, roundUp(n, 8), weight);
      return -1;
    }
    for (let o = 0; o < n; o += BLOCK) {
      const len = this.load(x, o);
      if (kernels.nonFinite(stageOffset, roundUp(len, 16)) !== 0)
        return o + firstNonFinite(x.subarray(o, o + len));
    }
    const overflow = overflowIndex(x, weight);
    if (overflow >= 0) return overflow;
    for (let o = 0; o < n; o += BLOCK) {
      const len = this.load(x, o);
      kernels.accumulate(o * 8, stageOffset, roundUp(len, 8), weight);
    }
    return -1;
  }

  /** Copies x[o..o+BLOCK) into the stage, zero-padding it to a multiple of 16; returns its length. */
  private load(x: Float32Array, o: number): number {
    const len = Math.min(BLOCK, x.length - o);
    this.stage.set(x.subarray(o, o + len));
    const padded = roundUp(len, 16);
    if (padded !== len) this.stage.fill(0, len, padded);
    return len;
  }

  sum(): Float64Array {
    return this.acc;
  }
}

/** Float32 elements of the stage for vectors of this length (see WasmSumBackend). */
function stageLength(length: number): number {
  return length <= STAGE_WHOLE ? roundUp(length, 16) : BLOCK;
}

export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

// ---------------------------------------------------------------------------------------------
// Pairwise distances (Krum, Bulyan).

/**
 * The n × n matrix (row-major, float64) of squared L2 distances between the rows. Computed over
 * column tiles sized so that the tile of every row stays in a 1 MB L2 cache while all pairs use it,
 * and by differences rather than via ‖a‖² + ‖b‖² − 2a·b, which cancels badly for close rows.
 * With WebAssembly SIMD each tile is copied into the module's memory and every pair's partial sum
 * is one SIMD kernel call; otherwise plain loops do the same.
 */
export function pairwiseSquaredDistances(
  rows: readonly Float32Array[],
  options: { simd?: boolean } = {},
): Float64Array {
  const n = rows.length;
  const d = n > 0 ? rows[0].length : 0;
  for (const r of rows)
    if (r.length !== d) throw new RangeError(`pairwiseSquaredDistances: rows of ${r.length} and ${d} values`);
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

/** ‖a[from:to] − b[from:to]‖², four float64 accumulators. */
function squaredDistanceRange(a: FloatArray, b: FloatArray, from: number, to: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = from;
  for (; i + 3 < to; i += 4) {
    const d0 = a[i] - b[i];
    const d1 = a[i + 1] - b[i + 1];
    const d2 = a[i + 2] - b[i + 2];
    const d3 = a[i + 3] - b[i + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < to; i++) {
    const e = a[i] - b[i];
    s0 += e * e;
  }
  return s0 + s1 + s2 + s3;
}

// ---------------------------------------------------------------------------------------------
// Columns sorted in bulk (coordinate-wise median, trimmed mean, Bulyan).

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
 * time on mispredicted branches. Returns false, visiting nothing, where SIMD is unavailable (callers
 * then use the quickselect helpers above).
 */
export function forEachSortedColumnTile(
  rows: readonly Float32Array[],
  visit: (tile: Float32Array, width: number, first: number) => void,
): boolean {
  const n = rows.length;
  const d = n > 0 ? rows[0].length : 0;
  for (const r of rows)
    if (r.length !== d) throw new RangeError(`forEachSortedColumnTile: rows of ${r.length} and ${d} values`);
  // ~256 KB of tile, so it stays in L2 across the ~n log² n passes; a multiple of 8 columns.
  const width = Math.max(8, Math.min(4096, Math.floor(65536 / Math.max(n, 1) / 8) * 8));
  const network = sortingNetwork(n);
  const tileBytes = n * width * 4;
  const simd = n > 0 ? simdInstance(tileBytes + network.length * 4) : undefined;
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

// ---------------------------------------------------------------------------------------------
// The WebAssembly SIMD module, assembled here from its instructions: two small functions, so no
// toolchain is needed and it compiles synchronously everywhere (browsers allow synchronous
// compilation on the main thread for modules under 4 KB).

export interface SimdKernels {
  /** sum[i] += w · x[i] for i < n (n a multiple of 8; sum float64 at byte `sum`, x float32 at `x`). */
  accumulate(sum: number, x: number, n: number, w: number): void;
  /** 1 if some x[i] (i < n, n a multiple of 16; float32 at byte `x`) is NaN or ±Infinity, else 0. */
  nonFinite(x: number, n: number): number;
  /** Σ (a[i] − b[i])² in float64 for i < n (n a multiple of 8; float32 at bytes `a` and `b`). */
  squaredDistance(a: number, b: number, n: number): number;
  /** Lane-wise min/max of row pairs: see compareExchange in assembleSimdModule. */
  compareExchange(base: number, rowBytes: number, pairs: number, pairsEnd: number): void;
}

let cachedModule: WebAssembly.Module | null | undefined;
let simdEnabled = true;

/**
 * Turns the WebAssembly SIMD kernels off (or back on) for everything created afterwards, e.g. to
 * measure or test the plain-loop path that runtimes without WebAssembly use. Results are identical
 * either way; only speed differs.
 */
export function setSimdEnabled(enabled: boolean): void {
  simdEnabled = enabled;
}

/** Whether the SIMD kernels are enabled and this runtime supports them. */
export function simdAvailable(): boolean {
  return simdEnabled && simdModule() !== null;
}

/** A fresh instance with its own memory of at least `bytes`, or undefined without SIMD support. */
function simdInstance(bytes: number): { memory: WebAssembly.Memory; kernels: SimdKernels } | undefined {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > 65536) return undefined; // beyond wasm32's 4 GiB: the caller uses plain loops
  const module = simdEnabled ? simdModule() : null;
  if (!module) return undefined;
  try {
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    return { memory, kernels: instance.exports as unknown as SimdKernels };
  } catch {
    return undefined; // e.g. the memory cannot be reserved: fall back rather than fail
  }
}

let cachedSharedModule: WebAssembly.Module | null | undefined;

/**
 * The same kernels importing a *shared* memory (up to wasm32's 4 GiB), for instances on several
 * threads over one memory; null where SIMD or shared memories are missing.
 */
export function sharedSimdModule(): WebAssembly.Module | null {
  if (cachedSharedModule === undefined)
    cachedSharedModule =
      simdModule() && typeof SharedArrayBuffer === 'function' ? compiled(assembleSimdModule(65536)) : null;
  return cachedSharedModule;
}

/** The compiled module, or null where WebAssembly or its SIMD extension is missing. */
function simdModule(): WebAssembly.Module | null {
  if (cachedModule === undefined)
    cachedModule = typeof WebAssembly === 'object' ? compiled(assembleSimdModule()) : null;
  return cachedModule;
}

/** The module of these bytes, or null where this runtime does not accept them. */
function compiled(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module | null {
  try {
    return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    return null;
  }
}

// Instruction encodings (WebAssembly core spec §5.4 and the fixed-width SIMD proposal).
const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;
const BLOCK_VOID = [0x02, 0x40];
const LOOP_VOID = [0x03, 0x40];
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
const tee = (i: number): number[] => [0x22, i];
const i32 = (v: number): number[] => [0x41, ...sleb(v)];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const memarg = (alignLog2: number, offset: number): number[] => [alignLog2, ...uleb(offset)];
const v128Load = (offset: number): number[] => [...simd(0x00), ...memarg(4, offset)];
const v128Store = (offset: number): number[] => [...simd(0x0b), ...memarg(4, offset)];
const v128Load64Zero = (offset: number): number[] => [...simd(0x5d), ...memarg(3, offset)];
const F64X2_SPLAT = simd(0x14);
/** i8x16.shuffle taking bytes 8..15 of the first operand to bytes 0..7 (the upper half is unused). */
const HIGH_HALF_DOWN = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const F64X2_PROMOTE_LOW_F32X4 = simd(0x5f);
const F64X2_ADD = simd(0xf0);
const F64X2_MUL = simd(0xf2);
const F64X2_SUB = simd(0xf1);
const F64X2_EXTRACT_LANE = (lane: number): number[] => [...simd(0x21), lane];
const F64_ADD = 0xa0;
const F32X4_SUB = simd(0xe5);
const F32X4_NE = simd(0x42);
const F32X4_PMIN = simd(0xea);
const F32X4_PMAX = simd(0xeb);
const i32Load = (offset: number): number[] => [0x28, ...memarg(2, offset)];
const V128_OR = simd(0x50);
const V128_ANY_TRUE = simd(0x53);

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const ascii = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

interface AsmFunction {
  name: string;
  params: number[];
  results: number[];
  locals: number[];
  code: number[];
}

/** `local += step` for an i32 local. */
const bump = (local: number, step: number): number[] => [...get(local), ...i32(step), I32_ADD, ...set(local)];

/** `block loop (br_if 1 when ptr >= end) body br 0 end end`: runs body while ptr < end. */
const whileBelow = (ptr: number, end: number, body: number[]): number[] => [
  ...BLOCK_VOID,
  ...LOOP_VOID,
  ...get(ptr),
  ...get(end),
  I32_GE_U,
  BR_IF,
  1,
  ...body,
  BR,
  0,
  END,
  END,
];

/** The module's bytes; with `sharedMaxPages`, its memory import is a shared memory of at most that many pages. */
function assembleSimdModule(sharedMaxPages = 0): Uint8Array<ArrayBuffer> {
  // accumulate(sum, x, n, w): locals 4 = end of x, 5 = splat(w), 6 = four float32 of x. Each group of
  // four: one 16-byte load of x, the low two promoted to float64 lanes directly, the high two after a
  // shuffle moves them down; 8 elements per iteration.
  const quad = (k: number): number[] => [
    ...get(1),
    ...v128Load(16 * k),
    ...set(6),
    ...get(0),
    ...get(0),
    ...v128Load(32 * k),
    ...get(6),
    ...F64X2_PROMOTE_LOW_F32X4,
    ...get(5),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...v128Store(32 * k),
    ...get(0),
    ...get(0),
    ...v128Load(32 * k + 16),
    ...get(6),
    ...get(6),
    ...HIGH_HALF_DOWN,
    ...F64X2_PROMOTE_LOW_F32X4,
    ...get(5),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...v128Store(32 * k + 16),
  ];
  const accumulate: AsmFunction = {
    name: 'accumulate',
    params: [I32, I32, I32, F64],
    results: [],
    locals: [I32, V128, V128],
    code: [
      ...get(1),
      ...get(2),
      ...i32(2),
      I32_SHL,
      I32_ADD,
      ...set(4),
      ...get(3),
      ...F64X2_SPLAT,
      ...set(5),
      ...whileBelow(1, 4, [...quad(0), ...quad(1), ...bump(0, 64), ...bump(1, 32)]),
      END,
    ],
  };

  // nonFinite(x, n): locals 2 = end, 3/4 = flag accumulators, 5 = temp. Four float32 lanes at a time:
  // v - v is NaN exactly where v is NaN or ±Infinity; OR together the "t != t" masks. 16 per iteration.
  const flag = (k: number, acc: number): number[] => [
    ...get(acc),
    ...get(0),
    ...v128Load(16 * k),
    ...tee(5),
    ...get(5),
    ...F32X4_SUB,
    ...tee(5),
    ...get(5),
    ...F32X4_NE,
    ...V128_OR,
    ...set(acc),
  ];
  const nonFinite: AsmFunction = {
    name: 'nonFinite',
    params: [I32, I32],
    results: [I32],
    locals: [I32, V128, V128, V128],
    code: [
      ...get(0),
      ...get(1),
      ...i32(2),
      I32_SHL,
      I32_ADD,
      ...set(2),
      ...whileBelow(0, 2, [...flag(0, 3), ...flag(1, 4), ...flag(2, 3), ...flag(3, 4), ...bump(0, 64)]),
      ...get(3),
      ...get(4),
      ...V128_OR,
      ...V128_ANY_TRUE,
      END,
    ],
  };

  // squaredDistance(a, b, n) -> f64: locals 3 = end of a, 4..7 = accumulators, 8 = temp. Pairs of
  // float32 are promoted before subtracting, so differences and squares are float64 as in the
  // plain loop: a huge finite Byzantine value cannot overflow to Infinity. 8 elements per iteration.
  const pairDistance = (k: number, acc: number): number[] => [
    ...get(acc),
    ...get(0),
    ...v128Load64Zero(8 * k),
    ...F64X2_PROMOTE_LOW_F32X4,
    ...get(1),
    ...v128Load64Zero(8 * k),
    ...F64X2_PROMOTE_LOW_F32X4,
    ...F64X2_SUB,
    ...tee(8),
    ...get(8),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...set(acc),
  ];
  const squaredDistance: AsmFunction = {
    name: 'squaredDistance',
    params: [I32, I32, I32],
    results: [F64],
    locals: [I32, V128, V128, V128, V128, V128],
    code: [
      ...get(0),
      ...get(2),
      ...i32(2),
      I32_SHL,
      I32_ADD,
      ...set(3),
      ...whileBelow(0, 3, [
        ...pairDistance(0, 4),
        ...pairDistance(1, 5),
        ...pairDistance(2, 6),
        ...pairDistance(3, 7),
        ...bump(0, 32),
        ...bump(1, 32),
      ]),
      ...get(4),
      ...get(5),
      ...F64X2_ADD,
      ...get(6),
      ...get(7),
      ...F64X2_ADD,
      ...F64X2_ADD,
      ...tee(4),
      ...F64X2_EXTRACT_LANE(0),
      ...get(4),
      ...F64X2_EXTRACT_LANE(1),
      F64_ADD,
      END,
    ],
  };

  // compareExchange(base, rowBytes, pairs, pairsEnd): for each (i, j) byte-offset pair in
  // [pairs, pairsEnd), rows base+i and base+j (rowBytes each, a multiple of 32) become their
  // lane-wise min and max. pmin/pmax (b < a ? b : a) are single instructions on x86 and ARM and
  // exact for the finite values that reach here. Locals 4/5 = row cursors, 6 = end, 7/8 = values.
  const exchange = (offset: number): number[] => [
    ...get(4),
    ...v128Load(offset),
    ...set(7),
    ...get(5),
    ...v128Load(offset),
    ...set(8),
    ...get(4),
    ...get(7),
    ...get(8),
    ...F32X4_PMIN,
    ...v128Store(offset),
    ...get(5),
    ...get(7),
    ...get(8),
    ...F32X4_PMAX,
    ...v128Store(offset),
  ];
  const compareExchange: AsmFunction = {
    name: 'compareExchange',
    params: [I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, V128, V128],
    code: [
      ...whileBelow(2, 3, [
        ...get(0),
        ...get(2),
        ...i32Load(0),
        I32_ADD,
        ...tee(4),
        ...get(1),
        I32_ADD,
        ...set(6),
        ...get(0),
        ...get(2),
        ...i32Load(4),
        I32_ADD,
        ...set(5),
        ...whileBelow(4, 6, [...exchange(0), ...exchange(16), ...bump(4, 32), ...bump(5, 32)]),
        ...bump(2, 8),
      ]),
      END,
    ],
  };

  const fns = [accumulate, nonFinite, squaredDistance, compareExchange];
  const types = fns.map((f) => [
    0x60,
    ...uleb(f.params.length),
    ...f.params,
    ...uleb(f.results.length),
    ...f.results,
  ]);
  const bodies = fns.map((f) => {
    const body = [...uleb(f.locals.length), ...f.locals.flatMap((t) => [1, t]), ...f.code];
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, [...uleb(types.length), ...types.flat()]), // types
    // import env.memory, min 1 page (flags 0x03: shared, with a maximum)
    ...section(2, [
      1,
      ...ascii('env'),
      ...ascii('memory'),
      0x02,
      ...(sharedMaxPages ? [0x03, 0x01, ...uleb(sharedMaxPages)] : [0x00, 0x01]),
    ]),
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]), // function i has type i
    ...section(7, [...uleb(fns.length), ...fns.flatMap((f, i) => [...ascii(f.name), 0x00, i])]), // exports
    ...section(10, [...uleb(fns.length), ...bodies.flat()]), // code
  ];
  return new Uint8Array(bytes);
}

/**
 * Vector arithmetic on flat typed arrays: the hot path of clipping, server optimizers and the robust
 * rules' distances.
 *
 * Plain tight loops without per-element closures, unrolled four ways where a loop-carried sum
 * would otherwise serialize on one register. Reductions (dot, norms, distances) accumulate in
 * float64 — JavaScript arithmetic is float64 anyway, so this costs nothing and keeps a 1M-element
 * norm accurate to ~1e-16 relative instead of float32's ~1e-4.
 */

export type FloatArray = Float32Array | Float64Array;

function assertSameLength(a: FloatArray, b: FloatArray, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/** The length every one of `rows` has (0 for no rows); a RangeError naming `what` when they differ. */
export function commonLength(rows: readonly FloatArray[], what: string): number {
  const d = rows.length > 0 ? rows[0].length : 0;
  for (const r of rows)
    if (r.length !== d) throw new RangeError(`${what}: rows of ${r.length} and ${d} values`);
  return d;
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
  // v − v is 0 for every finite v and NaN for NaN and ±Infinity, and a NaN makes any sum NaN: one
  // branch-free pass (about twice as fast as a test per value) says whether to look for the index.
  const n = x.length;
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += x[i] - x[i];
    s1 += x[i + 1] - x[i + 1];
  }
  if (i < n) s0 += x[i] - x[i];
  if (s0 + s1 === 0) return -1;
  for (let j = 0; j < n; j++) {
    const v = x[j];
    if (v - v !== 0) return j;
  }
  return -1;
}

/** ‖a[from:to] − b[from:to]‖², four float64 accumulators (no length check: the caller's range). */
export function squaredDistanceRange(a: FloatArray, b: FloatArray, from: number, to: number): number {
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

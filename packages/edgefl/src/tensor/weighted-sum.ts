/**
 * `WeightedSum`, the streaming float64 accumulator behind FedAvg and the server optimizers, and the
 * back-ends it runs on: WebAssembly SIMD kernels where available, plain loops elsewhere, or one
 * given to it (@edgefl/node's two-thread sum).
 */
import { firstNonFinite, type FloatArray } from './math.js';
import { roundUp, simdInstance, type SimdKernels } from './wasm/simd-kernels.js';

/**
 * Where a WeightedSum keeps its sum and does its additions. Every back-end gives bit-identical sums:
 * each element's float64 sum receives weight · x[i] (x[i] promoted to float64), vector by vector in
 * the order they are added.
 */
export interface SumBackend {
  /**
   * Adds weight · x, all-or-nothing: returns -1 when added; otherwise nothing changed and the result
   * is the index of the first NaN/±Infinity in x (or x.length if x is finite but weight · x
   * overflowed float64). The caller has checked x's length and that the weight is positive and finite.
   */
  add(x: Float32Array, weight: number): number;
  /** The float64 sum, live: valid until the next add, and callers may add into it (merge). */
  sum(): Float64Array;
  /** Threads the additions run on (for reports and tests); 1 when absent. */
  readonly threads?: number;
}

/**
 * Makes the back-end of a WeightedSum of `length` values, or returns undefined to leave that sum to
 * the default (a length it does not take, or a runtime that lacks what it needs).
 */
export type SumBackendFactory = (length: number) => SumBackend | undefined;

/**
 * The WebAssembly SIMD back-end, the default: undefined where WebAssembly SIMD is unavailable (or
 * the sum would not fit in a wasm32 memory).
 */
export function simdSumBackend(length: number): SumBackend | undefined {
  return WasmSumBackend.create(length);
}

/** Plain loops: what runtimes without WebAssembly SIMD get (e.g. React Native's Hermes). */
export function plainSumBackend(length: number): SumBackend {
  return new PlainSumBackend(length);
}

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
export class WeightedSum {
  readonly length: number;
  private countAdded = 0;
  private weightSum = 0;
  private readonly backend: SumBackend;

  /**
   * `backend` makes the sum's back-end; where it returns undefined, or without it, the sum uses
   * WebAssembly SIMD where available and plain loops elsewhere.
   */
  constructor(length: number, options: { backend?: SumBackendFactory } = {}) {
    if (!(Number.isInteger(length) && length >= 0)) throw new RangeError(`WeightedSum: bad length ${length}`);
    this.length = length;
    this.backend = options.backend?.(length) ?? simdSumBackend(length) ?? plainSumBackend(length);
  }

  /** Threads the additions run on: 2 with @edgefl/node's `parallelSumBackend` on a long vector, else 1. */
  get threads(): number {
    return this.backend.threads ?? 1;
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

class PlainSumBackend implements SumBackend {
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

/**
 * The float kernels of aggregation as WebAssembly SIMD: the weighted sum's check and multiply-add
 * (tensor/weighted-sum.ts, and on two threads tensor/node/parallel-sum.ts), pairwise distances
 * (tensor/pairwise.ts) and the compare-exchanges of sorting networks (tensor/sorted-columns.ts).
 * Four small functions, assembled in-process (wasm/assembler.ts) and compiled once.
 *
 * Every kernel works on addresses in the module's memory, so callers copy their vectors into an
 * instance's memory first, padded with zeros to the multiple of 8 or 16 elements a kernel takes.
 */
import {
  addressAfter,
  assembleModule,
  bump,
  compileModule,
  f64Add,
  f32x4Ne,
  f32x4Pmax,
  f32x4Pmin,
  f32x4Sub,
  F64,
  f64x2Add,
  f64x2ExtractLane,
  f64x2Mul,
  f64x2PromoteLowF32x4,
  f64x2Splat,
  f64x2Sub,
  get,
  I32,
  i32Add,
  i32Load,
  i8x16Shuffle,
  set,
  tee,
  V128,
  v128AnyTrue,
  v128Load,
  v128Load64Zero,
  v128Or,
  v128Store,
  whileBelow,
  type Instruction,
  type WasmFunction,
} from './assembler.js';

export interface SimdKernels {
  /** sum[i] += w · x[i] for i < n (n a multiple of 8; sum float64 at byte `sum`, x float32 at `x`). */
  accumulate(sum: number, x: number, n: number, w: number): void;
  /** 1 if some x[i] (i < n, n a multiple of 16; float32 at byte `x`) is NaN or ±Infinity, else 0. */
  nonFinite(x: number, n: number): number;
  /** Σ (a[i] − b[i])² in float64 for i < n (n a multiple of 8; float32 at bytes `a` and `b`). */
  squaredDistance(a: number, b: number, n: number): number;
  /** Lane-wise min/max of row pairs: see compareExchange in simdFunctions. */
  compareExchange(base: number, rowBytes: number, pairs: number, pairsEnd: number): void;
}

/** n rounded up to a multiple of m: the padded lengths the kernels take. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

let cachedModule: WebAssembly.Module | null | undefined;
let cachedSharedModule: WebAssembly.Module | null | undefined;

/** The compiled kernels, or null where WebAssembly or its SIMD extension is missing. */
function simdModule(): WebAssembly.Module | null {
  if (cachedModule === undefined)
    cachedModule = compileModule(
      assembleModule({
        memory: { pages: 1, importFrom: { module: 'env', name: 'memory' } },
        functions: simdFunctions(),
      }),
    );
  return cachedModule;
}

/**
 * The same kernels importing a *shared* memory (up to wasm32's 4 GiB), for instances on several
 * threads over one memory; null where SIMD or shared memories are missing.
 */
export function sharedSimdModule(): WebAssembly.Module | null {
  if (cachedSharedModule === undefined)
    cachedSharedModule =
      simdModule() && typeof SharedArrayBuffer === 'function'
        ? compileModule(
            assembleModule({
              memory: {
                pages: 1,
                maxPages: 65536,
                shared: true,
                importFrom: { module: 'env', name: 'memory' },
              },
              functions: simdFunctions(),
            }),
          )
        : null;
  return cachedSharedModule;
}

/** Whether this runtime runs the SIMD kernels. */
export function simdAvailable(): boolean {
  return simdModule() !== null;
}

/** A fresh instance with its own memory of at least `bytes`, or undefined without SIMD support. */
export function simdInstance(
  bytes: number,
): { memory: WebAssembly.Memory; kernels: SimdKernels } | undefined {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > 65536) return undefined; // beyond wasm32's 4 GiB: the caller uses plain loops
  const module = simdModule();
  if (!module) return undefined;
  try {
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    return { memory, kernels: instance.exports as unknown as SimdKernels };
  } catch {
    return undefined; // e.g. the memory cannot be reserved: fall back rather than fail
  }
}

/** i8x16.shuffle taking bytes 8..15 of the first operand to bytes 0..7 (the upper half is unused). */
const highHalfDown = i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);

/** The four kernels of SimdKernels. */
function simdFunctions(): WasmFunction[] {
  // accumulate(sum, x, n, w): locals 4 = end of x, 5 = splat(w), 6 = four float32 of x. Each group of
  // four: one 16-byte load of x, the low two promoted to float64 lanes directly, the high two after a
  // shuffle moves them down; 8 elements per iteration.
  const quad = (k: number): Instruction[] => [
    get(1),
    v128Load(16 * k),
    set(6),
    get(0),
    get(0),
    v128Load(32 * k),
    get(6),
    f64x2PromoteLowF32x4,
    get(5),
    f64x2Mul,
    f64x2Add,
    v128Store(32 * k),
    get(0),
    get(0),
    v128Load(32 * k + 16),
    get(6),
    get(6),
    highHalfDown,
    f64x2PromoteLowF32x4,
    get(5),
    f64x2Mul,
    f64x2Add,
    v128Store(32 * k + 16),
  ];
  const accumulate: WasmFunction = {
    name: 'accumulate',
    params: [I32, I32, I32, F64],
    results: [],
    locals: [I32, V128, V128],
    code: [
      ...addressAfter(1, 2, 2),
      set(4),
      get(3),
      f64x2Splat,
      set(5),
      ...whileBelow(1, 4, [...quad(0), ...quad(1), ...bump(0, 64), ...bump(1, 32)]),
    ],
  };

  // nonFinite(x, n): locals 2 = end, 3/4 = flag accumulators, 5 = temp. Four float32 lanes at a time:
  // v - v is NaN exactly where v is NaN or ±Infinity; OR together the "t != t" masks. 16 per iteration.
  const flag = (k: number, acc: number): Instruction[] => [
    get(acc),
    get(0),
    v128Load(16 * k),
    tee(5),
    get(5),
    f32x4Sub,
    tee(5),
    get(5),
    f32x4Ne,
    v128Or,
    set(acc),
  ];
  const nonFinite: WasmFunction = {
    name: 'nonFinite',
    params: [I32, I32],
    results: [I32],
    locals: [I32, V128, V128, V128],
    code: [
      ...addressAfter(0, 1, 2),
      set(2),
      ...whileBelow(0, 2, [...flag(0, 3), ...flag(1, 4), ...flag(2, 3), ...flag(3, 4), ...bump(0, 64)]),
      get(3),
      get(4),
      v128Or,
      v128AnyTrue,
    ],
  };

  // squaredDistance(a, b, n) -> f64: locals 3 = end of a, 4..7 = accumulators, 8 = temp. Pairs of
  // float32 are promoted before subtracting, so differences and squares are float64 as in the
  // plain loop: a huge finite Byzantine value cannot overflow to Infinity. 8 elements per iteration.
  const pairDistance = (k: number, acc: number): Instruction[] => [
    get(acc),
    get(0),
    v128Load64Zero(8 * k),
    f64x2PromoteLowF32x4,
    get(1),
    v128Load64Zero(8 * k),
    f64x2PromoteLowF32x4,
    f64x2Sub,
    tee(8),
    get(8),
    f64x2Mul,
    f64x2Add,
    set(acc),
  ];
  const squaredDistance: WasmFunction = {
    name: 'squaredDistance',
    params: [I32, I32, I32],
    results: [F64],
    locals: [I32, V128, V128, V128, V128, V128],
    code: [
      ...addressAfter(0, 2, 2),
      set(3),
      ...whileBelow(0, 3, [
        ...pairDistance(0, 4),
        ...pairDistance(1, 5),
        ...pairDistance(2, 6),
        ...pairDistance(3, 7),
        ...bump(0, 32),
        ...bump(1, 32),
      ]),
      get(4),
      get(5),
      f64x2Add,
      get(6),
      get(7),
      f64x2Add,
      f64x2Add,
      tee(4),
      f64x2ExtractLane(0),
      get(4),
      f64x2ExtractLane(1),
      f64Add,
    ],
  };

  // compareExchange(base, rowBytes, pairs, pairsEnd): for each (i, j) byte-offset pair in
  // [pairs, pairsEnd), rows base+i and base+j (rowBytes each, a multiple of 32) become their
  // lane-wise min and max. pmin/pmax are exact for the finite values that reach here.
  // Locals 4/5 = row cursors, 6 = end, 7/8 = values.
  const exchange = (offset: number): Instruction[] => [
    get(4),
    v128Load(offset),
    set(7),
    get(5),
    v128Load(offset),
    set(8),
    get(4),
    get(7),
    get(8),
    f32x4Pmin,
    v128Store(offset),
    get(5),
    get(7),
    get(8),
    f32x4Pmax,
    v128Store(offset),
  ];
  const compareExchange: WasmFunction = {
    name: 'compareExchange',
    params: [I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, V128, V128],
    code: [
      ...whileBelow(2, 3, [
        get(0),
        get(2),
        i32Load(0),
        i32Add,
        tee(4),
        get(1),
        i32Add,
        set(6),
        get(0),
        get(2),
        i32Load(4),
        i32Add,
        set(5),
        ...whileBelow(4, 6, [...exchange(0), ...exchange(16), ...bump(4, 32), ...bump(5, 32)]),
        ...bump(2, 8),
      ]),
    ],
  };

  return [accumulate, nonFinite, squaredDistance, compareExchange];
}

/**
 * The hot loops of secure aggregation: `acc[i] += src[i]` (or `-=`) on 32-bit words, wrapping mod
 * 2^32, and fixed-point encoding of float inputs. A 1M-parameter client with ten neighbours adds
 * ~11M words per round, so there are two implementations behind one interface:
 *
 * - a WebAssembly SIMD kernel (i32x4.add / i32x4.sub, four words an instruction; f64x2 arithmetic
 *   for quantization), supported by Node >= 16 and every current browser, assembled below (with
 *   tensor/wasm/assembler.ts) from a few hundred bytes of bytecode;
 * - plain JavaScript loops, used when WebAssembly SIMD is unavailable. Both give identical results.
 *
 * Both work on a scratch area they own: `acc`, `src` and `floats`, each CHUNK_WORDS long. Callers
 * copy (or quantize) a chunk of their target into `acc`, let streams write keystream into `src`,
 * call add/sub, and copy `acc` back — so the accumulator chunk stays in cache while all of a
 * client's masks go through it.
 */
import { CHUNK_WORDS } from './prg.js';
import {
  addressAfter,
  assembleModule,
  bump,
  compileModule,
  F64,
  f64Const,
  f64Neg,
  f64x2Add,
  f64x2Mul,
  f64x2Ne,
  f64x2Pmax,
  f64x2Pmin,
  f64x2PromoteLowF32x4,
  f64x2Splat,
  get,
  I32,
  i32Add,
  i32WrapI64,
  i32x4Add,
  i32x4Sub,
  i32x4TruncSatF64x2SZero,
  i64Add,
  i64x2ExtractLane,
  i64x2Sub,
  set,
  V128,
  v128Load,
  v128Load64Zero,
  v128Store,
  v128Store64Lane,
  whileBelow,
  type Instruction,
  type WasmFunction,
} from '../../tensor/wasm/assembler.js';

export interface WordKernel {
  readonly name: 'wasm-simd' | 'js';
  /** Scratch accumulator, CHUNK_WORDS long. */
  readonly acc: Uint32Array;
  /** Scratch source, CHUNK_WORDS long. */
  readonly src: Uint32Array;
  /** acc[0..count) += src[0..count), mod 2^32. */
  add(count: number): void;
  /** acc[0..count) -= src[0..count), mod 2^32. */
  sub(count: number): void;
  /** Scratch float input for quantizeNearest, CHUNK_WORDS long. */
  readonly floats: Float32Array;
  /**
   * acc[i] = floor((clamp(floats[i], -range, range) + range) * scale + 0.5) for i < count — the
   * 'nearest' encoding of quantize.ts, bit for bit. Returns how many values were out of range or not
   * finite; when that is not 0 the caller redoes the chunk with quantizeInto, which counts clipping
   * and refuses NaN with an error naming the index.
   */
  quantizeNearest(count: number, range: number, scale: number): number;
}

function addJs(acc: Uint32Array, src: Uint32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) acc[i] = (acc[i] + src[i]) | 0;
}

function subJs(acc: Uint32Array, src: Uint32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) acc[i] = (acc[i] - src[i]) | 0;
}

function quantizeNearestJs(
  floats: Float32Array,
  acc: Uint32Array,
  from: number,
  to: number,
  range: number,
  scale: number,
): number {
  let outside = 0;
  for (let i = from; i < to; i++) {
    let x = floats[i];
    if (!(x >= -range && x <= range)) {
      outside++;
      x = x < 0 ? -range : range; // NaN lands here too; the caller's fallback reports it
    }
    acc[i] = ((x + range) * scale + 0.5) >>> 0;
  }
  return outside;
}

export function jsWordKernel(): WordKernel {
  const acc = new Uint32Array(CHUNK_WORDS);
  const src = new Uint32Array(CHUNK_WORDS);
  const floats = new Float32Array(CHUNK_WORDS);
  return {
    name: 'js',
    acc,
    src,
    floats,
    add: (count) => addJs(acc, src, 0, count),
    sub: (count) => subJs(acc, src, 0, count),
    quantizeNearest: (count, range, scale) => quantizeNearestJs(floats, acc, 0, count, range, scale),
  };
}

// ---- WebAssembly SIMD kernel -------------------------------------------------------------------

/**
 * `(func (param $dst i32) (param $src i32) (param $bytes i32))`: dst[i] = dst[i] (op) src[i] lane-wise,
 * 64 bytes (four v128) per iteration, until $bytes (a multiple of 64) are done.
 */
function laneLoop(name: string, laneOp: Instruction): WasmFunction {
  const [DST, SRC, BYTES, END_PTR] = [0, 1, 2, 3];
  const oneVector = (offset: number): Instruction[] => [
    get(DST),
    get(DST),
    v128Load(offset),
    get(SRC),
    v128Load(offset),
    laneOp,
    v128Store(offset),
  ];
  return {
    name,
    params: [I32, I32, I32],
    results: [],
    locals: [I32],
    code: [
      get(DST),
      get(BYTES),
      i32Add,
      set(END_PTR), // end = dst + bytes
      ...whileBelow(DST, END_PTR, [
        ...oneVector(0),
        ...oneVector(16),
        ...oneVector(32),
        ...oneVector(48),
        ...bump(DST, 64),
        ...bump(SRC, 64),
      ]),
    ],
  };
}

/**
 * `(func (param $in i32) (param $out i32) (param $count i32) (param $range f64) (param $scale f64)
 * (result i32))`: two float32 values per iteration, promoted to f64, clamped to [-range, range],
 * encoded as trunc((x + range) * scale + 0.5) into u32; returns how many were clamped (or NaN).
 * The caller guarantees 2 * range * scale + 0.5 < 2^31, so the (faster) signed truncation is exact.
 */
function quantizeLoop(): WasmFunction {
  const [IN, OUT, COUNT, RANGE, SCALE] = [0, 1, 2, 3, 4];
  const [END_PTR, LO, HI, SC, HALF, X, C, OUTSIDE] = [5, 6, 7, 8, 9, 10, 11, 12];
  return {
    name: 'quantize',
    params: [I32, I32, I32, F64, F64],
    results: [I32],
    locals: [I32, V128, V128, V128, V128, V128, V128, V128],
    code: [
      get(RANGE),
      f64Neg,
      f64x2Splat,
      set(LO),
      get(RANGE),
      f64x2Splat,
      set(HI),
      get(SCALE),
      f64x2Splat,
      set(SC),
      f64Const(0.5),
      f64x2Splat,
      set(HALF),
      ...addressAfter(IN, COUNT, 2),
      set(END_PTR), // end = in + 4 * count
      ...whileBelow(IN, END_PTR, [
        get(IN),
        v128Load64Zero(),
        f64x2PromoteLowF32x4,
        set(X), // x = two floats, as f64
        get(X),
        get(LO),
        // pmin/pmax: a NaN x still comes out NaN, as pmax(NaN, lo) and pmin(NaN, hi) return NaN.
        f64x2Pmax,
        get(HI),
        f64x2Pmin,
        set(C), // c = pmin(pmax(x, -range), range); NaN stays NaN
        get(OUTSIDE),
        get(C),
        get(X),
        f64x2Ne,
        i64x2Sub,
        set(OUTSIDE), // outside -= (c != x): a changed (or NaN) lane is all ones, i.e. -1
        get(OUT),
        get(C),
        get(HI),
        f64x2Add,
        get(SC),
        f64x2Mul,
        get(HALF),
        f64x2Add,
        i32x4TruncSatF64x2SZero,
        v128Store64Lane(0), // out = trunc((c + range) * scale + 0.5), below 2^31 so signed is exact
        ...bump(IN, 8),
        ...bump(OUT, 8),
      ]),
      get(OUTSIDE),
      i64x2ExtractLane(0),
      get(OUTSIDE),
      i64x2ExtractLane(1),
      i64Add,
      i32WrapI64, // return both lanes' counts
    ],
  };
}

/** The module: one exported memory of `pages` x 64 KiB and three functions, `add`, `sub` and `quantize`. */
function wordKernelModuleBytes(pages: number): Uint8Array<ArrayBuffer> {
  return assembleModule({
    memory: { pages, exportAs: 'memory' },
    functions: [laneLoop('add', i32x4Add), laneLoop('sub', i32x4Sub), quantizeLoop()],
  });
}

let compiledModule: WebAssembly.Module | null | undefined;

/** The SIMD kernel, or undefined where WebAssembly SIMD is missing (then use jsWordKernel). */
export function wasmWordKernel(): WordKernel | undefined {
  const chunkBytes = CHUNK_WORDS * 4;
  if (compiledModule === undefined)
    compiledModule = compileModule(wordKernelModuleBytes(Math.ceil((3 * chunkBytes) / 65536)));
  if (!compiledModule) return undefined;
  let exports: WebAssembly.Exports;
  try {
    exports = new WebAssembly.Instance(compiledModule, {}).exports;
  } catch {
    return undefined; // its memory could not be reserved
  }
  const memory = exports.memory as WebAssembly.Memory;
  const addFn = exports.add as (dst: number, src: number, bytes: number) => void;
  const subFn = exports.sub as (dst: number, src: number, bytes: number) => void;
  const quantizeFn = exports.quantize as (
    input: number,
    out: number,
    count: number,
    range: number,
    scale: number,
  ) => number;
  // Layout: acc at 0, src after it, floats after that. The memory never grows, so views stay valid.
  const acc = new Uint32Array(memory.buffer, 0, CHUNK_WORDS);
  const src = new Uint32Array(memory.buffer, chunkBytes, CHUNK_WORDS);
  const floats = new Float32Array(memory.buffer, 2 * chunkBytes, CHUNK_WORDS);
  // The SIMD loops take 16 words (add/sub) or 2 values (quantize) per step; tails go through JS.
  return {
    name: 'wasm-simd',
    acc,
    src,
    floats,
    add(count) {
      const bulk = count - (count % 16);
      addFn(0, chunkBytes, bulk * 4);
      addJs(acc, src, bulk, count);
    },
    sub(count) {
      const bulk = count - (count % 16);
      subFn(0, chunkBytes, bulk * 4);
      subJs(acc, src, bulk, count);
    },
    quantizeNearest(count, range, scale) {
      // Levels beyond 2^31 (possible only for a single client) go through JavaScript.
      if (2 * range * scale + 0.5 >= 2 ** 31) return quantizeNearestJs(floats, acc, 0, count, range, scale);
      const bulk = count - (count % 2);
      return (
        quantizeFn(2 * chunkBytes, 0, bulk, range, scale) +
        quantizeNearestJs(floats, acc, bulk, count, range, scale)
      );
    },
  };
}

/** The fastest kernel this runtime supports. */
export function bestWordKernel(): WordKernel {
  return wasmWordKernel() ?? jsWordKernel();
}

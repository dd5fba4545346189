/**
 * The hot loops of secure aggregation: `acc[i] += src[i]` (or `-=`) on 32-bit words, wrapping mod
 * 2^32, and fixed-point encoding of float inputs. A 1M-parameter client with ten neighbours adds
 * ~11M words per round, so there are two implementations behind one interface:
 *
 * - a WebAssembly SIMD kernel (i32x4.add / i32x4.sub, four words an instruction; f64x2 arithmetic
 *   for quantization), supported by Node >= 16 and every current browser, assembled below from a
 *   couple of hundred bytes of bytecode;
 * - plain JavaScript loops, used when WebAssembly SIMD is unavailable. Both give identical results.
 *
 * Both work on a scratch area they own: `acc`, `src` and `floats`, each CHUNK_WORDS long. Callers
 * copy (or quantize) a chunk of their target into `acc`, let streams write keystream into `src`,
 * call add/sub, and copy `acc` back — so the accumulator chunk stays in cache while all of a
 * client's masks go through it.
 */
import { CHUNK_WORDS } from './prg.js';

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
// A tiny assembler: each helper returns one instruction's bytes, so the function bodies below read
// as assembly listings, one instruction a line.

/** LEB128 encoding of an unsigned integer, as the wasm binary format wants for sizes and indices. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, as `i32.const` wants (64 is 0xc0 0x00: a lone 0x40 would read as -64). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

const get = (local: number) => [0x20, local];
const set = (local: number) => [0x21, local];
const i32Const = (v: number) => [0x41, ...sleb(v)];
const f64Const = (v: number) => [0x44, ...new Uint8Array(new Float64Array([v]).buffer)];
const i32Add = [0x6a];
const i32Shl = [0x74];
const i32GeU = [0x4f];
const i64Add = [0x7c];
const i32WrapI64 = [0xa7];
const f64Neg = [0x9a];
const block = [0x02, 0x40]; // no result
const loop = [0x03, 0x40];
const brIf = (depth: number) => [0x0d, depth];
const br = (depth: number) => [0x0c, depth];
const end = [0x0b];
// SIMD instructions: prefix 0xfd, then the opcode as LEB128; memory ones take (align log2, offset).
const simd = (op: number, ...immediates: number[]) => [0xfd, ...uleb(op), ...immediates];
const v128Load = (offset: number) => simd(0x00, 4, ...uleb(offset));
const v128Store = (offset: number) => simd(0x0b, 4, ...uleb(offset));
const v128Load64Zero = simd(0x5d, 3, 0);
const v128Store64Lane0 = simd(0x5b, 3, 0, 0);
const i32x4Add = simd(0xae);
const i32x4Sub = simd(0xb1);
const i32x4TruncSatF64x2SZero = simd(0xfc);
const i64x2Sub = simd(0xd1);
const i64x2ExtractLane = (lane: number) => simd(0x1d, lane);
const f64x2Splat = simd(0x14);
const f64x2PromoteLowF32x4 = simd(0x5f);
const f64x2Ne = simd(0x48);
const f64x2Add = simd(0xf0);
const f64x2Mul = simd(0xf2);
// pmin/pmax are x86's minpd/maxpd (b < a ? b : a): a single instruction, where min/max need a
// NaN-fixing sequence. A NaN x still comes out NaN: pmax(NaN, lo) and pmin(NaN, hi) return NaN.
const f64x2Pmin = simd(0xf6);
const f64x2Pmax = simd(0xf7);

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** A function body: extra locals as [count, type] groups, then the instructions, length-prefixed. */
function body(locals: [number, number][], instructions: number[][]): number[] {
  const bytes = [
    ...uleb(locals.length),
    ...locals.flatMap(([n, t]) => [...uleb(n), t]),
    ...instructions.flat(),
  ];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * `(func (param $dst i32) (param $src i32) (param $bytes i32))`: dst[i] = dst[i] (op) src[i] lane-wise,
 * 64 bytes (four v128) per iteration, until $bytes (a multiple of 64) are done.
 */
function laneLoop(laneOp: number[]): number[] {
  const [DST, SRC, BYTES, END_PTR] = [0, 1, 2, 3];
  const oneVector = (offset: number) => [
    get(DST),
    get(DST),
    v128Load(offset),
    get(SRC),
    v128Load(offset),
    laneOp,
    v128Store(offset),
  ];
  return body(
    [[1, I32]],
    [
      get(DST),
      get(BYTES),
      i32Add,
      set(END_PTR), // end = dst + bytes
      block,
      loop,
      get(DST),
      get(END_PTR),
      i32GeU,
      brIf(1), // while (dst < end)
      ...oneVector(0),
      ...oneVector(16),
      ...oneVector(32),
      ...oneVector(48),
      get(DST),
      i32Const(64),
      i32Add,
      set(DST),
      get(SRC),
      i32Const(64),
      i32Add,
      set(SRC),
      br(0),
      end,
      end,
      end,
    ],
  );
}

/**
 * `(func (param $in i32) (param $out i32) (param $count i32) (param $range f64) (param $scale f64)
 * (result i32))`: two float32 values per iteration, promoted to f64, clamped to [-range, range],
 * encoded as trunc((x + range) * scale + 0.5) into u32; returns how many were clamped (or NaN).
 * The caller guarantees 2 * range * scale + 0.5 < 2^31, so the (faster) signed truncation is exact.
 */
function quantizeLoop(): number[] {
  const [IN, OUT, COUNT, RANGE, SCALE] = [0, 1, 2, 3, 4];
  const [END_PTR, LO, HI, SC, HALF, X, C, OUTSIDE] = [5, 6, 7, 8, 9, 10, 11, 12];
  return body(
    [
      [1, I32],
      [7, V128],
    ],
    [
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
      get(IN),
      get(COUNT),
      i32Const(2),
      i32Shl,
      i32Add,
      set(END_PTR), // end = in + 4 * count
      block,
      loop,
      get(IN),
      get(END_PTR),
      i32GeU,
      brIf(1), // while (in < end)
      get(IN),
      v128Load64Zero,
      f64x2PromoteLowF32x4,
      set(X), // x = two floats, as f64
      get(X),
      get(LO),
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
      v128Store64Lane0, // out = trunc((c + range) * scale + 0.5), below 2^31 so signed is exact
      get(IN),
      i32Const(8),
      i32Add,
      set(IN),
      get(OUT),
      i32Const(8),
      i32Add,
      set(OUT),
      br(0),
      end,
      end,
      get(OUTSIDE),
      i64x2ExtractLane(0),
      get(OUTSIDE),
      i64x2ExtractLane(1),
      i64Add,
      i32WrapI64, // return both lanes' counts
      end,
    ],
  );
}

/** The module: one exported memory and three functions, `add`, `sub` and `quantize`. */
function wordKernelModuleBytes(pages: number): Uint8Array<ArrayBuffer> {
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const addSubType = [0x60, 3, I32, I32, I32, 0]; // (i32, i32, i32) -> ()
  const quantizeType = [0x60, 5, I32, I32, I32, F64, F64, 1, I32]; // (i32, i32, i32, f64, f64) -> i32
  const exports = [
    [...name('memory'), 2, 0],
    [...name('add'), 0, 0],
    [...name('sub'), 0, 1],
    [...name('quantize'), 0, 2],
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, [2, ...addSubType, ...quantizeType]),
    ...section(3, [3, 0, 0, 1]), // function types: add, sub, quantize
    ...section(5, [1, 0, ...uleb(pages)]), // one memory of `pages` x 64 KiB, no maximum
    ...section(7, [exports.length, ...exports.flat()]),
    ...section(10, [3, ...laneLoop(i32x4Add), ...laneLoop(i32x4Sub), ...quantizeLoop()]),
  ]);
}

let wasmKernelAvailable: boolean | undefined;

/** The SIMD kernel, or undefined where WebAssembly SIMD is missing (then use jsWordKernel). */
export function wasmWordKernel(): WordKernel | undefined {
  if (wasmKernelAvailable === false || typeof WebAssembly === 'undefined') return undefined;
  const chunkBytes = CHUNK_WORDS * 4;
  const pages = Math.ceil((3 * chunkBytes) / 65536);
  let exports: WebAssembly.Exports;
  try {
    const module = new WebAssembly.Module(wordKernelModuleBytes(pages));
    exports = new WebAssembly.Instance(module, {}).exports;
    wasmKernelAvailable = true;
  } catch {
    wasmKernelAvailable = false;
    return undefined;
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

/**
 * A small WebAssembly assembler, enough for the project's SIMD kernels (tensor/wasm/simd-kernels.ts,
 * privacy/secagg/word-kernel.ts): each helper below is one instruction's bytes, so a kernel's body
 * reads as an assembly listing, one instruction a line; `assembleModule` wraps the functions in a
 * module (types, one memory, exports, code). Kernels assembled in-process need no toolchain and are
 * small enough to compile synchronously everywhere (browsers allow synchronous compilation on the
 * main thread for modules under 4 KB).
 *
 * Encodings: WebAssembly core specification §5 and the fixed-width SIMD extension.
 */
import { signedLeb128 as sleb, unsignedLeb128 as uleb } from '../../util/leb128.js';

/** One instruction (or a few, spliced in as one), as bytes. */
export type Instruction = readonly number[];

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F64 | typeof V128;

// ---- Control -----------------------------------------------------------------------------------
/** `block` with no result. */
export const block: Instruction = [0x02, 0x40];
/** `loop` with no result. */
export const loop: Instruction = [0x03, 0x40];
export const end: Instruction = [0x0b];
export const br = (depth: number): Instruction => [0x0c, ...uleb(depth)];
export const brIf = (depth: number): Instruction => [0x0d, ...uleb(depth)];

// ---- Locals ------------------------------------------------------------------------------------
export const get = (local: number): Instruction => [0x20, ...uleb(local)];
export const set = (local: number): Instruction => [0x21, ...uleb(local)];
export const tee = (local: number): Instruction => [0x22, ...uleb(local)];

// ---- Scalars -----------------------------------------------------------------------------------
/** Memory immediates: log2 of the alignment, then the constant byte offset. */
const memarg = (alignLog2: number, offset: number): number[] => [...uleb(alignLog2), ...uleb(offset)];
export const i32Load = (offset = 0): Instruction => [0x28, ...memarg(2, offset)];
export const i32Const = (value: number): Instruction => [0x41, ...sleb(value)];
export const f64Const = (value: number): Instruction => [
  0x44,
  ...new Uint8Array(new Float64Array([value]).buffer),
];
export const i32GeU: Instruction = [0x4f];
export const i32Add: Instruction = [0x6a];
export const i32Shl: Instruction = [0x74];
export const i64Add: Instruction = [0x7c];
export const f64Neg: Instruction = [0x9a];
export const f64Add: Instruction = [0xa0];
export const i32WrapI64: Instruction = [0xa7];

// ---- SIMD (prefix 0xfd, then the opcode as LEB128, then the immediates) ------------------------
const simd = (op: number, ...immediates: number[]): Instruction => [0xfd, ...uleb(op), ...immediates];
export const v128Load = (offset = 0): Instruction => simd(0x00, ...memarg(4, offset));
export const v128Store = (offset = 0): Instruction => simd(0x0b, ...memarg(4, offset));
/** i8x16.shuffle: byte i of the result is byte lanes[i] of the two operands (0–15 first, 16–31 second). */
export const i8x16Shuffle = (lanes: readonly number[]): Instruction => {
  if (lanes.length !== 16) throw new RangeError(`i8x16.shuffle takes 16 lane indices, got ${lanes.length}`);
  return simd(0x0d, ...lanes);
};
export const f64x2Splat: Instruction = simd(0x14);
export const i64x2ExtractLane = (lane: number): Instruction => simd(0x1d, lane);
export const f64x2ExtractLane = (lane: number): Instruction => simd(0x21, lane);
export const f32x4Ne: Instruction = simd(0x42);
export const f64x2Ne: Instruction = simd(0x48);
export const v128Or: Instruction = simd(0x50);
export const v128AnyTrue: Instruction = simd(0x53);
/** v128.store64_lane: stores 8 bytes, lane `lane` of the i64x2 view. */
export const v128Store64Lane = (lane: number, offset = 0): Instruction =>
  simd(0x5b, ...memarg(3, offset), lane);
/** v128.load64_zero: 8 bytes into the low half, zeros above. */
export const v128Load64Zero = (offset = 0): Instruction => simd(0x5d, ...memarg(3, offset));
export const f64x2PromoteLowF32x4: Instruction = simd(0x5f);
export const i32x4Add: Instruction = simd(0xae);
export const i32x4Sub: Instruction = simd(0xb1);
export const i64x2Sub: Instruction = simd(0xd1);
export const f32x4Sub: Instruction = simd(0xe5);
// pmin/pmax (b < a ? b : a) are single instructions on x86 and ARM, where min/max need a NaN-fixing
// sequence.
export const f32x4Pmin: Instruction = simd(0xea);
export const f32x4Pmax: Instruction = simd(0xeb);
export const f64x2Add: Instruction = simd(0xf0);
export const f64x2Sub: Instruction = simd(0xf1);
export const f64x2Mul: Instruction = simd(0xf2);
export const f64x2Pmin: Instruction = simd(0xf6);
export const f64x2Pmax: Instruction = simd(0xf7);
export const i32x4TruncSatF64x2SZero: Instruction = simd(0xfc);

// ---- Idioms ------------------------------------------------------------------------------------
/** `local += step` for an i32 local. */
export const bump = (local: number, step: number): Instruction[] => [
  get(local),
  i32Const(step),
  i32Add,
  set(local),
];

/** The address `count` elements of 2^elementLog2 bytes past the i32 local `start`, on the stack. */
export const addressAfter = (start: number, count: number, elementLog2: number): Instruction[] => [
  get(start),
  get(count),
  i32Const(elementLog2),
  i32Shl,
  i32Add,
];

/** `block loop (br_if 1 when ptr >= end) body br 0 end end`: runs body while the i32 local ptr < end. */
export const whileBelow = (ptr: number, endLocal: number, body: readonly Instruction[]): Instruction[] => [
  block,
  loop,
  get(ptr),
  get(endLocal),
  i32GeU,
  brIf(1),
  ...body,
  br(0),
  end,
  end,
];

// ---- Modules -----------------------------------------------------------------------------------
export interface WasmFunction {
  /** Exported under this name. */
  name: string;
  params: readonly ValueType[];
  results: readonly ValueType[];
  /** Locals after the parameters (numbered from params.length). */
  locals: readonly ValueType[];
  /** The body, without its final `end` (added here). */
  code: readonly Instruction[];
}

/** The module's one memory, in 64 KiB pages: imported, or its own (then optionally exported). */
export type WasmMemory = { pages: number; maxPages?: number; shared?: boolean } & (
  { importFrom: { module: string; name: string } } | { exportAs?: string }
);

export interface WasmModule {
  memory: WasmMemory;
  /** Function i is exported under its name, after the memory when that is exported. */
  functions: readonly WasmFunction[];
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, content: readonly number[]): number[] => [
  id,
  ...uleb(content.length),
  ...content,
];
/** A vector: its length, then its items. */
const vec = (items: readonly (readonly number[])[]): number[] => [...uleb(items.length), ...items.flat()];
const valueTypes = (types: readonly ValueType[]): number[] => [...uleb(types.length), ...types];

/** Memory limits: flags 0 (minimum only), 1 (with a maximum) or 3 (shared, which needs a maximum). */
function limits({ pages, maxPages, shared }: WasmMemory): number[] {
  if (shared && maxPages === undefined) throw new RangeError('a shared WebAssembly memory needs maxPages');
  if (maxPages === undefined) return [0x00, ...uleb(pages)];
  return [shared ? 0x03 : 0x01, ...uleb(pages), ...uleb(maxPages)];
}

/** Locals as [count, type] runs of equal types. */
function localDeclarations(locals: readonly ValueType[]): number[][] {
  const runs: number[][] = [];
  for (const t of locals) {
    const last = runs[runs.length - 1];
    if (last && last[1] === t) last[0]++;
    else runs.push([1, t]);
  }
  return runs.map(([count, t]) => [...uleb(count), t]);
}

/** The binary module. */
export function assembleModule(module: WasmModule): Uint8Array<ArrayBuffer> {
  const { memory, functions } = module;
  // One type per distinct signature; function i refers to its signature's index.
  const signatures: string[] = [];
  const types: number[][] = [];
  const typeOf = functions.map((f) => {
    const type = [0x60, ...valueTypes(f.params), ...valueTypes(f.results)];
    const key = type.join(',');
    let index = signatures.indexOf(key);
    if (index < 0) {
      index = signatures.push(key) - 1;
      types.push(type);
    }
    return index;
  });
  const bodies = functions.map((f) => {
    const body = [...vec(localDeclarations(f.locals)), ...f.code.flat(), ...end];
    return [...uleb(body.length), ...body];
  });
  const exports: number[][] = [];
  if ('exportAs' in memory && memory.exportAs !== undefined)
    exports.push([...name(memory.exportAs), 0x02, 0]);
  functions.forEach((f, i) => exports.push([...name(f.name), 0x00, ...uleb(i)]));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec(types)),
    ...('importFrom' in memory
      ? section(
          2,
          vec([
            [...name(memory.importFrom.module), ...name(memory.importFrom.name), 0x02, ...limits(memory)],
          ]),
        )
      : []),
    ...section(3, vec(typeOf.map((t) => uleb(t)))),
    ...('importFrom' in memory ? [] : section(5, vec([limits(memory)]))),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}

/** The compiled module of these bytes, or null where this runtime lacks WebAssembly or refuses them. */
export function compileModule(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    return null;
  }
}

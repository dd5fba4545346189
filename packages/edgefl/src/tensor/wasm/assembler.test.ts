import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assembleModule,
  bump,
  compileModule,
  F64,
  f64Add,
  f64Const,
  get,
  I32,
  i32Add,
  i32Const,
  i32Load,
  i8x16Shuffle,
  set,
  whileBelow,
  type WasmFunction,
} from './assembler.js';

/** sumWords(ptr, end) -> i32: Σ of the i32 words in [ptr, end): a loop, a bump and a load. */
const sumWords: WasmFunction = {
  name: 'sumWords',
  params: [I32, I32],
  results: [I32],
  locals: [I32],
  code: [...whileBelow(0, 1, [get(2), get(0), i32Load(0), i32Add, set(2), ...bump(0, 4)]), get(2)],
};
/** immediates() -> i32: 64 + (-65) + 1_000_000, constants that take two and three bytes. */
const immediates: WasmFunction = {
  name: 'immediates',
  params: [],
  results: [I32],
  locals: [],
  code: [i32Const(64), i32Const(-65), i32Add, i32Const(1_000_000), i32Add],
};
/** addTenth(x) -> f64 through local 3, which follows a run of two i32 locals. */
const addTenth: WasmFunction = {
  name: 'addTenth',
  params: [F64],
  results: [F64],
  locals: [I32, I32, F64],
  code: [get(0), f64Const(0.1), f64Add, set(3), get(3)],
};

type Exports = {
  memory?: WebAssembly.Memory;
  sumWords(ptr: number, end: number): number;
  again(ptr: number, end: number): number;
  immediates(): number;
  addTenth(x: number): number;
};

const functions = [sumWords, { ...sumWords, name: 'again' }, immediates, addTenth];

function checkRuns(exports: Exports, memory: WebAssembly.Memory): void {
  const words = new Int32Array(memory.buffer, 0, 100);
  for (let i = 0; i < words.length; i++) words[i] = i * i - 50;
  let expected = 0;
  for (let i = 10; i < 90; i++) expected += i * i - 50;
  assert.equal(exports.sumWords(40, 360), expected);
  assert.equal(exports.again(40, 360), expected, 'two functions of one signature');
  assert.equal(exports.sumWords(40, 40), 0);
  assert.equal(exports.immediates(), 999_999);
  assert.equal(exports.addTenth(2), 2 + 0.1);
}

test('a module with its own exported memory runs: loops, loads, multi-byte immediates, local runs', () => {
  const module = compileModule(assembleModule({ memory: { pages: 2, exportAs: 'memory' }, functions }));
  assert.ok(module);
  assert.deepEqual(
    WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`),
    ['memory:memory', 'sumWords:function', 'again:function', 'immediates:function', 'addTenth:function'],
  );
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  assert.equal(exports.memory!.buffer.byteLength, 2 * 65536);
  checkRuns(exports, exports.memory!);
});

test('a module importing its memory, plain or shared', () => {
  const importFrom = { module: 'env', name: 'memory' };
  const plain = compileModule(assembleModule({ memory: { pages: 1, importFrom }, functions }));
  assert.ok(plain);
  assert.deepEqual(WebAssembly.Module.imports(plain), [{ module: 'env', name: 'memory', kind: 'memory' }]);
  const memory = new WebAssembly.Memory({ initial: 3 });
  checkRuns(new WebAssembly.Instance(plain, { env: { memory } }).exports as unknown as Exports, memory);

  const shared = compileModule(
    assembleModule({ memory: { pages: 1, maxPages: 4, shared: true, importFrom }, functions }),
  );
  assert.ok(shared);
  const sharedMemory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  assert.ok(sharedMemory.buffer instanceof SharedArrayBuffer);
  checkRuns(
    new WebAssembly.Instance(shared, { env: { memory: sharedMemory } }).exports as unknown as Exports,
    sharedMemory,
  );
  // A shared memory import does not accept a plain memory.
  assert.throws(() => new WebAssembly.Instance(shared, { env: { memory } }));
});

test('the assembler refuses what it cannot encode, and compileModule declines bytes it cannot compile', () => {
  assert.throws(
    () => assembleModule({ memory: { pages: 1, shared: true }, functions: [] }),
    /a shared WebAssembly memory needs maxPages/,
  );
  assert.throws(() => i8x16Shuffle([0, 1, 2]), /i8x16.shuffle takes 16 lane indices, got 3/);
  assert.equal(compileModule(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00])), null);
  // A body that leaves an i32 where an f64 is due does not validate.
  const wrong = { ...addTenth, code: [i32Const(1)] };
  assert.equal(compileModule(assembleModule({ memory: { pages: 1 }, functions: [wrong] })), null);
});

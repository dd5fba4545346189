import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { accumulate, arrayStream } from './accumulate.js';
import { CHUNK_WORDS, keystreamWords } from './prg.js';
import { quantizationStep, quantizeInto } from './quantize.js';
import { portableMaskPrg } from './prg-portable.js';
import { jsWordKernel, wasmWordKernel } from './word-kernel.js';

function randomWords(rng: Rng, n: number): Uint32Array {
  return Uint32Array.from({ length: n }, () => rng.nextUint32());
}

test('the WebAssembly SIMD kernel assembles and runs in Node', () => {
  const kernel = wasmWordKernel();
  assert.ok(kernel, 'WebAssembly SIMD should be available in Node 20');
  assert.equal(kernel.name, 'wasm-simd');
});

test('SIMD and JavaScript kernels agree, with 32-bit wraparound and odd tails', () => {
  const rng = new Rng(11);
  const wasm = wasmWordKernel()!;
  const js = jsWordKernel();
  for (const count of [CHUNK_WORDS, 1, 15, 16, 17, 1000, CHUNK_WORDS - 3]) {
    const acc = randomWords(rng, CHUNK_WORDS);
    const src = randomWords(rng, CHUNK_WORDS);
    for (const k of [wasm, js]) {
      k.acc.set(acc);
      k.src.set(src);
    }
    wasm.add(count);
    js.add(count);
    assert.deepEqual(wasm.acc, js.acc, `add of ${count} words`);
    wasm.sub(count);
    js.sub(count);
    assert.deepEqual(wasm.acc, acc, `sub undoes add for ${count} words`);
    assert.deepEqual(js.acc, acc);
  }
  // Spot-check the arithmetic itself: (2^32 - 1) + 2 wraps to 1, 1 - 2 wraps to 2^32 - 1.
  wasm.acc.fill(0xffffffff);
  wasm.src.fill(2);
  wasm.add(32);
  assert.equal(wasm.acc[0], 1);
  assert.equal(wasm.acc[31], 1);
  wasm.sub(32);
  wasm.sub(32);
  assert.equal(wasm.acc[5], 0xfffffffd);
});

test('accumulate adds and subtracts several streams over a multi-chunk vector', () => {
  const rng = new Rng(5);
  const n = 2 * CHUNK_WORDS + 123;
  const prg = portableMaskPrg('chacha20');
  const keys = [1, 2, 3].map((v) => new Uint8Array(32).fill(v));
  const start = randomWords(rng, n);
  const extra = randomWords(rng, n);
  for (const kernel of [wasmWordKernel()!, jsWordKernel()]) {
    const target = start.slice();
    accumulate(
      target,
      [
        { stream: prg.open(keys[0]), sign: 1 },
        { stream: prg.open(keys[1]), sign: -1 },
        { stream: prg.open(keys[2]), sign: 1 },
        { stream: arrayStream(extra), sign: 1 },
      ],
      kernel,
    );
    const [a, b, c] = keys.map((k) => keystreamWords(prg, k, n));
    const expected = start.map((v, i) => (v + a[i] - b[i] + c[i] + extra[i]) >>> 0);
    assert.deepEqual(target, expected, kernel.name);
  }
});

test('SIMD and JavaScript quantization agree bit for bit and count out-of-range values', () => {
  const rng = new Rng(21);
  const wasm = wasmWordKernel()!;
  const js = jsWordKernel();
  const q = { range: 1.5, bits: 23, rounding: 'nearest' as const };
  const scale = 1 / quantizationStep(q);
  const values = Float32Array.from({ length: CHUNK_WORDS }, () => rng.normal());
  for (const count of [CHUNK_WORDS, 1001, 1]) {
    wasm.floats.set(values);
    js.floats.set(values);
    const outside = values.subarray(0, count).filter((x) => Math.abs(x) > 1.5).length;
    assert.ok(count < 10 || outside > 0, 'the sample has values to clip');
    assert.equal(wasm.quantizeNearest(count, q.range, scale), outside);
    assert.equal(js.quantizeNearest(count, q.range, scale), outside);
    assert.deepEqual(wasm.acc.subarray(0, count), js.acc.subarray(0, count));
    // And both equal the reference encoder, which clips the same way.
    const reference = new Uint32Array(count);
    quantizeInto(values.subarray(0, count), reference, q);
    assert.deepEqual(wasm.acc.subarray(0, count), reference);
  }
  wasm.floats[0] = NaN;
  wasm.floats[1] = Infinity;
  assert.equal(wasm.quantizeNearest(2, 1, 1), 2, 'NaN and infinity count as out of range');
});

test('quantization with levels beyond 2^31 (a single client) stays exact through the fallback', () => {
  const wasm = wasmWordKernel()!;
  const js = jsWordKernel();
  const scale = (2 ** 32 - 1) / 2; // 32 bits over [-1, 1]
  const values = Float32Array.of(-1, -0.5, 0, 0.25, 0.999, 1, 0.75, -0.999);
  wasm.floats.set(values);
  js.floats.set(values);
  assert.equal(wasm.quantizeNearest(values.length, 1, scale), 0);
  js.quantizeNearest(values.length, 1, scale);
  assert.deepEqual(wasm.acc.subarray(0, values.length), js.acc.subarray(0, values.length));
  assert.equal(wasm.acc[5], 2 ** 32 - 1);
});

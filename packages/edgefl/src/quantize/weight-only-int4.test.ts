/**
 * Weight-only 4-bit quantization. The block codec is checked against its closed-form error bound;
 * the layout against ONNX Runtime's own MatMulNBits kernel, which must compute x · W'ᵀ + b with
 * W' our dequantized weights (a second implementation of the same arithmetic); and the whole pass
 * on the trained MNIST MLP: checker, agreement with the float model, size, and that every
 * quantized node runs as MatMulNBits.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFusion } from '@edgefl/node';
import { checkOnnxModel } from '../../../../test/helpers/onnx-checker.js';
import { Rng } from '../util/rng.js';
import { exportModel, importModel } from '../onnx/edit/io.js';
import { OnnxModel } from '../onnx/edit/model.js';
import { onnxAttr } from '../onnx/edit/attributes.js';
import { dequantizeInt4Blocks, quantizeInt4Blocks } from './int4-block.js';
import { quantizeWeightOnlyInt4 } from './weight-only-int4.js';
import {
  agreement,
  argmax,
  runLogits,
  runtime,
  trainedModel,
  type Fixture,
} from '../../../../test/helpers/quantize-fixtures.js';

function gaussian(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

test('int4 blocks: every weight within half a step of its block, zero exact, all-zero blocks and a short last block', () => {
  const n = 5;
  const k = 70; // two blocks of 32 and one of 6
  const w = gaussian(n * k, 1);
  w.fill(0, 0, 32); // column 0, block 0: all zeros
  w[40] = 0; // a zero inside a block with a range
  for (const symmetric of [false, true]) {
    const q = quantizeInt4Blocks(w, n, k, 32, symmetric);
    assert.equal(q.blocks, 3);
    assert.equal(q.codes.length, n * 3 * 16);
    assert.equal(q.zeroPoints?.length, symmetric ? undefined : n * 2);
    const back = dequantizeInt4Blocks(q);
    for (let col = 0; col < n; col++)
      for (let i = 0; i < k; i++) {
        const scale = q.scales[col * 3 + Math.floor(i / 32)];
        const err = Math.abs(back[col * k + i] - w[col * k + i]);
        assert.ok(err <= scale / 2 + 1e-6, `col ${col} k ${i}: error ${err} > half step ${scale / 2}`);
      }
    for (let i = 0; i < 32; i++) assert.equal(back[i], 0, 'an all-zero block stays zero');
    assert.equal(back[40], 0, 'zero is a code');
  }
  // Asymmetric uses all 16 levels over [min(w,0), max(w,0)]: a block 0..15 is stored exactly.
  const ramp = Float32Array.from({ length: 32 }, (_, i) => (i % 16) * 0.25);
  const exact = quantizeInt4Blocks(ramp, 1, 32, 32, false);
  assert.deepEqual([...dequantizeInt4Blocks(exact)], [...ramp]);
  assert.equal(exact.scales[0], 0.25);
  // Codes pack two a byte, the lower K index in the low nibble: codes 0 and 1 -> 0x10.
  assert.equal(exact.codes[0], 0x10);
  assert.equal(exact.codes[7], 0xfe);
});

/** One Gemm (or MatMul) with a random constant weight, as a model of its own. */
function oneLayer(kind: 'Gemm' | 'Gemm transB=0' | 'MatMul', k: number, n: number): OnnxModel {
  const m = OnnxModel.empty({ opset: 17 });
  m.addInput('x', 'float32', ['M', k]);
  const transposed = kind === 'Gemm';
  m.addInitializer('w', { dtype: 'float32', dims: transposed ? [n, k] : [k, n], data: gaussian(n * k, 2) });
  if (kind === 'MatMul') {
    m.add([m.createNode('MatMul', ['x', 'w'], { outputs: ['y'], name: 'mm' })]);
  } else {
    m.addInitializer('b', { dtype: 'float32', dims: [n], data: gaussian(n, 3) });
    m.add([
      m.createNode('Gemm', ['x', 'w', 'b'], {
        outputs: ['y'],
        name: 'gemm',
        attributes: { transB: onnxAttr.int(transposed ? 1 : 0) },
      }),
    ]);
  }
  m.addOutput('y', 'float32', ['M', n]);
  return m;
}

async function run(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await runtime.InferenceSession.create(bytes, {
    ...runtime.defaultSessionOptions,
    logSeverityLevel: 3,
  });
  try {
    const out = await session.run({ x: new runtime.Tensor('float32', x, dims) }, ['y']);
    return (out.y.data as Float32Array).slice();
  } finally {
    await session.release();
  }
}

for (const kind of ['Gemm', 'Gemm transB=0', 'MatMul'] as const)
  test(`ONNX Runtime's MatMulNBits computes x · W'ᵀ + b with our dequantized W' (${kind}, K not a multiple of the block)`, async () => {
    const [M, K, N] = [3, 80, 24];
    const float = oneLayer(kind, K, N);
    // accuracy_level 1: float32 arithmetic, so the only difference is summation order.
    const q = quantizeWeightOnlyInt4(float, { blockSize: 32, accuracyLevel: 1 });
    assert.equal(q.model.nodes('MatMulNBits', 'com.microsoft').length, 1);
    const codes = q.model.initializerNames().find((s) => s.endsWith('_int4'))!;
    const scales = q.model.initializerNames().find((s) => s.endsWith('_scales'))!;
    const zeros = q.model.initializerNames().find((s) => s.endsWith('_zero_points'))!;
    const w = dequantizeInt4Blocks({
      k: K,
      n: N,
      blockSize: 32,
      blocks: 3,
      codes: q.model.initializer(codes)!.data as Uint8Array,
      scales: q.model.initializer(scales)!.data as Float32Array,
      zeroPoints: q.model.initializer(zeros)!.data as Uint8Array,
    });
    const bias = kind === 'MatMul' ? new Float32Array(N) : (float.initializer('b')!.data as Float32Array);
    const x = gaussian(M * K, 4);
    const y = await run(exportModel(q.model), x, [M, K]);
    let worst = 0;
    for (let r = 0; r < M; r++)
      for (let c = 0; c < N; c++) {
        let ref = bias[c];
        for (let i = 0; i < K; i++) ref += x[r * K + i] * w[c * K + i];
        worst = Math.max(worst, Math.abs(y[r * N + c] - ref));
      }
    assert.ok(worst < 1e-4, `largest difference from the reference ${worst}`);
    // And the result is close to the float layer's: 4 bits, not garbage.
    const yFloat = await run(exportModel(float), x, [M, K]);
    let rel = 0;
    let norm = 0;
    yFloat.forEach((v, i) => ((rel += (v - y[i]) ** 2), (norm += v * v)));
    assert.ok(Math.sqrt(rel / norm) < 0.15, `relative error ${Math.sqrt(rel / norm)}`);
  });

describe('4-bit weights of the trained MLP', () => {
  let f: Fixture;
  let floatLogits: Float32Array;
  before(async () => {
    f = await trainedModel('mlp');
    floatLogits = await runLogits(f.float, f.heldOut.data, [f.heldOut.count, ...f.inputShape]);
  });

  for (const symmetric of [false, true])
    test(`${symmetric ? 'symmetric' : 'asymmetric'}: checker passes, agrees with float, every layer runs as MatMulNBits, >= 5x smaller`, async () => {
      const model = importModel(f.float, 'float.onnx');
      const q = quantizeWeightOnlyInt4(model, { blockSize: 32, symmetric });
      const bytes = exportModel(q.model);
      await checkOnnxModel(bytes);
      const logits = await runLogits(bytes, f.heldOut.data, [f.heldOut.count, ...f.inputShape]);
      const agree = agreement(argmax(logits, 10), argmax(floatLogits, 10));
      const accuracy = agreement(argmax(logits, 10), f.heldOut.labels);
      const ratio = f.float.length / bytes.length;
      const line = `mlp int4 ${symmetric ? 'symmetric' : 'asymmetric'}: agreement ${agree}, accuracy ${f.accuracy} -> ${accuracy}, ${ratio.toFixed(2)}x smaller`;
      console.log(line);
      // measured: agreement 0.99 (asymmetric) / 0.987 (symmetric); 5.85x smaller
      assert.ok(agree >= 0.97, line);
      assert.ok(accuracy >= f.accuracy - 0.02, line);
      assert.ok(ratio >= 5, line);
      const fusion = await checkFusion(runtime, bytes, q.report);
      assert.equal(fusion.report.nodes.length, 3);
      assert.deepEqual(
        fusion.unfused.map((n) => `${n.node}: ${n.computedBy}`),
        [],
        JSON.stringify(fusion.opTypes),
      );
      assert.equal(fusion.opTypes['com.microsoft:MatMulNBits'], 3);
      assert.ok(!('Gemm' in fusion.opTypes));
      // The float model is untouched.
      assert.deepEqual(exportModel(model), f.float);
    });
});

test('what cannot be quantized to 4 bits is refused or skipped, naming the node', () => {
  assert.throws(
    () => quantizeWeightOnlyInt4(oneLayer('Gemm', 64, 8), { blockSize: 24 }),
    /block size must be a power of two of at least 16, got 24/,
  );
  assert.throws(
    () => quantizeWeightOnlyInt4(oneLayer('Gemm', 64, 8), { accuracyLevel: 7 as 4 }),
    /accuracy level must be 0, 1, 2, 3 or 4, got 7/,
  );
  assert.throws(
    () => quantizeWeightOnlyInt4(oneLayer('MatMul', 8, 8)),
    /nothing to quantize to 4 bits: MatMul node 'mm': K = 8 is smaller than the smallest block \(16\)/,
  );
  const conv = OnnxModel.empty({ opset: 17 });
  conv.addInput('x', 'float32', ['N', 1, 8, 8]);
  conv.addInitializer('k', { dtype: 'float32', dims: [4, 1, 3, 3], data: gaussian(36, 5) });
  conv.add([conv.createNode('Conv', ['x', 'k'], { outputs: ['y'], name: 'conv' })]);
  conv.addOutput('y', 'float32');
  assert.throws(
    () => quantizeWeightOnlyInt4(conv),
    /nothing to quantize to 4 bits: Conv node 'conv': 4-bit weights are for MatMul and Gemm; Conv stays float/,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dense,
  encodeModel,
  exportInferenceModel,
  Graph,
  initialParameters,
  ops,
  relu,
  sequential,
  standardize,
} from 'edgefl';
import { decisionCost, tensorMemory } from './decision-cost.js';
import { nativeRuntime } from './node.js';

const runtime = nativeRuntime();

test('tensorMemory: the constants, and the peak of the values alive at once, counted by hand on a small graph', async () => {
  // x [1,4] → MatMul W [4,8] → Add b [8] → Relu: 16, 32, 32 and 32 bytes of values.
  const g = new Graph('by-hand');
  const x = g.input('x', 'float32', [1, 4]);
  const w = g.initializer('w', { dtype: 'float32', dims: [4, 8], data: new Float32Array(32).fill(0.5) });
  const b = g.initializer('b', { dtype: 'float32', dims: [8], data: new Float32Array(8).fill(-1) });
  g.output(ops.relu(ops.add(ops.matmul(x, w), b)), 'y');
  const feeds = { x: new runtime.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) };
  const m = await tensorMemory(encodeModel(g), feeds, runtime);
  // MatMul: x and its product (16 + 32); Add: the product and the sum (32 + 32), x no longer read; Relu: 32 + 32.
  assert.deepEqual(m, { constantBytes: 32 * 4 + 8 * 4, peakActivationBytes: 64, totalBytes: 160 + 64 });
});

function model(width: number, hidden: number): Uint8Array {
  const spec = sequential(
    [standardize(Array(width).fill(1), Array(width).fill(2)), dense(hidden), relu(), dense(2)],
    { inputShape: [width], seed: 3 },
  );
  return exportInferenceModel(spec, initialParameters(spec), { probabilities: false });
}

test('decisionCost: latency, exact tensor sizes, resident memory that grows with the model, outputs as a direct run', async () => {
  const small = model(8, 4);
  // 1024 × 1024 float weights: 4 MB that must be resident to decide.
  const large = model(1024, 1024);
  const input = Float32Array.from({ length: 8 }, (_, i) => i - 3);
  const feeds = { input: { type: 'float32' as const, data: input, dims: [1, 8] } };
  const s = await decisionCost(small, { feeds, runs: 100, warmup: 10, processes: 1 });
  const l = await decisionCost(large, { runs: 100, warmup: 10, processes: 1 });

  for (const c of [s, l]) {
    assert.ok(c.latency.p50Ms > 0 && c.latency.p95Ms >= c.latency.p50Ms, JSON.stringify(c.latency));
    assert.equal(c.latency.batch, 1);
    assert.ok(
      c.memory.runtimeBytes > 1e6,
      `loading ONNX Runtime takes megabytes, got ${c.memory.runtimeBytes}`,
    );
  }
  assert.equal(s.modelBytes, small.byteLength);
  // standardize's 2 × 8 constants, then 8·4 + 4 and 4·2 + 2 parameters.
  assert.equal(s.tensors.constantBytes, 4 * (16 + 36 + 10));
  assert.equal(l.tensors.constantBytes, 4 * (2 * 1024 + 1024 * 1024 + 1024 + 1024 * 2 + 2));
  assert.ok(l.tensors.peakActivationBytes > s.tensors.peakActivationBytes);
  const grown = l.memory.decisionBytes - s.memory.decisionBytes;
  assert.ok(grown > 3.5e6, `the 4 MB of weights show in the resident memory: grew by ${grown} bytes`);

  // The measuring process decided as a session in this process does.
  const session = await runtime.InferenceSession.create(small, runtime.defaultSessionOptions);
  try {
    const direct = await session.run({ input: new runtime.Tensor('float32', input, [1, 8]) });
    assert.deepEqual(Object.keys(s.outputs), Object.keys(direct));
    assert.deepEqual(s.outputs.logits, Array.from(direct.logits.data as Float32Array));
  } finally {
    await session.release();
  }
});

test('decisionCost refuses counts that are not counts', async () => {
  const small = model(2, 2);
  await assert.rejects(decisionCost(small, { runs: 0 }), /runs must be an integer >= 1, got 0/);
  await assert.rejects(decisionCost(small, { warmup: -1 }), /warmup must be an integer >= 0, got -1/);
  await assert.rejects(decisionCost(small, { processes: 1.5 }), /processes must be an integer >= 1, got 1.5/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtInModel } from '../model/zoo.js';
import { initialParameters } from '../model/build.js';
import { exportInferenceModel } from '../model/export.js';
import { importModel } from '../onnx/edit/io.js';
import { quantizeDynamicInt8 } from './dynamic-int8.js';
import { guardedQuantize } from './guards.js';

// The 2NN (MLP) has three quantizable Gemms, each one dynamic int8 can take or leave float. The
// guards' logic is checked with scorers and timers whose answers are known in closed form, from
// which nodes a model holds in int8.
const spec = builtInModel('mlp', { inputShape: [784], classes: 10, seed: 1 });
const float = importModel(exportInferenceModel(spec, initialParameters(spec)));
const quantize = (keep: ReadonlySet<string>) => quantizeDynamicInt8(float, { keepFloat: keep });
const NODES = quantize(new Set()).report.nodes.map((n) => n.node);

/** The names of the nodes a model runs in int8 (their weight comes through MatMulInteger). */
function int8Nodes(bytes: Uint8Array): Set<string> {
  const m = importModel(bytes);
  return new Set(NODES.filter((name) => !m.find((n) => n.name === name && n.opType === 'Gemm')));
}

test('the model has three quantizable Gemms (the test rests on it)', () => {
  assert.equal(NODES.length, 3, NODES.join(', '));
  assert.equal(int8Nodes(exportInferenceModel(spec, initialParameters(spec))).size, 0);
});

test('accuracy guard: the most sensitive node is kept float first, and no more than the bound needs', async () => {
  const [a, b, c] = NODES;
  const cost: Record<string, number> = { [a]: 0.001, [b]: 0.004, [c]: 0.0005 };
  const score = async (bytes: Uint8Array) => 1 - [...int8Nodes(bytes)].reduce((s, n) => s + cost[n], 0);
  const r = await guardedQuantize(float, quantize, { score, maxLoss: 0.003 });
  assert.deepEqual(
    r.keptFloat.map((k) => k.node),
    [b],
  );
  assert.match(r.keptFloat[0].reason, /alone in int8 it loses 0\.0040 .* the bound is 0\.0030/);
  assert.deepEqual([...int8Nodes(r.bytes)].sort(), [a, c].sort());
  assert.ok(Math.abs(r.score!.result - (1 - 0.0015)) < 1e-12, JSON.stringify(r.score));
  assert.equal(r.report!.nodes.length, 2);
  // Within the bound already: nothing is kept float.
  const loose = await guardedQuantize(float, quantize, { score, maxLoss: 0.01 });
  assert.deepEqual(loose.keptFloat, []);
  // A bound nothing in int8 meets: the float model comes back, saying why.
  const strict = await guardedQuantize(float, quantize, { score, maxLoss: 0.0001 });
  assert.match(strict.returnedFloat!, /no int8 node fits the accuracy bound/);
  assert.equal(int8Nodes(strict.bytes).size, 0);
});

test('speed guard: a node whose int8 form is slower here stays float; a result slower than float gives float back', async () => {
  const [a, b, c] = NODES;
  const delta: Record<string, number> = { [a]: -0.2, [b]: +0.3, [c]: -0.1 };
  const time = async (bytes: Uint8Array) => 1 + [...int8Nodes(bytes)].reduce((s, n) => s + delta[n], 0);
  const r = await guardedQuantize(float, quantize, { time });
  assert.deepEqual(
    r.keptFloat.map((k) => k.node),
    [b],
  );
  assert.match(r.keptFloat[0].reason, /the model took 1\.00 ms with it in int8, 0\.70 ms with it float/);
  assert.deepEqual(r.time, { float: 1, result: 0.7 });
  // Every int8 node slower: the float model is returned.
  const slow = async (bytes: Uint8Array) => 1 + 0.2 * int8Nodes(bytes).size;
  const s = await guardedQuantize(float, quantize, { time: slow });
  assert.match(s.returnedFloat!, /the quantized model took 1\.20 ms, the float model 1\.00 ms/);
  assert.equal(int8Nodes(s.bytes).size, 0);
});

test('an accuracy bound without a scorer is refused', async () => {
  await assert.rejects(guardedQuantize(float, quantize, { maxLoss: 0.003 }), /needs a scorer/);
});

/** Loss values against closed forms computed here in float64. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, encodeModel } from 'edgefl';
import { buildLoss, type LossName } from 'edgefl/internal/autodiff/losses';

async function lossValue(name: LossName, z: number[], y: number[], shape: number[], classWeights?: number[]) {
  const g = new Graph('loss');
  const zi = g.input('z', 'float32', shape);
  const intLabels = name === 'softmaxCrossEntropy';
  const yi = g.input('y', intLabels ? 'int32' : 'float32', intLabels ? shape.slice(0, -1) : shape);
  const l = buildLoss(name, zi, yi, { classWeights });
  g.output(l.loss, 'loss');
  if (l.correct) g.output(l.correct, 'correct');
  const s = await ort.InferenceSession.create(encodeModel(g));
  const out = await s.run({
    z: new ort.Tensor('float32', Float32Array.from(z), shape),
    y: intLabels
      ? new ort.Tensor('int32', Int32Array.from(y), shape.slice(0, -1))
      : new ort.Tensor('float32', Float32Array.from(y), shape),
  });
  return { loss: out.loss.data[0] as number, correct: out.correct?.data[0] as number | undefined };
}

test('softmax cross-entropy: mean of -log softmax at the label, with class weights normalized by their sum', async () => {
  const z = [2, 0.5, -1, 0.1, 0.2, 3];
  const y = [0, 2];
  const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
  const nll = [lse(z.slice(0, 3)) - z[0], lse(z.slice(3)) - z[5]];
  const { loss, correct } = await lossValue('softmaxCrossEntropy', z, y, [2, 3]);
  assert.ok(Math.abs(loss - (nll[0] + nll[1]) / 2) < 1e-6);
  assert.equal(correct, 2);
  const w = [0.5, 1, 3];
  const weighted = await lossValue('softmaxCrossEntropy', z, y, [2, 3], w);
  assert.ok(Math.abs(weighted.loss - (0.5 * nll[0] + 3 * nll[1]) / 3.5) < 1e-6);
});

test('binary cross-entropy on logits, stable for large |z|, with [negative, positive] class weights', async () => {
  const z = [3, -2, 40, -40];
  const y = [1, 0, 0, 1];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const per = z.map((v, i) =>
    v > 30 || v < -30
      ? Math.abs(v) * (y[i] === (v > 0 ? 1 : 0) ? 0 : 1)
      : -(y[i] * Math.log(sig(v)) + (1 - y[i]) * Math.log(1 - sig(v))),
  );
  const { loss, correct } = await lossValue('binaryCrossEntropy', z, y, [4, 1]);
  assert.ok(Math.abs(loss - per.reduce((a, b) => a + b) / 4) < 1e-5, `${loss}`);
  assert.equal(correct, 2);
  const weighted = await lossValue('binaryCrossEntropy', z, y, [4, 1], [0.25, 4]);
  const w = y.map((t) => (t ? 4 : 0.25));
  assert.ok(Math.abs(weighted.loss - per.reduce((a, b, i) => a + w[i] * b, 0) / 4) < 1e-4);
});

test('mean squared error', async () => {
  const { loss } = await lossValue('meanSquaredError', [1, 2, 3, 4], [1.5, 2, 2, 6], [2, 2]);
  assert.ok(Math.abs(loss - (0.25 + 0 + 1 + 4) / 4) < 1e-7);
});

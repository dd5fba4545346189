/**
 * The distillation loss against a closed form computed here in float64 (value and gradient w.r.t.
 * the student's logits) and against central finite differences, all evaluated by ONNX Runtime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph.js';
import { encodeModel } from '../onnx/proto.js';
import { gradients } from './gradients.js';
import { buildLoss, labelSpec, type LossOptions } from './losses.js';
import { gradcheck } from '../../../../test/helpers/gradcheck.js';

const B = 3;
const C = 4;
const student = [1.5, -0.3, 0.2, 2.0, -1.0, 0.7, 0.1, 0.4, 0.0, 0.3, -2.0, 1.1];
const teacher = [3.0, -1.0, 0.5, 4.0, -2.0, 2.5, 0.0, 1.0, 0.5, 0.2, -3.0, 3.5];
const hard = [3, 1, 2];
/** Rows [hard label, teacher logits...]. */
const labels = hard.flatMap((y, i) => [y, ...teacher.slice(i * C, (i + 1) * C)]);

const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const row = (xs: number[], i: number) => xs.slice(i * C, (i + 1) * C);
const scaled = (z: number[], T: number) => z.map((v) => v / T);

/** alpha T² KL(p_T ‖ q_T) + (1 − alpha) CE, averaged over the batch; and its gradient w.r.t. the student's logits. */
function closedForm(T: number, alpha: number) {
  let loss = 0;
  const grad: number[] = [];
  for (let i = 0; i < B; i++) {
    const p = softmax(scaled(row(teacher, i), T));
    const q = softmax(scaled(row(student, i), T));
    const s = softmax(row(student, i));
    const kl = p.reduce((a, pc, c) => a + pc * Math.log(pc / q[c]), 0);
    loss += (alpha * T * T * kl + (1 - alpha) * -Math.log(s[hard[i]])) / B;
    for (let c = 0; c < C; c++)
      grad.push((alpha * T * (q[c] - p[c]) + (1 - alpha) * (s[c] - (c === hard[i] ? 1 : 0))) / B);
  }
  return { loss, grad };
}

async function evaluate(o: LossOptions) {
  const g = new Graph('distill');
  const z = g.input('z', 'float32', [B, C]);
  const spec = labelSpec('distillation', z);
  assert.deepEqual(spec, { dtype: 'float32', shape: [B, 1 + C] });
  const y = g.input('y', spec.dtype, spec.shape);
  const l = buildLoss('distillation', z, y, o);
  g.output(l.loss, 'loss');
  g.output(l.correct!, 'correct');
  g.output(gradients(l.loss, [z])[0], 'dz');
  const s = await ort.InferenceSession.create(encodeModel(g));
  const out = await s.run({
    z: new ort.Tensor('float32', Float32Array.from(student), [B, C]),
    y: new ort.Tensor('float32', Float32Array.from(labels), [B, 1 + C]),
  });
  return {
    loss: out.loss.data[0] as number,
    correct: out.correct.data[0] as number,
    grad: Array.from(out.dz.data as Float32Array),
  };
}

test('distillation: value and gradient equal alpha T² KL(teacher/T ‖ student/T) + (1 − alpha) CE in closed form', async () => {
  for (const [T, alpha] of [
    [4, 0.9],
    [1, 0.5],
    [10, 1],
    [2, 0],
  ]) {
    const want = closedForm(T, alpha);
    const got = await evaluate({ temperature: T, alpha });
    assert.ok(
      Math.abs(got.loss - want.loss) < 1e-5 * Math.max(1, want.loss),
      `T ${T} alpha ${alpha}: ${got.loss} vs ${want.loss}`,
    );
    got.grad.forEach((d, k) =>
      assert.ok(
        Math.abs(d - want.grad[k]) < 1e-6,
        `T ${T} alpha ${alpha}, d/dz[${k}]: ${d} vs ${want.grad[k]}`,
      ),
    );
    // Arg-max of the student's rows (3, 1, 3) against the hard labels (3, 1, 2).
    assert.equal(got.correct, 2);
  }
  // Defaults: T = 4, alpha = 0.9.
  assert.ok(Math.abs((await evaluate({})).loss - closedForm(4, 0.9).loss) < 1e-5);
});

test('distillation: gradient against central finite differences', async () => {
  for (const [T, alpha] of [
    [3, 0.7],
    [1, 1],
  ])
    await gradcheck({
      inputs: {
        z: { shape: [B, C], data: Float32Array.from(student) },
        y: { shape: [B, 1 + C], data: Float32Array.from(labels), differentiable: false },
      },
      build: ({ z, y }) => buildLoss('distillation', z, y, { temperature: T, alpha }).loss,
    });
});

test('distillation: a temperature or weight out of range, and an output that is not [batch, classes], are refused by name', () => {
  const g = new Graph('bad');
  const z = g.input('z', 'float32', ['batch', C]);
  const y = g.input('y', 'float32', ['batch', 1 + C]);
  assert.throws(
    () => buildLoss('distillation', z, y, { temperature: 0 }),
    /temperature must be a positive number, got 0/,
  );
  assert.throws(() => buildLoss('distillation', z, y, { alpha: 1.5 }), /alpha must lie in \[0, 1\], got 1.5/);
  const seq = g.input('s', 'float32', ['batch', 5, C]);
  assert.throws(
    () => labelSpec('distillation', seq),
    /distillation needs a classifier's logits \[batch, classes\]/,
  );
  assert.throws(
    () => buildLoss('nope' as 'distillation', z, y),
    /unknown loss 'nope' \(use softmaxCrossEntropy, binaryCrossEntropy, meanSquaredError, distillation\)/,
  );
});

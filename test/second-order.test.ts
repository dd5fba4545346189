/**
 * Second-order differentiation: the gradient-matching objective of gradient-inversion attacks
 * (Zhu et al. 2019), D(x) = sum_i ||dL/dW_i(x) - G_i||^2, differentiated w.r.t. the input x through
 * the backward graph itself, checked against finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import {
  gradients,
  encodeModel,
  buildModel,
  initialParameters,
  conv2d,
  dense,
  flatten,
  maxPool2d,
  sequential,
  sigmoid,
  tanh,
  type ModelSpec,
  Rng,
} from 'edgefl';
import { buildLoss } from 'edgefl/internal/autodiff/losses';
import * as op from 'edgefl/internal/onnx/ops';
import { checkOnnxModel } from './helpers/onnx-checker.js';

async function checkSecondOrder(spec: ModelSpec, batch: number, o: { eps: number; seed: number }) {
  const built = buildModel(spec, { mode: 'train' });
  const g = built.graph;
  const labels = g.input('labels', 'int32', ['batch']);
  const { loss } = buildLoss('softmaxCrossEntropy', built.output, labels);
  const grads = gradients(loss, built.parameters);
  const targets = built.parameters.map((p) => g.input(`${p.name}.target`, 'float32', p.shape!));
  const terms = grads.map((d, i) =>
    op.reduceSum(op.mul(op.sub(d, targets[i]), op.sub(d, targets[i])), [], false),
  );
  const objective = op.sum(terms);
  const [dx] = gradients(objective, [built.input], { scope: 'grad2/' });
  g.output(objective, 'objective');
  g.output(dx, 'dx');
  const bytes = encodeModel(g);
  await checkOnnxModel(bytes);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });

  const rng = new Rng(o.seed);
  const params = initialParameters(spec);
  const sample = spec.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: batch * sample }, () => rng.uniform());
  // The attacker's observed gradients: fixed for every evaluation.
  const fixed = new Rng(11);
  const targetValues = built.layout.map((e) =>
    Float32Array.from({ length: e.size }, () => 0.01 * fixed.normal()),
  );
  const runFixed = async (input: Float32Array) => {
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', input, [batch, ...spec.inputShape]),
      labels: new ort.Tensor(
        'int32',
        Int32Array.from({ length: batch }, (_, i) => i % 3),
        [batch],
      ),
    };
    built.layout.forEach((e, i) => {
      feeds[e.name] = new ort.Tensor('float32', params.view(e.name), [...e.shape]);
      feeds[targets[i].name] = new ort.Tensor('float32', targetValues[i], [...e.shape]);
    });
    return session.run(feeds);
  };
  const base = await runFixed(x);
  const analytic = base.dx.data as Float32Array;
  const eps = o.eps;
  const fdAt = async (v: Float32Array, h: number) => {
    const plus = (await runFixed(Float32Array.from(x, (xi, i) => xi + h * v[i]))).objective.data[0] as number;
    const minus = (await runFixed(Float32Array.from(x, (xi, i) => xi - h * v[i]))).objective
      .data[0] as number;
    return (plus - minus) / (2 * h);
  };
  // A direction whose difference quotients at h and h/2 disagree has a kink (an argmax switch of
  // max pooling) within the step: finite differences say nothing there, so it is not counted.
  let compared = 0;
  for (let k = 0; k < 8 && compared < 3; k++) {
    const v = Float32Array.from(x, () => rng.normal());
    const [fd1, fd2] = [await fdAt(v, eps), await fdAt(v, eps / 2)];
    if (Math.abs(fd1 - fd2) > 0.02 * Math.max(Math.abs(fd1), Math.abs(fd2)) + 1e-5) continue;
    let an = 0;
    for (let i = 0; i < v.length; i++) an += analytic[i] * v[i];
    assert.ok(
      Math.abs(fd2 - an) <= 1e-6 + 3e-2 * Math.max(Math.abs(fd2), Math.abs(an)),
      `direction ${k}: analytic ${an} vs finite difference ${fd2}`,
    );
    assert.ok(Math.abs(an) > 0, 'the second-order gradient is not trivially zero');
    compared++;
  }
  assert.equal(compared, 3, 'three directions with converged finite differences were compared');
}

test('gradient matching through an MLP (Gemm, tanh, sigmoid, softmax cross-entropy)', async () => {
  await checkSecondOrder(
    sequential([dense(6), tanh(), dense(5), sigmoid(), dense(3)], { inputShape: [8], seed: 2 }),
    2,
    { eps: 1e-2, seed: 4 },
  );
});

test('gradient matching through a CNN (Conv weight and input gradients, max pooling, dense)', async () => {
  // Max pooling makes the objective piecewise smooth: a small step keeps most directions clear of
  // argmax switches, and the convergence check above discards the others.
  await checkSecondOrder(
    sequential(
      [conv2d({ filters: 3, kernel: 3, padding: 'same' }), tanh(), maxPool2d(2), flatten(), dense(3)],
      { inputShape: [1, 6, 6], seed: 2 },
    ),
    2,
    { eps: 4e-3, seed: 3 },
  );
});

/**
 * The optimizers compiled into the training graph against a plain JavaScript implementation of
 * their published update rules (float64), step by step on the same gradients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import {
  compileTrainingGraph,
  adam,
  adamw,
  sgd,
  type OptimizerConfig,
  dense,
  relu,
  sequential,
  initialParameters,
  Trainer,
} from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { blobs } from './helpers/synthetic.js';

const runtime = nodeRuntime();
const spec = sequential([dense(6), relu(), dense(3)], { inputShape: [4], seed: 3 });
const data = blobs(8, 4, 3, 5);

/** d loss / d w at w, for the whole 8-sample batch, from the gradient-only graph. */
async function gradientAt(w: Float32Array): Promise<Float64Array> {
  const c = compileTrainingGraph(spec, { loss: 'softmaxCrossEntropy' });
  const s = await ort.InferenceSession.create(c.bytes);
  const feeds: Record<string, ort.Tensor> = {
    input: new ort.Tensor('float32', data.features as Float32Array, [8, 4]),
    labels: new ort.Tensor('int32', data.labels as Int32Array, [8]),
  };
  c.layout.forEach(
    (e) => (feeds[e.name] = new ort.Tensor('float32', w.slice(e.offset, e.offset + e.size), [...e.shape])),
  );
  const out = await s.run(feeds);
  const g = new Float64Array(w.length);
  c.names.paramsOut.forEach((name, i) => g.set(out[name].data as Float32Array, c.layout[i].offset));
  return g;
}

/** Reference update rules (PyTorch's SGD and Adam; AdamW per Loshchilov & Hutter). */
function referenceStep(
  o: OptimizerConfig,
  w: Float64Array,
  g: Float64Array,
  state: Float64Array[],
  t: number,
  prox?: { mu: number; ref: Float32Array },
) {
  for (let i = 0; i < w.length; i++) {
    let gi = g[i] + (prox ? prox.mu * (w[i] - prox.ref[i]) : 0);
    if (o.kind === 'sgd') {
      if (o.weightDecay) gi += o.weightDecay * w[i];
      if (o.momentum) {
        state[0][i] = o.momentum * state[0][i] + gi;
        gi = o.nesterov ? gi + o.momentum * state[0][i] : state[0][i];
      }
      w[i] -= o.lr * gi;
    } else {
      const [b1, b2, eps] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.epsilon ?? 1e-8];
      if (o.kind === 'adam' && o.weightDecay) gi += o.weightDecay * w[i];
      if (o.kind === 'adamw' && o.weightDecay) w[i] -= o.lr * o.weightDecay * w[i];
      state[0][i] = b1 * state[0][i] + (1 - b1) * gi;
      state[1][i] = b2 * state[1][i] + (1 - b2) * gi * gi;
      const mhat = state[0][i] / (1 - b1 ** t);
      const vhat = state[1][i] / (1 - b2 ** t);
      w[i] -= (o.lr * mhat) / (Math.sqrt(vhat) + eps);
    }
  }
}

async function checkOptimizer(o: OptimizerConfig, prox?: { mu: number }) {
  const trainer = await Trainer.create(spec, { loss: 'softmaxCrossEntropy', optimizer: o, runtime });
  const w0 = initialParameters(spec).values;
  const ref = prox ? Float32Array.from(w0, (v, i) => v + 0.05 * Math.sin(i)) : undefined;
  const w = Float64Array.from(w0);
  const state = [new Float64Array(w.length), new Float64Array(w.length)];
  for (let t = 1; t <= 4; t++) {
    const g = await gradientAt(Float32Array.from(w));
    referenceStep(o, w, g, state, t, prox && ref ? { mu: prox.mu, ref } : undefined);
    await trainer.fit(data, {
      batchSize: 8,
      steps: 1,
      shuffle: false,
      proximal: prox && ref ? { mu: prox.mu, reference: ref } : undefined,
    });
    const got = trainer.getParameters().values;
    let err = 0;
    let scale = 0;
    for (let i = 0; i < w.length; i++) {
      err = Math.max(err, Math.abs(got[i] - w[i]));
      scale = Math.max(scale, Math.abs(w[i] - w0[i]));
    }
    assert.ok(scale > 0, 'parameters must move');
    assert.ok(
      err <= 1e-5 + 1e-3 * scale,
      `${o.kind} step ${t}: max deviation ${err} from the reference (update size ${scale})`,
    );
  }
  await trainer.dispose();
}

test('plain SGD (fused into the weight-gradient Gemm) matches w -= lr g', () =>
  checkOptimizer(sgd({ lr: 0.1 })));
test('SGD with momentum (fused) and with Nesterov momentum and weight decay', async () => {
  await checkOptimizer(sgd({ lr: 0.1, momentum: 0.9 }));
  await checkOptimizer(sgd({ lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 }));
});
test('Adam with bias correction, with L2 weight decay', async () => {
  await checkOptimizer(adam({ lr: 0.01 }));
  await checkOptimizer(adam({ lr: 0.01, weightDecay: 0.1 }));
});
test('AdamW with decoupled weight decay', () => checkOptimizer(adamw({ lr: 0.01, weightDecay: 0.1 })));
test('the FedProx term adds mu (w - w_ref) to the gradient', async () => {
  await checkOptimizer(sgd({ lr: 0.1 }), { mu: 0.5 });
  await checkOptimizer(sgd({ lr: 0.1, momentum: 0.9 }), { mu: 2 });
});

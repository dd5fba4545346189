import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { initialParameters } from '../model/build.js';
import { builtInModel } from '../model/zoo.js';
import { exportInferenceModel } from '../model/export.js';
import { encodeModel } from '../onnx/proto.js';
import { Graph } from '../onnx/graph.js';
import { LatencyError, measureLatency, percentile } from './latency.js';

const runtime = nodeRuntime();
const model = (name: 'mlp' | 'logreg', inputs: number) => {
  const spec = builtInModel(name, { inputShape: [inputs], classes: 10, seed: 1 });
  return exportInferenceModel(spec, initialParameters(spec));
};

test('percentile is nearest-rank: the median of 1..100 is 50, p95 is 95, p100 the largest', () => {
  const v = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(v, 0.5), 50);
  assert.equal(percentile(v, 0.95), 95);
  assert.equal(percentile(v, 1), 100);
  assert.equal(percentile([7], 0.5), 7);
  assert.throws(() => percentile([], 0.5), LatencyError);
});

test('a model a thousand times larger takes longer a call; the figures are ordered and per example', async () => {
  const small = await measureLatency(model('logreg', 16), { runtime, batch: 32, runs: 60, warmup: 5 });
  const large = await measureLatency(model('mlp', 4800), { runtime, batch: 32, runs: 60, warmup: 5 });
  for (const r of [small, large]) {
    assert.equal(r.runs, 60);
    assert.ok(r.minMs <= r.p50Ms && r.p50Ms <= r.p95Ms, JSON.stringify(r));
    assert.ok(Math.abs(r.p50PerExampleMs - r.p50Ms / 32) < 1e-12);
  }
  // 170 parameters against 1,002,410: the matrix products alone are ~5,900 times the work.
  assert.ok(large.p50Ms > 5 * small.p50Ms, `large ${large.p50Ms} ms, small ${small.p50Ms} ms`);
});

test('inputs that cannot be made up are refused, naming the input', async () => {
  await assert.rejects(
    measureLatency(model('logreg', 4), { runtime, batch: 0 }),
    /batch must be an integer >= 1/,
  );
  const g = new Graph('fixed');
  const x = g.input('x', 'float32', [2, 3]);
  g.output(g.node('Relu', [x], {}, [{ dtype: 'float32', shape: [2, 3] }])[0], 'y');
  await assert.rejects(
    measureLatency(encodeModel(g), { runtime, batch: 4 }),
    /input 'x' has a fixed batch of 2: it cannot be timed at batch 4/,
  );
  const h = new Graph('ints');
  const i = h.input('ids', 'int64', [1, 3]);
  h.output(h.node('Identity', [i], {}, [{ dtype: 'int64', shape: [1, 3] }])[0], 'y');
  await assert.rejects(measureLatency(encodeModel(h), { runtime }), /input 'ids' is not a float32 tensor/);
});

test('token ids for an embedding are made up within its vocabulary; given inputs are used as they are', async () => {
  // A transformer reads int32 token ids through a Gather of its embedding table: ids drawn from
  // outside the table would fail the lookup, so the made-up ones stay within its 50 rows.
  const spec = builtInModel('transformer', {
    inputShape: [8],
    classes: 50,
    vocabSize: 50,
    dim: 16,
    blocks: 1,
    heads: 2,
    seed: 1,
  });
  const lm = exportInferenceModel(spec, initialParameters(spec));
  const r = await measureLatency(lm, { runtime, batch: 4, runs: 10, warmup: 2 });
  assert.equal(r.batch, 4);
  assert.ok(r.p50Ms > 0);
  const ids = new runtime.Tensor(
    'int32',
    Int32Array.from({ length: 8 }, (_, k) => k),
    [1, 8],
  );
  const given = await measureLatency(lm, { runtime, runs: 5, warmup: 1, feeds: { input: ids } });
  assert.equal(given.runs, 5);
});

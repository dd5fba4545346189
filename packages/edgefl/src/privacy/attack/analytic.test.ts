/**
 * The analytic attack on gradients computed by ONNX Runtime from the real training graph: exact for
 * one example, and only a mixture when the gradient covers several.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtInModel } from '../../model/zoo.js';
import { initialParameters } from '../../model/build.js';
import { nodeRuntime } from '@edgefl/node';
import { Rng } from '../../util/rng.js';
import { analyticReconstruction, firstDenseLayer, rowReconstructions } from './analytic.js';
import { ClientGradient } from './client-gradient.js';
import { inferLabels, lastBiasGradient } from './labels.js';
import { inSharedMemory } from '../../../../../test/helpers/shared-memory.js';

const runtime = nodeRuntime();

/** A seeded stand-in for a digit: a bright ring on a dark background with a little noise. */
function syntheticDigit(seed: number): Float32Array {
  const rng = new Rng(seed);
  const [cy, cx, r] = [10 + 8 * rng.uniform(), 10 + 8 * rng.uniform(), 5 + 4 * rng.uniform()];
  return Float32Array.from({ length: 28 * 28 }, (_, k) => {
    const d = Math.hypot(Math.floor(k / 28) - cy, (k % 28) - cx);
    return Math.min(1, Math.max(0, 1.2 - Math.abs(d - r) / 1.5 + 0.05 * rng.uniform()));
  });
}

function maxAbsError(a: Float32Array, b: Float32Array): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

for (const name of ['mlp', 'logreg'] as const)
  test(`${name}: one example is reconstructed exactly from its ONNX Runtime gradient`, async () => {
    const spec = builtInModel(name, { inputShape: [1, 28, 28], classes: 10, seed: 3 });
    const params = initialParameters(spec).values;
    const client = await ClientGradient.create(spec, { runtime });
    for (const [seed, label] of [
      [1, 7],
      [2, 0],
      [3, 4],
    ]) {
      const x = syntheticDigit(seed);
      const g = await client.compute(params, x, Int32Array.of(label));
      const error = maxAbsError(analyticReconstruction(g, client.layout), x);
      assert.ok(error < 1e-4, `image ${seed}: max abs error ${error}`);
      // Every single row is exact as well, not only the least-squares fit over several.
      for (const row of rowReconstructions(g, client.layout, 5))
        assert.ok(maxAbsError(row, x) < 1e-3, `a single row is off by ${maxAbsError(row, x)}`);
      // iDLG: the one negative entry of the last bias gradient is the label.
      assert.deepEqual([...inferLabels(lastBiasGradient(g, client.layout), 1)], [label]);
    }
    await client.release();
  });

test('a gradient over two examples gives a mixture, not either image', async () => {
  const spec = builtInModel('logreg', { inputShape: [1, 28, 28], classes: 10, seed: 3 });
  const params = initialParameters(spec).values;
  const client = await ClientGradient.create(spec, { runtime });
  const [a, b] = [syntheticDigit(5), syntheticDigit(6)];
  const both = new Float32Array(2 * 784);
  both.set(a);
  both.set(b, 784);
  const g = await client.compute(params, both, Int32Array.of(1, 2));
  const rec = analyticReconstruction(g, client.layout);
  assert.ok(maxAbsError(rec, a) > 0.1 && maxAbsError(rec, b) > 0.1, 'neither image comes out exactly');
  await client.release();
});

test('the client gradient takes parameters and batch from shared memory as well', async () => {
  const spec = builtInModel('logreg', { inputShape: [1, 28, 28], classes: 10, seed: 3 });
  const params = initialParameters(spec).values;
  const client = await ClientGradient.create(spec, { runtime });
  const x = syntheticDigit(7);
  const label = Int32Array.of(3);
  const g = await client.compute(inSharedMemory(params), inSharedMemory(x), inSharedMemory(label));
  assert.deepEqual(g, await client.compute(params, x, label));
  await client.release();
});

test('models without a dense first layer are refused, naming what they start with', () => {
  const cnn = builtInModel('cnn', { inputShape: [1, 28, 28], classes: 10 });
  assert.throws(
    () => firstDenseLayer(initialParameters(cnn).entries),
    /dense first layer with bias .* starts with conv2d_0\.weight \[32, 1, 5, 5\]/,
  );
  const mlp = builtInModel('mlp', { inputShape: [1, 28, 28], classes: 10 });
  assert.throws(
    () => firstDenseLayer(initialParameters(mlp).entries, 100),
    /takes 784 features, the input has 100/,
  );
  const layout = initialParameters(mlp).entries;
  const zero = new Float32Array(layout[layout.length - 1].offset + layout[layout.length - 1].size);
  assert.throws(() => analyticReconstruction(zero, layout), /every bias gradient of the first layer is zero/);
});

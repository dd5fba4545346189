/**
 * Pruned trained models against the float model they came from, on 1,000 held-out MNIST test
 * images: one-shot magnitude pruning at 50% and removing a quarter of the hidden units (no
 * fine-tuning) keep the float model's top-1 answer on nearly every image; the files pass the ONNX
 * checker and answer the same in onnxruntime-web.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasmRuntime } from '@edgefl/node';
import { pruneWeights, prunableInitializers } from './onnx-weights.js';
import { removeUnits } from './structured/remove-units.js';
import { zeroFraction } from './magnitude.js';
import { importModel, exportModel } from '../onnx/edit/io.js';
import { trainedModel, runLogits, argmax, agreement } from '../../../../test/helpers/quantize-fixtures.js';
import { Graph } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { encodeModel } from '../onnx/proto.js';
import { checkOnnxModel } from '../../../../test/helpers/onnx-checker.js';

const SHOW = process.env.EDGEFL_SHOW_AGREEMENT;

test(
  'trained MLP: 50% magnitude pruning and 25% of hidden units removed keep the float answers (>= 96% / 95% top-1 agreement)',
  { timeout: 60_000 },
  async () => {
    const f = await trainedModel('mlp');
    const dims = [f.heldOut.count, ...f.inputShape];
    const floatTop = argmax(await runLogits(f.float, f.heldOut.data, dims), 10);

    const sparse = importModel(f.float, 'mlp.onnx');
    const layers = pruneWeights(sparse, { sparsity: 0.5 });
    assert.deepEqual(
      layers.map((l) => l.name),
      prunableInitializers(importModel(f.float)),
    );
    for (const l of layers) {
      assert.equal(l.pruned, Math.round(0.5 * l.size), l.name);
      assert.ok(zeroFraction(sparse.initializer(l.name)!.data as Float32Array) >= 0.5, l.name);
    }
    const sparseBytes = exportModel(sparse);
    const sparseAgreement = agreement(
      argmax(await runLogits(sparseBytes, f.heldOut.data, dims), 10),
      floatTop,
    );

    const narrow = importModel(f.float, 'mlp.onnx');
    removeUnits(narrow, { fraction: 0.25 });
    const narrowBytes = exportModel(narrow);
    const narrowAgreement = agreement(
      argmax(await runLogits(narrowBytes, f.heldOut.data, dims), 10),
      floatTop,
    );
    if (SHOW) console.log({ sparseAgreement, narrowAgreement, float: f.accuracy });
    assert.ok(sparseAgreement >= 0.96, `50% sparse: ${sparseAgreement} top-1 agreement with float`);
    assert.ok(narrowAgreement >= 0.95, `25% of units removed: ${narrowAgreement} top-1 agreement with float`);

    for (const bytes of [sparseBytes, narrowBytes]) {
      await checkOnnxModel(bytes);
      const web = wasmRuntime();
      const session = await web.InferenceSession.create(bytes, web.defaultSessionOptions);
      const out = await session.run(
        { input: new web.Tensor('float32', f.heldOut.data.slice(0, 32 * 784), [32, ...f.inputShape]) },
        ['logits'],
      );
      assert.deepEqual(
        argmax(out.logits.data as Float32Array, 10),
        floatTopOf(await runLogits(bytes, f.heldOut.data.slice(0, 32 * 784), [32, ...f.inputShape])),
      );
      await session.release();
    }
  },
);

const floatTopOf = (logits: Float32Array) => argmax(logits, 10);

test('a model without weights to prune is refused, naming it', () => {
  const g = new Graph('relu');
  g.output(op.relu(g.input('x', 'float32', ['batch', 4])), 'y');
  assert.throws(
    () => pruneWeights(importModel(encodeModel(g), 'relu.onnx'), { sparsity: 0.5 }),
    /relu\.onnx has no float32 constant weight of a Conv, Gemm or MatMul to prune/,
  );
});

/**
 * The fusion check tells fused from unfused: the same quantized CNN with the last Gemm's bias put
 * back as float (ONNX Runtime 1.30 then does not fuse that Gemm: QGemm with a float output takes
 * only an int32 bias) must be reported as unfused, and computed by a float Gemm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  builtInModel,
  calibrate,
  exportInferenceModel,
  exportModel,
  importModel,
  initialParameters,
  quantizeStaticInt8,
} from 'edgefl';
import { nodeRuntime } from '../runtime/node.js';
import { checkFusion, optimizedGraph, opTypeCounts } from './optimized-graph.js';

const runtime = nodeRuntime();
const spec = builtInModel('cnn', { inputShape: [1, 28, 28], classes: 10, seed: 3 });
const float = exportInferenceModel(spec, initialParameters(spec));
const batch = Float32Array.from({ length: 4 * 784 }, (_, i) => (i % 11) / 11);

test('the optimized float graph has no integer ops, and is read back as a model', async () => {
  const ops = opTypeCounts(await optimizedGraph(runtime, float));
  assert.ok(!Object.keys(ops).some((op) => /QLinear|QGemm|Integer/.test(op)), JSON.stringify(ops));
  assert.equal(ops.Softmax, 1);
});

test('a group the runtime does not fuse is reported unfused, with the float op that runs it', async () => {
  const model = importModel(float);
  const q = quantizeStaticInt8(model, await calibrate(model, runtime, [batch]));
  const fused = await checkFusion(runtime, exportModel(q.model), q.report);
  assert.deepEqual(fused.unfused, []);

  const last = q.model.nodes('Gemm').at(-1)!;
  const floatBias = q.model.freshName('float_bias');
  q.model.addInitializer(floatBias, model.initializer('dense_9.bias')!);
  last.setInput(2, floatBias);
  q.model.removeUnused();
  const check = await checkFusion(runtime, exportModel(q.model), q.report);
  assert.deepEqual(
    check.unfused.map((n) => [n.node, n.computedBy]),
    [['Gemm_19', 'Gemm']],
  );
  assert.equal(check.fused.length, 3);
  assert.ok(check.opTypes.DequantizeLinear >= 1, 'the weight is dequantized at run time');
});

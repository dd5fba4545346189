/**
 * edgefl's own exported CNN through the editable model: unchanged it round-trips to the same
 * bytes; after the passes, and after rewrites the passes then clean up, the ONNX checker accepts it
 * and ONNX Runtime computes what the exported model computes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { equals } from '@bufbuild/protobuf';
import { nodeRuntime } from '@edgefl/node';
import { checkOnnxModel } from '../../../../../test/helpers/onnx-checker.js';
import { builtInModel } from '../../model/zoo.js';
import { initialParameters } from '../../model/build.js';
import { exportInferenceModel } from '../../model/export.js';
import { decodeModel } from '../proto.js';
import { ModelProtoSchema } from '../schema.js';
import { Rng } from '../../util/rng.js';
import { onnxAttr } from '../edit/attributes.js';
import { exportModel, importModel } from '../edit/io.js';
import type { OnnxModel } from '../edit/model.js';
import { foldConstants } from './fold-constants.js';
import { runPasses, type OnnxPass } from './pass.js';
import { pruneUnused } from './prune-unused.js';
import { removeIdentityAndDropout } from './remove-identity.js';

const runtime = nodeRuntime();
const spec = builtInModel('cnn', { inputShape: [1, 12, 12], classes: 4, seed: 5 });
const exported = exportInferenceModel(spec, initialParameters(spec), { labels: ['a', 'b', 'c', 'd'] });
const passes = (): OnnxPass[] => [foldConstants(), removeIdentityAndDropout(), pruneUnused()];

async function outputs(bytes: Uint8Array, input: Float32Array, batch: number) {
  const session = await runtime.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const out = await session.run({ input: new runtime.Tensor('float32', input, [batch, 1, 12, 12]) });
  await session.release();
  return { logits: out.logits.data as Float32Array, probabilities: out.probabilities.data as Float32Array };
}

/** The largest difference between what the two models output on the same random batch. */
async function largestDifference(a: Uint8Array, b: Uint8Array): Promise<number> {
  const rng = new Rng(3);
  const batch = 6;
  const input = Float32Array.from({ length: batch * 144 }, () => rng.normal());
  const [x, y] = [await outputs(a, input, batch), await outputs(b, input, batch)];
  let largest = 0;
  for (const k of ['logits', 'probabilities'] as const)
    x[k].forEach((v, i) => (largest = Math.max(largest, Math.abs(v - y[k][i]))));
  return largest;
}

test("edgefl's CNN imported and exported without edits gives back the same bytes", () => {
  const model = importModel(exported, 'cnn.onnx');
  const written = exportModel(model);
  assert.ok(
    equals(ModelProtoSchema, decodeModel(written) as never, decodeModel(exported) as never),
    'equal ModelProto',
  );
  assert.deepEqual(written, exported, 'byte-identical');
  assert.equal(model.metadata('edgefl.labels'), '["a","b","c","d"]');
});

test("edgefl's CNN after the passes: checker passes, ONNX Runtime gives the same outputs", async () => {
  const model = importModel(exported, 'cnn.onnx');
  const reports = await runPasses(model, passes(), { runtime });
  // edgefl writes no constant subgraphs, Identity or Dropout: nothing to do, and nothing broken.
  for (const r of reports) assert.equal(r.nodesAfter, r.nodesBefore, r.pass);
  const written = exportModel(model);
  await checkOnnxModel(written);
  assert.ok((await largestDifference(exported, written)) <= 1e-6);
});

/** Gemm(x, W, b) with transB becomes MatMul(x, Transpose(W)) + b: a constant Transpose to fold. */
function gemmToMatMul(model: OnnxModel): number {
  const gemms = model.nodes('Gemm');
  for (const gemm of gemms) {
    assert.equal(gemm.int('transB', 0), 1);
    const [x, w, b] = gemm.inputs;
    const wT = model.createNode('Transpose', [w], { attributes: { perm: onnxAttr.ints([1, 0]) } });
    const product = model.createNode('MatMul', [x, wT.outputs[0]]);
    const sum = model.createNode('Add', [product.outputs[0], b], { outputs: [gemm.outputs[0]] });
    model.replace(gemm, [wT, product, sum]);
  }
  return gemms.length;
}

/** An Identity after every Relu, as exporters leave them. */
function identityAfterRelu(model: OnnxModel): number {
  const relus = model.nodes('Relu');
  for (const relu of relus) {
    const copy = model.createNode('Identity', [relu.outputs[0]]);
    model.insertAfter(relu, [copy]);
    model.replaceUses(relu.outputs[0], copy.outputs[0], { except: [copy] });
  }
  return relus.length;
}

test('rewrites of the CNN, then the passes: the constant Transposes fold, the Identities go', async () => {
  const model = importModel(exported, 'cnn.onnx');
  const nodes = model.nodeCount;
  const gemms = gemmToMatMul(model);
  const relus = identityAfterRelu(model);
  assert.equal(model.nodeCount, nodes + 2 * gemms + relus);
  model.validate();
  const rewritten = exportModel(model);
  await checkOnnxModel(rewritten);

  const [fold, clean] = await runPasses(model, passes(), { runtime });
  assert.equal(fold.nodesBefore - fold.nodesAfter, gemms, 'each Transpose folded');
  assert.equal(
    fold.changes.filter((c) => /^removed initializer/.test(c)).length,
    gemms,
    'the untransposed weights, read by nothing else, are gone',
  );
  assert.equal(clean.nodesBefore - clean.nodesAfter, relus, 'each Identity removed');
  assert.deepEqual(model.nodes('Transpose'), []);
  assert.deepEqual(model.nodes('Identity'), []);
  const firstMatMul = model.nodes('MatMul')[0];
  assert.deepEqual(model.initializer(firstMatMul.inputs[1])!.dims, [576, 512], 'stored as [in, out] now');
  assert.equal(model.nodeCount, nodes + gemms);

  const written = exportModel(model);
  await checkOnnxModel(written);
  // Folding changes nothing the runtime computes: the same as before the passes, to the bit.
  assert.equal(await largestDifference(rewritten, written), 0);
  // And MatMul + Add computes what Gemm did (exactly, on onnxruntime-node 1.30's CPU kernels; the
  // bound leaves room for a summation order another build might choose).
  assert.ok((await largestDifference(exported, written)) <= 1e-6);
});

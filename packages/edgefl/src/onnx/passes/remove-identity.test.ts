/** Inference clean-up: which Identity and Dropout nodes go, which stay and why. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { checkOnnxModel } from '../../../../../test/helpers/onnx-checker.js';
import { onnxAttr } from '../edit/attributes.js';
import { exportModel } from '../edit/io.js';
import { OnnxModel } from '../edit/model.js';
import { runPasses } from './pass.js';
import { removeIdentityAndDropout } from './remove-identity.js';

const runtime = nodeRuntime();

function add(m: OnnxModel, op: string, inputs: string[], outputs: string[], attributes = {}) {
  m.add([m.createNode(op, inputs, { outputs, name: outputs[0], attributes })]);
}

async function run(bytes: Uint8Array, x: Float32Array): Promise<Float32Array[]> {
  const session = await runtime.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const out = await session.run({ x: new runtime.Tensor('float32', x, [x.length]) });
  await session.release();
  return session.outputNames.map((n) => out[n].data as Float32Array);
}

test('Identity and inference Dropout are bypassed; a graph output keeps its name', async () => {
  const m = OnnxModel.empty();
  m.addInput('x', 'float32', [4]);
  m.addInitializer('w', { dtype: 'float32', dims: [4], data: Float32Array.from([1, -2, 3, -4]) });
  m.addInitializer('off', { dtype: 'bool', dims: [], data: Uint8Array.from([0]) });
  add(m, 'Relu', ['x'], ['a']);
  add(m, 'Identity', ['a'], ['b']);
  add(m, 'Dropout', ['b', '', 'off'], ['c']); // training_mode: a constant false
  add(m, 'Identity', ['c'], ['y']);
  add(m, 'Identity', ['w'], ['w_copy']);
  add(m, 'Mul', ['y', 'w_copy'], ['z']);
  m.addOutput('y', 'float32', [4]);
  m.addOutput('z', 'float32', [4]);
  const before = exportModel(m);
  const [report] = await runPasses(m, [removeIdentityAndDropout()]);
  assert.deepEqual(report.changes, [
    "removed Identity node 'b': its readers read 'a'",
    "removed Dropout node 'c': its readers read 'a'",
    "removed Identity node 'y': 'a' now is graph output 'y'",
    "removed Identity node 'w_copy': its readers read 'w'",
  ]);
  assert.deepEqual(
    m.nodes().map((n) => [n.opType, n.inputs, n.outputs]),
    [
      ['Relu', ['x'], ['y']],
      ['Mul', ['y', 'w'], ['z']],
    ],
  );
  const after = exportModel(m);
  await checkOnnxModel(after);
  const x = Float32Array.from([0.5, -1, 2, -3]);
  assert.deepEqual(await run(after, x), await run(before, x));
});

test('kept: a Dropout whose mask is read or that may train, an Identity from input to output', async () => {
  const m = OnnxModel.empty();
  m.addInput('x', 'float32', [4]);
  m.addInput('training', 'bool', []);
  add(m, 'Dropout', ['x', '', 'training'], ['d1']);
  add(m, 'Dropout', ['d1'], ['d2', 'mask']);
  add(m, 'Identity', ['x'], ['x_out']);
  m.addOutput('d2', 'float32', [4]);
  m.addOutput('mask', 'bool', [4]);
  m.addOutput('x_out', 'float32', [4]);
  const [report] = await runPasses(m, [removeIdentityAndDropout()]);
  assert.deepEqual(report.changes, []);
  assert.deepEqual(report.notes, [
    "kept Dropout node 'd1': its training_mode 'training' is not a constant false",
    "kept Dropout node 'd2': its mask 'mask' is read",
    "kept Identity node 'x_out': its output is a graph output and its input 'x' is not a node's output",
  ]);
  await checkOnnxModel(exportModel(m));
});

test('before opset 7, a Dropout goes only when is_test says it does not train', async () => {
  const m = OnnxModel.empty({ opset: 6 });
  m.addInput('x', 'float32', [4]);
  add(m, 'Dropout', ['x'], ['training'], { is_test: onnxAttr.int(0) });
  add(m, 'Dropout', ['training'], ['testing'], { is_test: onnxAttr.int(1) });
  add(m, 'Relu', ['testing'], ['y']);
  m.addOutput('y', 'float32', [4]);
  const [report] = await runPasses(m, [removeIdentityAndDropout()]);
  assert.deepEqual(report.changes, ["removed Dropout node 'testing': its readers read 'training'"]);
  assert.deepEqual(report.notes, ["kept Dropout node 'training': it is in training mode (is_test is not 1)"]);
});

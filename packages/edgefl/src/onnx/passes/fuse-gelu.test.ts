/**
 * GELU fusion: the elementwise forms become one com.microsoft Gelu, which ONNX Runtime computes to
 * the same values (its kernel is the reference here), and nothing else is touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { checkOnnxModel } from '../../../../../test/helpers/onnx-checker.js';
import { Rng } from '../../util/rng.js';
import { exportModel, importModel } from '../edit/io.js';
import { OnnxModel } from '../edit/model.js';
import { initialParameters } from '../../model/build.js';
import { exportInferenceModel } from '../../model/export.js';
import { dense, gelu, sequential } from '../../model/layers.js';
import { runPasses } from './pass.js';
import { fuseGelu } from './fuse-gelu.js';

const runtime = nodeRuntime();

async function run(bytes: Uint8Array, input: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await runtime.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const out = await session.run({ [input]: new runtime.Tensor('float32', x, dims) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

const largest = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test("edgefl's GELU (x·½·(1 + erf(x·1/√2))) becomes one Gelu node computing the same values", async () => {
  const spec = sequential([dense(32), gelu(), dense(32), gelu(), dense(4)], { inputShape: [16], seed: 3 });
  const float = exportInferenceModel(spec, initialParameters(spec));
  const m = importModel(float);
  const [report] = await runPasses(m, [fuseGelu()]);
  assert.equal(report.changes.length, 2);
  assert.equal(m.nodes('Erf').length, 0);
  assert.equal(m.nodes('Gelu', 'com.microsoft').length, 2);
  assert.equal(report.nodesBefore - report.nodesAfter, 2 * 4);
  const fused = exportModel(m);
  await checkOnnxModel(fused);
  const rng = new Rng(1);
  const x = Float32Array.from({ length: 8 * 16 }, () => 3 * rng.normal());
  const diff = largest(await run(float, 'input', x, [8, 16]), await run(fused, 'input', x, [8, 16]));
  assert.ok(diff < 1e-5, `outputs differ by ${diff}`);
});

test('the Div-by-√2 form is fused too; a pattern whose intermediate is read elsewhere is left alone', async () => {
  const build = (shareErf: boolean) => {
    const m = OnnxModel.empty({ opset: 17 });
    m.addInput('x', 'float32', [6]);
    const c = (name: string, v: number) =>
      m.addInitializer(name, { dtype: 'float32', dims: [], data: Float32Array.of(v) });
    c('root2', Math.SQRT2);
    c('one', 1);
    c('half', 0.5);
    const node = (op: string, inputs: string[], out: string) =>
      m.add([m.createNode(op, inputs, { outputs: [out], name: out })]);
    node('Div', ['x', 'root2'], 'scaled');
    node('Erf', ['scaled'], 'erf');
    node('Add', ['erf', 'one'], 'plus');
    node('Mul', ['x', 'plus'], 'prod');
    node('Mul', ['prod', 'half'], 'y');
    m.addOutput('y', 'float32', [6]);
    if (shareErf) m.addOutput('erf', 'float32', [6]);
    return m;
  };
  const m = build(false);
  const before = exportModel(m);
  await runPasses(m, [fuseGelu()]);
  assert.deepEqual(
    m.nodes().map((n) => n.opType),
    ['Gelu'],
  );
  assert.deepEqual(m.initializerNames(), [], 'the constants only the pattern read are dropped');
  const x = Float32Array.from([-3, -1, -0.5, 0, 0.7, 2.5]);
  const diff = largest(await run(before, 'x', x, [6]), await run(exportModel(m), 'x', x, [6]));
  assert.ok(diff < 1e-6, `outputs differ by ${diff}`);

  const shared = build(true);
  const [report] = await runPasses(shared, [fuseGelu()]);
  assert.deepEqual(report.changes, []);
  assert.equal(shared.nodeCount, 5);
});

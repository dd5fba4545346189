/** Constant folding on small graphs: what folds, what must not, and that outputs do not change. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { checkOnnxModel } from '../../../../../test/helpers/onnx-checker.js';
import type { TensorData } from '../types.js';
import { onnxAttr } from '../edit/attributes.js';
import { exportModel } from '../edit/io.js';
import { OnnxModel } from '../edit/model.js';
import { foldConstants, type ConstantEvaluator } from './fold-constants.js';
import { ortConstantEvaluator } from './ort-evaluator.js';
import { runPasses } from './pass.js';

const runtime = nodeRuntime();
const f32 = (values: number[], dims = [values.length]): TensorData => ({
  dtype: 'float32',
  dims,
  data: Float32Array.from(values),
});
const i64 = (values: number[]): TensorData => ({
  dtype: 'int64',
  dims: [values.length],
  data: BigInt64Array.from(values.map(BigInt)),
});

/** Builds a model (x [3] in, y [3] out by default) from nodes [op, inputs, output, attributes?]. */
function model(
  nodes: [string, string[], string, Record<string, ReturnType<typeof onnxAttr.int>>?][],
  initializers: Record<string, TensorData> = {},
  o: { inputs?: Record<string, number[]>; outputs?: Record<string, number[]> } = {},
): OnnxModel {
  const m = OnnxModel.empty();
  for (const [name, t] of Object.entries(initializers)) m.addInitializer(name, t);
  for (const [name, shape] of Object.entries(o.inputs ?? { x: [3] })) m.addInput(name, 'float32', shape);
  m.add(
    nodes.map(([op, inputs, out, attributes]) =>
      m.createNode(op, inputs, { outputs: [out], name: out, attributes }),
    ),
  );
  for (const [out, shape] of Object.entries(o.outputs ?? { y: [3] })) m.addOutput(out, 'float32', shape);
  m.validate();
  return m;
}

async function run(bytes: Uint8Array, feeds: Record<string, TensorData>): Promise<Float32Array[]> {
  const session = await runtime.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const out = await session.run(
    Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [
        k,
        new runtime.Tensor('float32', t.data as Float32Array, t.dims),
      ]),
    ),
  );
  await session.release();
  return session.outputNames.map((n) => out[n].data as Float32Array);
}

/** Folds `m` and checks the model still computes the same on `feeds`; returns the report. */
async function foldAndCompare(m: OnnxModel, feeds: Record<string, TensorData>, pass = foldConstants()) {
  const before = exportModel(m);
  const [report] = await runPasses(m, [pass], { runtime });
  const after = exportModel(m);
  await checkOnnxModel(after);
  assert.deepEqual(await run(after, feeds), await run(before, feeds));
  return report;
}

test('Constant nodes and what is computed from them alone become initializers', async () => {
  const m = model(
    [
      ['Constant', [], 'ints', { value_ints: onnxAttr.ints([1, 2, 3]) }],
      ['Cast', ['ints'], 'floats', { to: onnxAttr.int(1) }],
      ['Constant', [], 'half', { value_float: onnxAttr.float(0.5) }],
      ['Mul', ['floats', 'half'], 'scaled'],
      ['Unsqueeze', ['scaled', 'axes'], 'row'],
      ['Add', ['x2', 'row'], 'y'],
    ],
    { axes: i64([0]) },
    { inputs: { x2: [2, 3] }, outputs: { y: [2, 3] } },
  );
  const report = await foldAndCompare(m, { x2: f32([1, 2, 3, 4, 5, 6], [2, 3]) });
  assert.deepEqual(
    m.nodes().map((n) => n.opType),
    ['Add'],
  );
  assert.deepEqual(m.initializer('row'), f32([0.5, 1, 1.5], [1, 3]));
  assert.deepEqual(m.initializerNames(), ['row'], 'initializers only the folded nodes read are gone');
  assert.deepEqual(report.changes, [
    "Constant node 'ints' became initializer 'ints'",
    "Constant node 'half' became initializer 'half'",
    "folded Cast node 'floats'",
    "folded Mul node 'scaled'",
    "folded Unsqueeze node 'row' into initializer 'row' (float32 [1, 3])",
    "removed initializer 'ints': only folded nodes read it",
    "removed initializer 'half': only folded nodes read it",
    "removed initializer 'axes': only folded nodes read it",
  ]);
});

test('not folded: an initializer a caller may override, random and quantization ops, graph outputs', async () => {
  const m = model(
    [
      ['Mul', ['w', 'two'], 'w2'],
      ['RandomUniform', [], 'noise', { shape: onnxAttr.ints([3]), seed: onnxAttr.float(1) }],
      ['DequantizeLinear', ['q', 'scale'], 'dq'],
      ['Neg', ['two'], 'minus_two'],
      ['Add', ['x', 'w2'], 'a'],
      ['Mul', ['noise', 'two'], 'noise0'],
      ['Mul', ['noise0', 'zero'], 'zeroed'], // the noise times zero: outputs stay comparable
      ['Add', ['a', 'zeroed'], 'b'],
      ['Add', ['b', 'dq'], 'y'],
    ],
    {
      w: f32([1, 2, 3]),
      two: f32([2], []),
      zero: f32([0], []),
      q: { dtype: 'int8', dims: [3], data: Int8Array.from([1, -2, 3]) },
      scale: f32([0.5], []),
    },
    { inputs: { x: [3], w: [3] }, outputs: { y: [3], minus_two: [] } },
  );
  const nodes = m.nodeCount;
  const report = await foldAndCompare(m, { x: f32([1, 1, 1]) });
  assert.equal(m.nodeCount, nodes);
  assert.deepEqual(report.changes, []);
});

test('maxElements keeps a result that would be a large initializer computed', async () => {
  const build = () =>
    model(
      [
        ['Expand', ['one', 'shape'], 'big'],
        ['Add', ['x', 'big'], 'y'],
      ],
      { one: f32([1], []), shape: i64([1000]) },
      { inputs: { x: [1000] }, outputs: { y: [1000] } },
    );
  const feeds = { x: f32(Array.from({ length: 1000 }, (_, i) => i)) };
  const limited = build();
  const report = await foldAndCompare(limited, feeds, foldConstants({ maxElements: 100 }));
  assert.deepEqual(report.changes, []);
  assert.deepEqual(report.notes, [
    "kept Expand node 'big': 'big' would hold 1000 values (maxElements is 100)",
  ]);
  const unlimited = build();
  await foldAndCompare(unlimited, feeds);
  assert.equal(unlimited.initializer('big')!.data.length, 1000);
});

test('without an evaluator only Constant nodes are folded, and the report says what was left', async () => {
  const m = model([
    ['Constant', [], 'c', { value_floats: onnxAttr.floats([1, 2, 3]) }],
    ['Neg', ['c'], 'n'],
    ['Add', ['x', 'n'], 'y'],
  ]);
  const [report] = await runPasses(m, [foldConstants()]); // no runtime in the context
  assert.deepEqual(report.changes, ["Constant node 'c' became initializer 'c'"]);
  assert.match(report.notes[0], /^1 nodes could be folded, but there is no evaluator/);
  assert.deepEqual(
    m.nodes().map((n) => n.opType),
    ['Neg', 'Add'],
  );
});

test('an evaluator that refuses the batch is asked node by node; what it cannot compute stays', async () => {
  const ort = ortConstantEvaluator(runtime);
  const asked: string[][] = [];
  const picky: ConstantEvaluator = {
    name: 'picky',
    evaluate(r) {
      asked.push(r.nodes.map((n) => n.opType));
      if (r.nodes.length > 1) return Promise.reject(new Error('one at a time'));
      if (r.nodes[0].opType === 'Sin') return Promise.reject(new Error('no Sin here'));
      return ort.evaluate(r);
    },
  };
  const m = model(
    [
      ['Neg', ['c'], 'n'],
      ['Sin', ['c'], 's'],
      ['Abs', ['s'], 'a'],
      ['Add', ['x', 'n'], 'xn'],
      ['Add', ['xn', 'a'], 'y'],
    ],
    { c: f32([1, 2, 3]) },
  );
  const report = await foldAndCompare(m, { x: f32([1, 2, 3]) }, foldConstants({ evaluator: picky }));
  assert.deepEqual(asked, [['Neg', 'Sin', 'Abs'], ['Neg'], ['Sin']]);
  assert.deepEqual(
    m.nodes().map((n) => n.opType),
    ['Sin', 'Abs', 'Add', 'Add'],
  );
  assert.deepEqual(m.initializer('n'), f32([-1, -2, -3]));
  assert.deepEqual(report.notes, [
    'picky could not evaluate the constant nodes together (one at a time); evaluating them one by one',
    "kept Sin node 's': picky could not evaluate it (no Sin here)",
    "kept Abs node 'a': picky did not compute 'a'",
  ]);
});

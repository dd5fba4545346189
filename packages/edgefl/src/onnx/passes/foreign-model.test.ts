/**
 * A model edgefl did not write — built by onnx.helper in Python, with what edgefl never writes:
 * doc strings everywhere, metadata, value_info, a com.microsoft op, an If whose branches read an
 * outer value, a model-local function, three opset imports, an initializer that is also a graph
 * input — goes through import, the passes and export. What the passes did not touch must still be
 * there, the checker must accept the result, and ONNX Runtime must compute the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { equals } from '@bufbuild/protobuf';
import { nodeRuntime } from '@edgefl/node';
import { checkOnnxModel, onnxPython, python } from '../../../../../test/helpers/onnx-checker.js';
import { decodeModel } from '../proto.js';
import { ModelProtoSchema } from '../schema.js';
import { Rng } from '../../util/rng.js';
import { exportModel, importModel } from '../edit/io.js';
import { foldConstants } from './fold-constants.js';
import { runPasses } from './pass.js';
import { pruneUnused } from './prune-unused.js';
import { removeIdentityAndDropout } from './remove-identity.js';

const runtime = nodeRuntime();

const BUILD = `
import base64, sys, numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T

init = lambda a, name: nh.from_array(np.array(a, dtype=np.float32 if name != 'shape13' else np.int64), name)
initializers = [
    init(np.arange(12).reshape(3, 4) / 10, 'W_t'),   # stored transposed: a Transpose to fold
    init([0.5, -0.5, 0.25], 'bias'),                 # also a graph input: overridable, not folded
    init(2.0, 'two'), init([1, 3], 'shape13'), init(1.0, 'one'), init(0.0, 'zero'),
]
branch = lambda op, name, doc: h.make_graph(
    [h.make_node(op, ['act_id', 'one'], [name + '_out'], doc_string=doc)], name, [],
    [h.make_tensor_value_info(name + '_out', T.FLOAT, None)])
add_half = h.make_function('custom.fn', 'AddHalf', ['a'], ['b'],
    [h.make_node('Constant', [], ['half'], value_float=0.5), h.make_node('Add', ['a', 'half'], ['b'])],
    [h.make_opsetid('', 17)])
nodes = [
    h.make_node('Transpose', ['W_t'], ['W'], name='transpose_w', perm=[1, 0]),
    h.make_node('Constant', [], ['c3'], name='const_c3', value=nh.from_array(np.array([1, 2, 3], dtype=np.float32))),
    h.make_node('Mul', ['c3', 'two'], ['c3x2'], name='mul_const'),
    h.make_node('Reshape', ['c3x2', 'shape13'], ['c_row'], name='reshape_const'),
    h.make_node('MatMul', ['X', 'W'], ['xw'], name='matmul', doc_string='x times w'),
    h.make_node('Identity', ['xw'], ['xw_id'], name='identity_mid'),
    h.make_node('Add', ['xw_id', 'bias'], ['xb'], name='add_bias', doc_string='bias has a default'),
    h.make_node('Add', ['xb', 'c_row'], ['xc'], name='add_const'),
    h.make_node('Dropout', ['xc'], ['xd'], name='dropout'),
    h.make_node('Gelu', ['xd'], ['act'], name='gelu', domain='com.microsoft', doc_string='a contrib op'),
    h.make_node('Identity', ['act'], ['act_id'], name='identity_act'),
    h.make_node('ReduceSum', ['X'], ['xs'], name='reduce', keepdims=0),
    h.make_node('Greater', ['xs', 'zero'], ['cond'], name='greater'),
    h.make_node('If', ['cond'], ['branch'], name='if',
                then_branch=branch('Add', 'then', 'then add'), else_branch=branch('Sub', 'else', '')),
    h.make_node('AddHalf', ['branch'], ['halfway'], name='local_function', domain='custom.fn'),
    h.make_node('Identity', ['halfway'], ['Y'], name='identity_out'),
]
graph = h.make_graph(nodes, 'python_graph',
    [h.make_tensor_value_info('X', T.FLOAT, ['N', 4], doc_string='the input'),
     h.make_tensor_value_info('bias', T.FLOAT, [3])],
    [h.make_tensor_value_info('Y', T.FLOAT, ['N', 3], doc_string='the output')],
    initializer=initializers, doc_string='a graph edgefl did not write',
    value_info=[h.make_tensor_value_info('xw', T.FLOAT, ['N', 3], doc_string='product'),
                h.make_tensor_value_info('act', T.FLOAT, ['N', 3])])
m = h.make_model(graph, ir_version=8, producer_name='onnx.helper', producer_version=onnx.__version__,
    doc_string='built in python', functions=[add_half],
    opset_imports=[h.make_opsetid('', 17), h.make_opsetid('com.microsoft', 1), h.make_opsetid('custom.fn', 1)])
h.set_model_props(m, {'author': 'test', 'purpose': 'round trip'})
onnx.checker.check_model(m, full_check=True)
sys.stdout.write(base64.b64encode(m.SerializeToString()).decode())
`;

async function buildInPython(script: string): Promise<Uint8Array> {
  const { stdout } = await promisify(execFile)(python, ['-c', script], { maxBuffer: 1 << 26 });
  return new Uint8Array(Buffer.from(stdout, 'base64'));
}

async function run(bytes: Uint8Array, feeds: Record<string, Float32Array | [Float32Array, number[]]>) {
  const session = await runtime.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => {
      const [data, dims] = Array.isArray(v) ? v : [v, [v.length]];
      return [k, new runtime.Tensor('float32', data, dims)];
    }),
  );
  const out = await session.run(tensors);
  await session.release();
  return out.Y.data as Float32Array;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
}

const original = buildInPython(BUILD);

test('a model onnx.helper wrote, imported and exported without edits, gives back the same bytes', async () => {
  const bytes = await original;
  const written = exportModel(importModel(bytes, 'python.onnx'));
  assert.ok(
    equals(ModelProtoSchema, decodeModel(written) as never, decodeModel(bytes) as never),
    'equal ModelProto',
  );
  assert.deepEqual(written, bytes, 'byte-identical');
});

test('after the passes, what they did not touch is still there, the checker passes, ORT agrees', async () => {
  const bytes = await original;
  const model = importModel(bytes, 'python.onnx');
  const reports = await runPasses(model, [foldConstants(), removeIdentityAndDropout(), pruneUnused()], {
    runtime,
  });
  const [fold, clean, prune] = reports;
  assert.deepEqual(fold.changes.slice(0, 4), [
    "Constant node 'const_c3' became initializer 'c3'",
    "folded Transpose node 'transpose_w' into initializer 'W' (float32 [4, 3])",
    "folded Mul node 'mul_const'",
    "folded Reshape node 'reshape_const' into initializer 'c_row' (float32 [1, 3])",
  ]);
  assert.equal(fold.nodesBefore - fold.nodesAfter, 4);
  assert.deepEqual(clean.changes, [
    "removed Identity node 'identity_mid': its readers read 'xw'",
    "removed Dropout node 'dropout': its readers read 'xc'",
    "removed Identity node 'identity_act': its readers read 'act'",
    "removed Identity node 'identity_out': 'halfway' now is graph output 'Y'",
  ]);
  assert.deepEqual(prune.changes, []);
  assert.ok(!model.isConstant('bias') && model.isInitializer('bias'), 'the overridable bias stays an input');

  const written = exportModel(model);
  await checkOnnxModel(written);
  const seen = JSON.parse(
    await onnxPython(written, [
      'import json',
      'g = m.graph',
      'if_node = [n for n in g.node if n.op_type == "If"][0]',
      'branch = [a.g for a in if_node.attribute if a.name == "then_branch"][0].node[0]',
      'print(json.dumps(dict(',
      '  doc=[m.doc_string, g.doc_string, g.input[0].doc_string, g.output[0].doc_string],',
      '  producer=m.producer_name,',
      '  metadata=sorted([p.key, p.value] for p in m.metadata_props),',
      '  opsets=[[o.domain, o.version] for o in m.opset_import],',
      '  value_info=[[v.name, v.doc_string] for v in g.value_info],',
      '  node_docs={n.name: n.doc_string for n in g.node if n.doc_string},',
      '  ops=[(n.domain + "::" if n.domain else "") + n.op_type for n in g.node],',
      '  functions=[[f.domain, f.name] for f in m.functions],',
      '  branch=[branch.doc_string, list(branch.input)],',
      '  inputs=[i.name for i in g.input],',
      '  initializers=sorted(t.name for t in g.initializer),',
      ')))',
    ]),
  );
  assert.deepEqual(seen, {
    doc: ['built in python', 'a graph edgefl did not write', 'the input', 'the output'],
    producer: 'onnx.helper',
    metadata: [
      ['author', 'test'],
      ['purpose', 'round trip'],
    ],
    opsets: [
      ['', 17],
      ['com.microsoft', 1],
      ['custom.fn', 1],
    ],
    value_info: [
      ['xw', 'product'],
      ['act', ''],
    ],
    node_docs: { matmul: 'x times w', add_bias: 'bias has a default', gelu: 'a contrib op' },
    ops: ['MatMul', 'Add', 'Add', 'com.microsoft::Gelu', 'ReduceSum', 'Greater', 'If', 'custom.fn::AddHalf'],
    functions: [['custom.fn', 'AddHalf']],
    // The If's branch read the removed Identity's output; it now reads the Identity's input.
    branch: ['then add', ['act', 'one']],
    inputs: ['X', 'bias'],
    initializers: ['W', 'bias', 'c_row', 'one', 'zero'],
  });

  const rng = new Rng(11);
  for (const batch of [1, 5]) {
    const X: [Float32Array, number[]] = [
      Float32Array.from({ length: batch * 4 }, () => rng.normal()),
      [batch, 4],
    ];
    assert.ok(maxDifference(await run(bytes, { X }), await run(written, { X })) <= 1e-6);
    // The input with a default value can still be fed, with the same effect.
    const bias = Float32Array.from([1, 2, 3]);
    assert.ok(maxDifference(await run(bytes, { X, bias }), await run(written, { X, bias })) <= 1e-6);
  }
});

/** The editable model's rewrite API, on small hand-made graphs: what it does and what it refuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeModelProto, decodeModel, OnnxFormatError, tensorProto } from '../proto.js';
import { GraphProtoSchema, ModelProtoSchema, type GraphProto, type ModelProto } from '../schema.js';
import type { TensorData } from '../types.js';
import { encodeAttribute, onnxAttr, type OnnxAttribute } from './attributes.js';
import { OnnxRewriteError } from './errors.js';
import { exportModel, importModel } from './io.js';
import { newMessage } from './messages.js';
import type { OnnxModel } from './model.js';

type NodeSpec = [
  name: string,
  op: string,
  inputs: string[],
  outputs: string[],
  attrs?: Record<string, OnnxAttribute>,
];

const info = (name: string) => ({ name, type: { tensorType: { elemType: 1 } } });
const f32 = (values: number[], dims = [values.length]): TensorData => ({
  dtype: 'float32',
  dims,
  data: Float32Array.from(values),
});

function graph(
  nodes: NodeSpec[],
  inputs: string[],
  outputs: string[],
  name = 'g',
  more: { initializers?: Record<string, TensorData>; valueInfo?: string[] } = {},
): GraphProto {
  return newMessage<GraphProto>(GraphProtoSchema, {
    name,
    node: nodes.map(([name, opType, input, output, attrs = {}]) => ({
      name,
      opType,
      input,
      output,
      attribute: Object.entries(attrs).map(([k, a]) => encodeAttribute(k, a)),
    })),
    input: inputs.map(info),
    output: outputs.map(info),
    initializer: Object.entries(more.initializers ?? {}).map(([n, t]) => tensorProto(n, t)),
    valueInfo: (more.valueInfo ?? []).map(info),
  });
}

function build(o: {
  nodes: NodeSpec[];
  inputs?: string[];
  outputs: string[];
  initializers?: Record<string, TensorData>;
  valueInfo?: string[];
}): Uint8Array {
  return encodeModelProto(
    newMessage<ModelProto>(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [{ domain: '', version: 17n }],
      graph: graph(o.nodes, o.inputs ?? ['x'], o.outputs, 'g', o),
    }),
  );
}

/** x -> Relu r -> a; a * w -> Mul m -> b; b -> Identity id -> y. */
function chain(): OnnxModel {
  return importModel(
    build({
      nodes: [
        ['r', 'Relu', ['x'], ['a']],
        ['m', 'Mul', ['a', 'w'], ['b']],
        ['id', 'Identity', ['b'], ['y']],
      ],
      outputs: ['y'],
      initializers: { w: f32([2]) },
      valueInfo: ['a', 'b'],
    }),
    'chain.onnx',
  );
}

const rewriteError = (pattern: RegExp) => (e: unknown) =>
  e instanceof OnnxRewriteError && pattern.test(e.message);

const names = (m: OnnxModel) => m.nodes().map((n) => n.name);

test('import refuses bytes that are not ONNX, naming the source', () => {
  assert.throws(() => importModel(new Uint8Array([1, 2, 3]), 'junk.onnx'), OnnxFormatError);
  assert.throws(() => importModel(new Uint8Array([1, 2, 3]), 'junk.onnx'), /junk\.onnx is not an ONNX model/);
});

test('import refuses a node that reads an undefined value, naming the node and the value', () => {
  const bytes = build({ nodes: [['r', 'Relu', ['nope'], ['y']]], outputs: ['y'] });
  assert.throws(
    () => importModel(bytes, 'bad.onnx'),
    rewriteError(/^bad\.onnx: Relu node 'r' reads input 'nope', which is not defined/),
  );
});

test('import refuses a cycle, naming the nodes and values on it', () => {
  const bytes = build({
    nodes: [
      ['p', 'Add', ['x', 'b'], ['a']],
      ['q', 'Relu', ['a'], ['b']],
    ],
    outputs: ['b'],
  });
  assert.throws(
    () => importModel(bytes),
    rewriteError(/cycle: Add node 'p' reads 'b' from Relu node 'q', which reads 'a' from Add node 'p'/),
  );
});

test('import refuses a value defined twice', () => {
  const bytes = build({
    nodes: [
      ['p', 'Relu', ['x'], ['a']],
      ['q', 'Neg', ['x'], ['a']],
    ],
    outputs: ['a'],
  });
  assert.throws(
    () => importModel(bytes),
    rewriteError(/'a' is defined twice: by Relu node 'p' and by Neg node 'q'/),
  );
});

test('queries: nodes by op, predicates, producers, consumers, constants', () => {
  const m = chain();
  assert.deepEqual(
    m.nodes('Mul').map((n) => n.name),
    ['m'],
  );
  assert.equal(m.find((n) => n.inputs.includes('a'))?.name, 'm');
  assert.deepEqual(
    m.filter((n) => n.opType !== 'Relu').map((n) => n.name),
    ['m', 'id'],
  );
  assert.equal(m.producer('b')?.name, 'm');
  assert.equal(m.producer('x'), undefined);
  assert.deepEqual(
    m.consumers('a').map((n) => n.name),
    ['m'],
  );
  assert.ok(m.isConstant('w') && m.isGraphInput('x') && m.isGraphOutput('y') && !m.isDefined('zz'));
  assert.deepEqual(m.initializer('w'), f32([2]));
});

test('an initializer that is also a graph input is not a constant (a caller may override it)', () => {
  const m = importModel(
    build({
      nodes: [['m', 'Mul', ['x', 'w'], ['y']]],
      inputs: ['x', 'w'],
      outputs: ['y'],
      initializers: { w: f32([2]) },
    }),
  );
  assert.ok(m.isInitializer('w') && m.isGraphInput('w') && !m.isConstant('w'));
});

test('replace puts several nodes in place of one; untouched nodes are written as read', () => {
  const m = chain();
  const before = decodeModel(exportModel(m)).graph!.node;
  const m2 = m.producer('b')!;
  const mul = m.createNode('Mul', ['a', 'w'], { outputs: ['t'] });
  const copy = m.createNode('Identity', ['t'], { outputs: ['b'] });
  m.replace(m2, [mul, copy]);
  assert.deepEqual(names(m), ['r', 'Mul', 'Identity', 'id']);
  assert.equal(m.producer('b'), copy);
  m.validate();
  const after = m.toProto().graph!.node;
  assert.equal(after[0], m.nodes()[0].source, 'the untouched Relu is its own NodeProto');
  assert.equal(after[3], m.nodes()[3].source);
  const written = decodeModel(exportModel(m)).graph!.node;
  assert.deepEqual(written[0], before[0]);
  assert.deepEqual(
    written.map((n) => [n.opType, n.input, n.output]),
    [
      ['Relu', ['x'], ['a']],
      ['Mul', ['a', 'w'], ['t']],
      ['Identity', ['t'], ['b']],
      ['Identity', ['b'], ['y']],
    ],
  );
});

test('replace refuses to leave a read value undefined, and changes nothing when it refuses', () => {
  const m = chain();
  const mul = m.producer('b')!;
  const other = m.createNode('Neg', ['a'], { outputs: ['c'] });
  assert.throws(
    () => m.replace(mul, [other]),
    rewriteError(/Mul node 'm''s output 'b' is still read by Identity node 'id': rewire it/),
  );
  const ghost = m.createNode('Neg', ['ghost'], { outputs: ['b'], name: 'neg_ghost' });
  assert.throws(
    () => m.replace(mul, [ghost]),
    rewriteError(/Neg node 'neg_ghost' reads 'ghost', which is not defined/),
  );
  const selfish = m.createNode('Neg', ['b'], { outputs: ['b2'], name: 'neg_b' });
  assert.throws(
    () => m.replace(mul, [selfish], { rewire: { b: 'b2' } }),
    rewriteError(/Neg node 'neg_b' reads 'b', which is not defined once Mul node 'm' is gone/),
  );
  assert.deepEqual(names(m), ['r', 'm', 'id']);
  m.validate();
  // With a rewire, the readers of 'b' read the replacement's output.
  m.replace(mul, [other], { rewire: { b: 'c' } });
  assert.deepEqual(m.producer('y')!.inputs, ['c']);
  assert.equal(m.valueInfo('b'), undefined, "the recorded type of 'b', which is gone, is dropped");
  m.validate();
});

test('insertAfter and replaceUses put a node between a value and its readers', () => {
  const m = chain();
  const relu = m.producer('a')!;
  const neg = m.createNode('Neg', ['a']);
  m.insertAfter(relu, [neg]);
  assert.equal(m.replaceUses('a', neg.outputs[0], { except: [neg] }), 1);
  assert.deepEqual(names(m), ['r', 'Neg', 'm', 'id']);
  assert.deepEqual(m.producer('b')!.inputs, ['neg', 'w']);
  m.validate();
  const early = m.createNode('Abs', ['x']);
  m.insertBefore(relu, [early]);
  assert.equal(m.indexOf(early), 0);
  assert.throws(
    () => m.insertBefore(relu, [m.createNode('Abs', ['x'], { outputs: ['b'], name: 'dup' })]),
    rewriteError(/Abs node 'dup' produces 'b', which is already defined/),
  );
  assert.throws(() => m.insertAfter(relu, [neg]), rewriteError(/Neg node 'Neg' is already in this model/));
});

test('remove rewires readers; a graph output keeps its name by renaming the value that stands in', () => {
  const m = chain();
  assert.throws(
    () => m.remove(m.producer('b')!),
    rewriteError(/remove: Mul node 'm''s output 'b' is still read by Identity node 'id'/),
  );
  const id = m.producer('y')!;
  assert.throws(
    () => m.remove(id),
    rewriteError(/remove: Identity node 'id''s output 'y' is a graph output: rewire it/),
  );
  assert.throws(
    () => m.remove(id, { rewire: { nothere: 'b' } }),
    rewriteError(/cannot rewire 'nothere': it is not an output of Identity node 'id'/),
  );
  m.remove(id, { rewire: { y: 'b' } });
  assert.deepEqual(names(m), ['r', 'm']);
  assert.deepEqual(m.producer('y')!.name, 'm', "the Mul now produces the graph output 'y'");
  assert.equal(m.isDefined('b'), false);
  assert.equal(m.valueInfo('b'), undefined);
  m.validate();
});

test('remove refuses a rewire that would rename a graph input or another graph output', () => {
  const passThrough = importModel(build({ nodes: [['id', 'Identity', ['x'], ['y']]], outputs: ['y'] }));
  assert.throws(
    () => passThrough.remove(passThrough.nodes()[0], { rewire: { y: 'x' } }),
    rewriteError(
      /Identity node 'id''s output 'y' is a graph output, and 'x' cannot take its name: it is a graph input/,
    ),
  );
  const twoOutputs = importModel(
    build({
      nodes: [
        ['r', 'Relu', ['x'], ['a']],
        ['id', 'Identity', ['a'], ['y']],
      ],
      outputs: ['a', 'y'],
    }),
  );
  assert.throws(
    () => twoOutputs.remove(twoOutputs.producer('y')!, { rewire: { y: 'a' } }),
    rewriteError(/'a' cannot take its name: it is a graph output itself/),
  );
  const twoNames = importModel(
    build({
      nodes: [
        ['r', 'Relu', ['x'], ['a']],
        ['d', 'Dropout', ['a'], ['y', 'mask']],
      ],
      outputs: ['y', 'mask'],
    }),
  );
  assert.throws(
    () => twoNames.remove(twoNames.producer('y')!, { rewire: { y: 'a', mask: 'a' } }),
    rewriteError(
      /output 'mask' is a graph output, and 'a' cannot take its name: it already stands for another graph output/,
    ),
  );
  twoNames.validate();
});

test('a subgraph reading an outer value is one of its consumers, and follows a rewire', () => {
  const thenBranch = graph([['t', 'Add', ['h', 'one'], ['t_out']]], [], ['t_out'], 'then');
  const elseBranch = graph([], [], ['h'], 'else'); // returns the outer value itself
  const m = importModel(
    build({
      nodes: [
        ['r', 'Relu', ['x'], ['a']],
        ['id', 'Identity', ['a'], ['h']],
        ['gt', 'Greater', ['one', 'zero'], ['c']],
        [
          'if',
          'If',
          ['c'],
          ['y'],
          { then_branch: onnxAttr.graph(thenBranch), else_branch: onnxAttr.graph(elseBranch) },
        ],
      ],
      outputs: ['y'],
      initializers: { one: f32([1], []), zero: f32([0], []) },
    }),
  );
  const ifNode = m.producer('y')!;
  assert.deepEqual([...ifNode.implicitInputs].sort(), ['h', 'one']);
  assert.deepEqual(
    m.consumers('h').map((n) => n.name),
    ['if'],
  );
  m.remove(m.producer('h')!, { rewire: { h: 'a' } });
  assert.deepEqual([...ifNode.implicitInputs].sort(), ['a', 'one']);
  const written = decodeModel(exportModel(m)).graph!.node.find((n) => n.opType === 'If')!;
  const [then, otherwise] = written.attribute.map((a) => a.g!);
  assert.deepEqual(then.node[0].input, ['a', 'one']);
  assert.deepEqual(
    otherwise.output.map((o) => o.name),
    ['a'],
  );
  // Names used inside subgraphs are never handed out as fresh ones.
  assert.notEqual(m.freshName('t_out'), 't_out');
});

test('initializers: add, read, replace, and removal only when nothing reads them', () => {
  const m = chain();
  const wProto = m.initializerProto('w');
  assert.throws(
    () => m.addInitializer('w', f32([1])),
    rewriteError(/addInitializer: 'w' is already defined/),
  );
  assert.throws(
    () => m.addInitializer('x', f32([1])),
    rewriteError(/'x' is already defined \(a graph input\)/),
  );
  const data = f32([5, 6]);
  m.addInitializer('extra', data);
  data.data[0] = 99; // the model keeps its own copy
  assert.deepEqual(m.initializer('extra'), f32([5, 6]));
  assert.throws(() => m.removeInitializer('w'), rewriteError(/'w' is still read by Mul node 'm'/));
  m.removeInitializer('extra');
  assert.equal(m.initializer('extra'), undefined);
  assert.equal(m.toProto().graph!.initializer[0], wProto, 'an untouched initializer is written as read');
  m.setInitializer('w', f32([3]));
  assert.deepEqual(importModel(exportModel(m)).initializer('w'), f32([3]));
});

test('rename changes a value everywhere: producer, readers, recorded type', () => {
  const m = chain();
  assert.throws(() => m.rename('b', 'a'), rewriteError(/rename: 'a' is already used/));
  assert.throws(() => m.rename('zz', 'q'), rewriteError(/rename: 'zz' is not defined/));
  m.rename('b', 'product');
  assert.deepEqual(m.producer('product')!.name, 'm');
  assert.deepEqual(m.producer('y')!.inputs, ['product']);
  assert.ok(m.valueInfo('product'));
  m.rename('w', 'weight');
  assert.deepEqual(m.producer('product')!.inputs, ['a', 'weight']);
  m.validate();
});

test('removeUnused drops dead nodes, unread initializers and types of values that are gone', () => {
  const m = importModel(
    build({
      nodes: [
        ['r', 'Relu', ['x'], ['y']],
        ['dead1', 'Neg', ['x'], ['d1']],
        ['dead2', 'Mul', ['d1', 'w'], ['d2']],
      ],
      inputs: ['x', 'opt'],
      outputs: ['y'],
      initializers: { w: f32([1]), unused: f32([1]), opt: f32([1]) },
      valueInfo: ['d1'],
    }),
  );
  const removed = m.removeUnused();
  assert.deepEqual(
    removed.nodes.map((n) => n.name),
    ['dead1', 'dead2'],
  );
  // 'opt' is a graph input with a default value: part of the interface, kept.
  assert.deepEqual(removed.initializers, ['w', 'unused']);
  assert.deepEqual(removed.valueInfos, ['d1']);
  assert.deepEqual(names(m), ['r']);
  m.validate();
});

test('sort puts nodes in a stable topological order; validate names a misplaced node and a cycle', () => {
  const m = chain();
  const abs = m.createNode('Abs', ['x'], { outputs: ['ax'], name: 'abs' });
  const neg = m.createNode('Neg', ['x'], { outputs: ['nx'], name: 'neg' });
  m.add([abs, neg]);
  m.producer('a')!.setInputs(['nx']);
  assert.throws(
    () => m.validate(),
    rewriteError(/Relu node 'r' reads 'nx' before Neg node 'neg' produces it: call sort\(\)/),
  );
  assert.equal(m.sort(), true);
  // Neg moves up just enough; Abs, which nothing needs earlier, keeps its place after the others.
  assert.deepEqual(names(m), ['neg', 'r', 'm', 'id', 'abs']);
  assert.equal(m.sort(), false);
  m.validate();
  neg.setInputs(['b']);
  assert.throws(() => m.validate(), rewriteError(/cycle: /));
  assert.throws(
    () => m.sort(),
    rewriteError(/^sort: the graph has a cycle: .*Neg node 'neg' reads 'b' from Mul node 'm'/),
  );
});

test('validate wants an opset import for every domain a node uses', () => {
  const m = chain();
  const gelu = m.createNode('Gelu', ['b'], { domain: 'com.microsoft', name: 'gelu' });
  m.insertAfter(m.producer('b')!, [gelu]);
  assert.throws(
    () => m.validate(),
    rewriteError(
      /com\.microsoft::Gelu node 'gelu' is in domain 'com\.microsoft', for which the model imports no opset/,
    ),
  );
  m.setOpset('com.microsoft', 1);
  m.validate();
  assert.deepEqual(m.opsets(), [
    { domain: '', version: 17 },
    { domain: 'com.microsoft', version: 1 },
  ]);
});

test('attributes: typed reads, errors naming node and attribute, edits that keep the rest as read', () => {
  const m = importModel(
    build({
      nodes: [
        ['t', 'Transpose', ['x'], ['y'], { perm: onnxAttr.ints([1, 0]), note: onnxAttr.string('kept') }],
      ],
      outputs: ['y'],
    }),
  );
  const t = m.nodes()[0];
  assert.deepEqual(t.ints('perm'), [1, 0]);
  assert.equal(t.int('missing', 7), 7);
  assert.throws(() => t.int('perm'), rewriteError(/Transpose node 't': attribute 'perm' is ints, not int/));
  assert.throws(() => t.float('missing'), rewriteError(/Transpose node 't' has no attribute 'missing'/));
  assert.equal(t.toProto(), t.source, 'reading attributes is not an edit');
  const note = t.source!.attribute[1];
  t.setAttribute('perm', onnxAttr.ints([0, 1]));
  const written = t.toProto();
  assert.notEqual(written, t.source);
  assert.equal(written.attribute[1], note, 'the untouched attribute is its own AttributeProto');
  assert.deepEqual(written.attribute[0].ints, [0n, 1n]);
  assert.equal(t.removeAttribute('note'), true);
  assert.deepEqual(
    t.toProto().attribute.map((a) => a.name),
    ['perm'],
  );
});

test('model fields: metadata, doc strings, producer; setting a field back leaves it as read', () => {
  const m = chain();
  const bytes = exportModel(m);
  m.setMetadata('quantized', 'no');
  m.docString = 'edited';
  m.producerName = 'edgefl-passes';
  m.graphDocString = 'a chain';
  const edited = decodeModel(exportModel(m));
  assert.deepEqual(
    edited.metadataProps.map((e) => [e.key, e.value]),
    [['quantized', 'no']],
  );
  assert.equal(edited.docString, 'edited');
  assert.equal(edited.producerName, 'edgefl-passes');
  assert.equal(edited.graph!.docString, 'a chain');
  assert.equal(m.metadata('quantized'), 'no');
  m.deleteMetadata('quantized');
  m.docString = '';
  m.producerName = '';
  m.graphDocString = '';
  assert.deepEqual(exportModel(m), bytes);
});

test('freshName never repeats a name, in the model or handed out before', () => {
  const m = chain();
  assert.equal(m.freshName('a'), 'a_1');
  assert.equal(m.freshName('a'), 'a_2');
  assert.equal(m.freshName('q'), 'q');
  assert.equal(m.freshName('q'), 'q_3');
});

test('a node belongs to one model at a time', () => {
  const one = chain();
  const two = chain();
  assert.throws(() => two.add([one.nodes()[0]]), rewriteError(/Relu node 'r' is already in another model/));
});

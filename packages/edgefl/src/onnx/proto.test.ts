import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeModel, encodeModelProto, OnnxFormatError } from './proto.js';
import { exportInferenceModel } from '../model/export.js';
import { initialParameters } from '../model/build.js';
import { dense, relu, sequential } from '../model/layers.js';
import { onnxPython } from '../../../../test/helpers/onnx-checker.js';

const spec = sequential([dense(4), relu(), dense(2)], { inputShape: [3], seed: 1, name: 'tiny' });
const bytes = exportInferenceModel(spec, initialParameters(spec), { labels: ['a', 'b'] });

/** A length-delimited field, as a protobuf writer lays it out. */
function field(number: number, write: (w: BinaryWriter) => void): Uint8Array {
  const inner = new BinaryWriter();
  write(inner);
  return new BinaryWriter().tag(number, WireType.LengthDelimited).bytes(inner.finish()).finish();
}

test('an exported model reads back with its IR version, opsets, metadata, initializers and shapes', async () => {
  const m = decodeModel(bytes);
  assert.equal(m.irVersion, 8n);
  assert.deepEqual(
    m.opsetImport.map((o) => [o.domain, o.version]),
    [['', 17n]],
  );
  assert.equal(m.producerName, 'edgefl');
  assert.ok(m.metadataProps.some((p) => p.key === 'edgefl.labels'));
  assert.deepEqual(
    m.graph!.initializer.map((t) => t.dims),
    // Dense weights are [out, in] (Gemm with transB).
    [[4n, 3n], [4n], [2n, 4n], [2n]],
  );
  assert.deepEqual(
    m.graph!.input[0].type!.tensorType!.shape!.dim.map((d) => d.dimParam || d.dimValue),
    ['batch', 3n],
  );
  // The official ONNX package reads the same.
  const seen = await onnxPython(bytes, [
    'print(m.ir_version, [(o.domain, o.version) for o in m.opset_import], [list(t.dims) for t in m.graph.initializer])',
  ]);
  assert.equal(seen.trim(), "8 [('', 17)] [[4, 3], [4], [2, 4], [2]]");
});

test('fields edgefl does not describe survive a read and a write: a function library, a quantization annotation', async () => {
  // ModelProto.functions (25): one FunctionProto { name (1), domain (10) }. And a second occurrence
  // of ModelProto.graph (7), which a protobuf reader merges into the first: it adds
  // GraphProto.quantization_annotation (14), one TensorAnnotation { tensor_name (1) }.
  const fn = field(25, (w) =>
    w.tag(1, WireType.LengthDelimited).string('swish').tag(10, WireType.LengthDelimited).string('custom.fn'),
  );
  const annotation = field(14, (w) => w.tag(1, WireType.LengthDelimited).string('input'));
  const graphPart = field(7, (w) => w.raw(annotation));
  const read = decodeModel(new Uint8Array([...bytes, ...fn, ...graphPart]));
  const nodes = read.graph!.node.length;
  const written = encodeModelProto(read);
  const out = await onnxPython(written, [
    'print(m.functions[0].name, m.functions[0].domain, m.graph.quantization_annotation[0].tensor_name, len(m.graph.node))',
  ]);
  assert.equal(out.trim(), `swish custom.fn input ${nodes}`);
  // And a model without them writes back to the same bytes.
  assert.deepEqual(encodeModelProto(decodeModel(bytes)), bytes);
});

test('bytes that are not a model are refused, naming the source', () => {
  assert.throws(() => decodeModel(new Uint8Array([0x0a, 0xff]), 'cut.onnx'), OnnxFormatError);
  assert.throws(() => decodeModel(new Uint8Array(0), 'empty.onnx'), /empty\.onnx is not an ONNX model/);
});

test('a model read from a Node Buffer at an odd offset gives the same initializers as from its own bytes', async () => {
  const { importModel } = await import('./edit/io.js');
  // A Buffer whose bytes start at an odd offset of a larger allocation, as a pooled file read can:
  // a raw float tensor inside it is not 4-byte aligned, and Buffer's slice() is a view, not a copy.
  const pool = Buffer.alloc(bytes.length + 1);
  pool.set(bytes, 1);
  const odd = pool.subarray(1);
  const fromBuffer = importModel(odd);
  const fromBytes = importModel(bytes);
  for (const name of fromBytes.initializerNames())
    assert.deepEqual(fromBuffer.initializer(name)!.data, fromBytes.initializer(name)!.data, name);
});

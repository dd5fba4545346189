/** What a round trip through the editable model keeps: exactly the message, and when the bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { equals, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeModel } from '../proto.js';
import { ModelProtoSchema, NodeProtoSchema } from '../schema.js';
import { exportInferenceModel } from '../../model/export.js';
import { initialParameters } from '../../model/build.js';
import { dense, relu, sequential } from '../../model/layers.js';
import { onnxAttr } from './attributes.js';
import { exportModel, importModel } from './io.js';

const spec = sequential([dense(4), relu(), dense(2)], { inputShape: [3], seed: 1, name: 'tiny' });
const bytes = exportInferenceModel(spec, initialParameters(spec));

function field(number: number, write: (w: BinaryWriter) => void): Uint8Array {
  const inner = new BinaryWriter();
  write(inner);
  return new BinaryWriter().tag(number, WireType.LengthDelimited).bytes(inner.finish()).finish();
}

test('bytes not in canonical field order come back as an equal message, not the same bytes', () => {
  // A second occurrence of ModelProto.graph, which a reader merges into the first, holding a field
  // edgefl does not describe (quantization_annotation, 14) and one it does (metadata_props, 16).
  // Written back, the known field comes first and the unknown one last: same message, new bytes.
  const annotation = field(14, (w) => w.tag(1, WireType.LengthDelimited).string('input'));
  const meta = field(16, (w) =>
    w.tag(1, WireType.LengthDelimited).string('k').tag(2, WireType.LengthDelimited).string('v'),
  );
  const odd = new Uint8Array([...bytes, ...field(7, (w) => w.raw(annotation).raw(meta))]);
  const written = exportModel(importModel(odd));
  assert.ok(equals(ModelProtoSchema, decodeModel(written) as never, decodeModel(odd) as never));
  assert.notDeepEqual(written, odd);
  // Protobuf writers put fields in number order, unknown ones last: what edgefl itself writes.
  assert.deepEqual(written, toBinary(ModelProtoSchema, decodeModel(odd) as never));
});

test('an edit rewrites the node it touches; every other node is written as it was read', () => {
  const model = importModel(bytes);
  const gemm = model.nodes('Gemm')[0];
  gemm.setAttribute('alpha', onnxAttr.float(1));
  const before = decodeModel(bytes).graph!.node;
  const after = decodeModel(exportModel(model)).graph!.node;
  assert.equal(after.length, before.length);
  after.forEach((n, i) => {
    const same = equals(NodeProtoSchema, n as never, before[i] as never);
    assert.equal(same, n.name !== gemm.name, n.name);
  });
  const alpha = after.find((n) => n.name === gemm.name)!.attribute.find((a) => a.name === 'alpha')!;
  assert.equal(alpha.f, 1);
});

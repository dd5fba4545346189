/**
 * Graph <-> ONNX protobuf bytes (schema.ts describes the messages; @bufbuild/protobuf encodes them).
 * Models are written at IR version 8, which covers opset 17.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Graph, Value } from './graph.js';
import type { Attribute, DType, Dim, TensorArray, TensorData } from './types.js';
import { onnxTypeCode } from './ops.js';
import {
  ATTRIBUTE_TYPE,
  ModelProtoSchema,
  type AttributeProto,
  type Init,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
} from './schema.js';

export type {
  ModelProto,
  GraphProto,
  NodeProto,
  TensorProto,
  AttributeProto,
  ValueInfoProto,
} from './schema.js';

export const DEFAULT_OPSET = 17;
export const IR_VERSION = 8;

export interface ModelOptions {
  opset?: number;
  /** Extra operator domains, e.g. { 'com.microsoft': 1 }. */
  domains?: Record<string, number>;
  docString?: string;
  /** Free-form key/value metadata (labels, input normalization, edgefl version...). */
  metadata?: Record<string, string>;
  producerVersion?: string;
}

const dtypeByCode = new Map<number, DType>(
  (['float32', 'uint8', 'int8', 'int32', 'int64', 'bool', 'float16', 'float64'] as DType[]).map((d) => [
    onnxTypeCode(d),
    d,
  ]),
);

function valueInfo(v: Value): Init<ValueInfoProto> {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: onnxTypeCode(v.dtype),
        shape: v.shape
          ? {
              dim: v.shape.map((d: Dim) =>
                typeof d === 'number' ? { dimValue: BigInt(d) } : { dimParam: d },
              ),
            }
          : undefined,
      },
    },
  };
}

export function tensorProto(name: string, t: TensorData): Init<TensorProto> {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.dims.map(BigInt), dataType: onnxTypeCode(t.dtype), rawData: bytes };
}

function attributeProto(name: string, a: Attribute): Init<AttributeProto> {
  const T = ATTRIBUTE_TYPE;
  switch (a.type) {
    case 'int':
      return { name, type: T.INT, i: BigInt(a.value) };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'ints':
      return { name, type: T.INTS, ints: a.value.map(BigInt) };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto('', a.value) };
  }
}

export function toModelProto(graph: Graph, options: ModelOptions = {}): ModelProto {
  const opsetImport = [{ domain: '', version: BigInt(options.opset ?? DEFAULT_OPSET) }];
  for (const [domain, version] of Object.entries(options.domains ?? {}))
    opsetImport.push({ domain, version: BigInt(version) });
  const init: Init<ModelProto> = {
    irVersion: BigInt(IR_VERSION),
    producerName: 'edgefl',
    producerVersion: options.producerVersion ?? '0.1.0',
    docString: options.docString ?? '',
    opsetImport,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        domain: n.domain,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs).map(([k, a]) => attributeProto(k, a)),
      })),
      initializer: [...graph.initializers].map(([name, t]) => tensorProto(name, t)),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  return create(ModelProtoSchema, init as never) as unknown as ModelProto;
}

/** Serializes a graph (after pruning nodes that no output needs). */
export function encodeModel(graph: Graph, options: ModelOptions = {}): Uint8Array {
  graph.prune();
  return toBinary(ModelProtoSchema, toModelProto(graph, options) as never);
}

/**
 * Serializes a model message as it stands — one read with decodeModel, perhaps changed — with the
 * fields edgefl does not describe written back as they were read.
 */
export function encodeModelProto(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model as never);
}

export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

/** Parses bytes as an ONNX model, with an error that says plainly when they are not one. */
export function decodeModel(bytes: Uint8Array, source = 'input'): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes) as unknown as ModelProto;
  } catch (e) {
    throw new OnnxFormatError(
      `${source} is not an ONNX model: protobuf decoding failed (${(e as Error).message})`,
    );
  }
  if (!model.graph || !model.irVersion || model.opsetImport.length === 0)
    throw new OnnxFormatError(
      `${source} is not an ONNX model: it has no ${!model.graph ? 'graph' : !model.irVersion ? 'IR version' : 'opset import'}`,
    );
  return model;
}

export function tensorFromProto(t: TensorProto): TensorData {
  const dtype = dtypeByCode.get(t.dataType ?? 0);
  if (!dtype) throw new OnnxFormatError(`tensor '${t.name}' has unsupported data type ${t.dataType}`);
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: TensorArray;
  if (t.rawData && t.rawData.length) {
    // An aligned copy. Uint8Array's slice, not the object's own: a Node Buffer's slice is a view
    // sharing the (unaligned, pooled) memory of the file read.
    const raw = Uint8Array.prototype.slice.call(t.rawData);
    const buf = raw.buffer;
    data =
      dtype === 'float32'
        ? new Float32Array(buf)
        : dtype === 'float64'
          ? new Float64Array(buf)
          : dtype === 'int64'
            ? new BigInt64Array(buf)
            : dtype === 'int32'
              ? new Int32Array(buf)
              : dtype === 'float16'
                ? new Uint16Array(buf)
                : dtype === 'int8'
                  ? new Int8Array(buf)
                  : new Uint8Array(buf);
  } else if (dtype === 'float32') data = Float32Array.from(t.floatData ?? []);
  else if (dtype === 'int64') data = BigInt64Array.from(t.int64Data ?? []);
  else if (dtype === 'float64') data = Float64Array.from(t.doubleData ?? []);
  // onnx.proto keeps int8, uint8, bool and float16 (as bits) in int32_data, one value per entry.
  else if (dtype === 'int8') data = Int8Array.from(t.int32Data ?? []);
  else if (dtype === 'uint8' || dtype === 'bool') data = Uint8Array.from(t.int32Data ?? []);
  else if (dtype === 'float16') data = Uint16Array.from(t.int32Data ?? []);
  else data = Int32Array.from(t.int32Data ?? []);
  if (data.length !== count)
    throw new OnnxFormatError(`tensor '${t.name}' has ${data.length} values for dims [${dims}]`);
  return { dtype, dims, data };
}

/**
 * The ONNX model format's protobuf messages, as far as edgefl reads and writes them, described for
 * @bufbuild/protobuf (a protobuf runtime without code generation at run time, so it runs under a
 * browser's strict content security policy, and without install scripts).
 *
 * The messages, field names and numbers are those of the ONNX specification (onnx.proto). Only the
 * fields edgefl uses are described: the rest — function libraries, training information, non-tensor
 * types, newer fields — are kept as unknown fields when a model is read, and written back
 * unchanged, so a model passes through edgefl without losing what edgefl does not understand. int64
 * fields are bigints, bytes are Uint8Arrays.
 */
import { create, createFileRegistry, type DescMessage } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
} from '@bufbuild/protobuf/wkt';

type FieldSpec = [name: string, number: number, type: Type, message?: string];
type MessageSpec = { name: string; optional?: FieldSpec[]; repeated?: FieldSpec[]; nested?: MessageSpec[] };

const { STRING, INT64, INT32, FLOAT, DOUBLE, BYTES, UINT64, MESSAGE } = Type;

/** onnx.proto's messages (proto2: every singular field optional, repeated numbers unpacked unless noted). */
const MESSAGES: MessageSpec[] = [
  {
    name: 'ModelProto',
    optional: [
      ['ir_version', 1, INT64],
      ['producer_name', 2, STRING],
      ['producer_version', 3, STRING],
      ['domain', 4, STRING],
      ['model_version', 5, INT64],
      ['doc_string', 6, STRING],
      ['graph', 7, MESSAGE, 'GraphProto'],
    ],
    repeated: [
      ['opset_import', 8, MESSAGE, 'OperatorSetIdProto'],
      ['metadata_props', 14, MESSAGE, 'StringStringEntryProto'],
    ],
  },
  {
    name: 'OperatorSetIdProto',
    optional: [
      ['domain', 1, STRING],
      ['version', 2, INT64],
    ],
  },
  {
    name: 'StringStringEntryProto',
    optional: [
      ['key', 1, STRING],
      ['value', 2, STRING],
    ],
  },
  {
    name: 'GraphProto',
    optional: [
      ['name', 2, STRING],
      ['doc_string', 10, STRING],
    ],
    repeated: [
      ['node', 1, MESSAGE, 'NodeProto'],
      ['initializer', 5, MESSAGE, 'TensorProto'],
      ['input', 11, MESSAGE, 'ValueInfoProto'],
      ['output', 12, MESSAGE, 'ValueInfoProto'],
      ['value_info', 13, MESSAGE, 'ValueInfoProto'],
      // Described so that the values sparse initializers define are known when a graph is checked.
      ['sparse_initializer', 15, MESSAGE, 'SparseTensorProto'],
      ['metadata_props', 16, MESSAGE, 'StringStringEntryProto'],
    ],
  },
  {
    name: 'SparseTensorProto',
    optional: [
      ['values', 1, MESSAGE, 'TensorProto'],
      ['indices', 2, MESSAGE, 'TensorProto'],
    ],
    repeated: [['dims', 3, INT64]],
  },
  {
    name: 'NodeProto',
    optional: [
      ['name', 3, STRING],
      ['op_type', 4, STRING],
      ['doc_string', 6, STRING],
      ['domain', 7, STRING],
      ['overload', 8, STRING],
    ],
    repeated: [
      ['input', 1, STRING],
      ['output', 2, STRING],
      ['attribute', 5, MESSAGE, 'AttributeProto'],
      ['metadata_props', 9, MESSAGE, 'StringStringEntryProto'],
    ],
  },
  {
    name: 'AttributeProto',
    optional: [
      ['name', 1, STRING],
      ['f', 2, FLOAT],
      ['i', 3, INT64],
      ['s', 4, BYTES],
      ['t', 5, MESSAGE, 'TensorProto'],
      ['g', 6, MESSAGE, 'GraphProto'],
      ['doc_string', 13, STRING],
      // An enum in onnx.proto (AttributeType); the same varint on the wire.
      ['type', 20, INT32],
      ['ref_attr_name', 21, STRING],
    ],
    repeated: [
      ['floats', 7, FLOAT],
      ['ints', 8, INT64],
      ['strings', 9, BYTES],
      ['tensors', 10, MESSAGE, 'TensorProto'],
      ['graphs', 11, MESSAGE, 'GraphProto'],
    ],
  },
  {
    name: 'ValueInfoProto',
    optional: [
      ['name', 1, STRING],
      ['type', 2, MESSAGE, 'TypeProto'],
      ['doc_string', 3, STRING],
    ],
    repeated: [['metadata_props', 4, MESSAGE, 'StringStringEntryProto']],
  },
  {
    name: 'TypeProto',
    optional: [
      ['tensor_type', 1, MESSAGE, 'TypeProto.Tensor'],
      ['denotation', 6, STRING],
    ],
    nested: [
      {
        name: 'Tensor',
        optional: [
          ['elem_type', 1, INT32],
          ['shape', 2, MESSAGE, 'TensorShapeProto'],
        ],
      },
    ],
  },
  {
    name: 'TensorShapeProto',
    repeated: [['dim', 1, MESSAGE, 'TensorShapeProto.Dimension']],
    nested: [
      {
        name: 'Dimension',
        optional: [
          ['dim_value', 1, INT64],
          ['dim_param', 2, STRING],
          ['denotation', 3, STRING],
        ],
      },
    ],
  },
  {
    name: 'TensorProto',
    optional: [
      ['data_type', 2, INT32],
      ['name', 8, STRING],
      ['raw_data', 9, BYTES],
      ['doc_string', 12, STRING],
      // An enum in onnx.proto (DataLocation: 0 default, 1 external).
      ['data_location', 14, INT32],
    ],
    repeated: [
      ['dims', 1, INT64],
      ['float_data', 4, FLOAT],
      ['int32_data', 5, INT32],
      ['string_data', 6, BYTES],
      ['int64_data', 7, INT64],
      ['double_data', 10, DOUBLE],
      ['uint64_data', 11, UINT64],
      ['external_data', 13, MESSAGE, 'StringStringEntryProto'],
      ['metadata_props', 16, MESSAGE, 'StringStringEntryProto'],
    ],
  },
];

/** onnx.proto declares these repeated numbers packed; the rest are unpacked (proto2's default). */
const PACKED = new Set([
  'TensorProto.float_data',
  'TensorProto.int32_data',
  'TensorProto.int64_data',
  'TensorProto.double_data',
  'TensorProto.uint64_data',
]);

function descriptor(m: MessageSpec, scope: string): object {
  const path = scope ? `${scope}.${m.name}` : m.name;
  const field =
    (label: Label) =>
    ([name, number, type, message]: FieldSpec) => ({
      name,
      number,
      label,
      type,
      ...(message ? { typeName: `.onnx.${message}` } : {}),
      ...(PACKED.has(`${path}.${name}`) ? { options: { packed: true } } : {}),
    });
  return {
    name: m.name,
    field: [
      ...(m.optional ?? []).map(field(Label.OPTIONAL)),
      ...(m.repeated ?? []).map(field(Label.REPEATED)),
    ],
    nestedType: (m.nested ?? []).map((n) => descriptor(n, path)),
  };
}

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'onnx.proto',
    package: 'onnx',
    syntax: 'proto2',
    messageType: MESSAGES.map((m) => descriptor(m, '')),
  }),
  () => undefined,
);

function message(name: string): DescMessage {
  const d = registry.getMessage(`onnx.${name}`);
  if (!d) throw new Error(`the ONNX schema has no message ${name}`);
  return d;
}

export const ModelProtoSchema = message('ModelProto');
export const GraphProtoSchema = message('GraphProto');
export const NodeProtoSchema = message('NodeProto');
export const AttributeProtoSchema = message('AttributeProto');
export const TensorProtoSchema = message('TensorProto');
export const ValueInfoProtoSchema = message('ValueInfoProto');
export const StringStringEntryProtoSchema = message('StringStringEntryProto');
export const OperatorSetIdProtoSchema = message('OperatorSetIdProto');

// The messages as TypeScript sees them after decoding (protobuf-es's plain objects).

type Scalar = string | number | bigint | boolean | Uint8Array;
/** What a message is built from: any of its fields, nested alike (absent ones take their defaults). */
export type Init<T> = T extends Scalar
  ? T
  : T extends (infer U)[]
    ? Init<U>[]
    : { [K in keyof T]?: Init<T[K]> };

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface OperatorSetIdProto {
  domain: string;
  version: bigint;
}

export interface TensorProto {
  dims: bigint[];
  dataType: number;
  name: string;
  rawData: Uint8Array;
  docString: string;
  dataLocation: number;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: bigint[];
  doubleData: number[];
  uint64Data: bigint[];
  externalData: StringStringEntryProto[];
}

export interface SparseTensorProto {
  values?: TensorProto;
  indices?: TensorProto;
  dims: bigint[];
}

export interface TensorShapeDimension {
  dimValue: bigint;
  dimParam: string;
}

export interface TypeProto {
  tensorType?: { elemType: number; shape?: { dim: TensorShapeDimension[] } };
  denotation: string;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  docString: string;
}

export interface AttributeProto {
  name: string;
  refAttrName: string;
  docString: string;
  type: number;
  f: number;
  i: bigint;
  s: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: bigint[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
}

export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
  docString: string;
  metadataProps: StringStringEntryProto[];
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  sparseInitializer: SparseTensorProto[];
  docString: string;
}

export interface ModelProto {
  irVersion: bigint;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: bigint;
  docString: string;
  graph?: GraphProto;
  opsetImport: OperatorSetIdProto[];
  metadataProps: StringStringEntryProto[];
}

/** AttributeProto.AttributeType values (onnx.proto's AttributeType enum). */
export const ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

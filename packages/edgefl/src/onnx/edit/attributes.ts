/**
 * Node attributes as passes read and write them: decoded to plain values (numbers, strings,
 * TensorData), with subgraphs kept as their GraphProto messages, and anything edgefl cannot
 * represent (sparse tensors, type protos, references to a function's attributes, tensors of data
 * types edgefl has no array for) kept as the AttributeProto that was read, so it is written back
 * unchanged.
 */
import { attr as baseAttr, type Attribute, type TensorData } from '../types.js';
import { OnnxFormatError, tensorFromProto, tensorProto } from '../proto.js';
import {
  ATTRIBUTE_TYPE as T,
  AttributeProtoSchema,
  type AttributeProto,
  type GraphProto,
  type Init,
  type TensorProto,
} from '../schema.js';
import { newMessage, withFields } from './messages.js';

export type OnnxAttribute =
  | Attribute
  | { type: 'strings'; value: readonly string[] }
  | { type: 'tensors'; value: readonly TensorData[] }
  | { type: 'graph'; value: GraphProto }
  | { type: 'graphs'; value: readonly GraphProto[] }
  /** An attribute edgefl does not decode, kept as read. */
  | { type: 'proto'; value: AttributeProto };

/** Builders for every attribute kind (types.ts's `attr`, plus the kinds only read models have). */
export const onnxAttr = {
  ...baseAttr,
  strings: (value: readonly string[]): OnnxAttribute => ({ type: 'strings', value: [...value] }),
  tensors: (value: readonly TensorData[]): OnnxAttribute => ({ type: 'tensors', value: [...value] }),
  graph: (value: GraphProto): OnnxAttribute => ({ type: 'graph', value }),
  graphs: (value: readonly GraphProto[]): OnnxAttribute => ({ type: 'graphs', value: [...value] }),
};

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * An int64 attribute value from a JS number. Numbers beyond 2^53 are inexact, and the only ones
 * models use are the int64 limits as "to the end" sentinels (Slice's ends): a number that rounds
 * past a limit is that limit, instead of a value protobuf cannot write.
 */
function int64(v: number): bigint {
  const b = BigInt(v);
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}

function decodeTensor(t: TensorProto): TensorData | undefined {
  if (t.dataLocation === 1) return undefined; // external data: kept as read
  try {
    return tensorFromProto(t);
  } catch (e) {
    if (e instanceof OnnxFormatError) return undefined; // a data type edgefl has no array for
    throw e;
  }
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** The attribute as a plain value, or the proto itself when edgefl cannot represent it. */
export function decodeAttribute(a: AttributeProto): OnnxAttribute {
  const kept: OnnxAttribute = { type: 'proto', value: a };
  // A reference to an attribute of an enclosing function has no value of its own.
  if (a.refAttrName) return kept;
  switch (a.type) {
    case T.INT:
      return { type: 'int', value: Number(a.i) };
    case T.FLOAT:
      return { type: 'float', value: a.f };
    case T.STRING:
      return { type: 'string', value: utf8.decode(a.s) };
    case T.INTS:
      return { type: 'ints', value: a.ints.map(Number) };
    case T.FLOATS:
      return { type: 'floats', value: [...a.floats] };
    case T.STRINGS:
      return { type: 'strings', value: a.strings.map((s) => utf8.decode(s)) };
    case T.TENSOR: {
      const value = a.t && decodeTensor(a.t);
      return value ? { type: 'tensor', value } : kept;
    }
    case T.TENSORS: {
      const value = a.tensors.map(decodeTensor);
      return value.every((v) => v !== undefined) ? { type: 'tensors', value: value as TensorData[] } : kept;
    }
    case T.GRAPH:
      return a.g ? { type: 'graph', value: a.g } : kept;
    case T.GRAPHS:
      return { type: 'graphs', value: a.graphs };
    default:
      return kept;
  }
}

function fields(a: OnnxAttribute): Init<AttributeProto> {
  switch (a.type) {
    case 'int':
      return { type: T.INT, i: int64(a.value) };
    case 'float':
      return { type: T.FLOAT, f: a.value };
    case 'string':
      return { type: T.STRING, s: encoder.encode(a.value) };
    case 'ints':
      return { type: T.INTS, ints: a.value.map(int64) };
    case 'floats':
      return { type: T.FLOATS, floats: [...a.value] };
    case 'strings':
      return { type: T.STRINGS, strings: a.value.map((s) => encoder.encode(s)) };
    case 'tensor':
      return { type: T.TENSOR, t: tensorProto('', a.value) };
    case 'tensors':
      return { type: T.TENSORS, tensors: a.value.map((t) => tensorProto('', t)) };
    case 'graph':
      return { type: T.GRAPH, g: a.value as Init<GraphProto> };
    case 'graphs':
      return { type: T.GRAPHS, graphs: a.value as Init<GraphProto>[] };
    case 'proto':
      throw new Error('unreachable: kept attributes are copied, not encoded');
  }
}

export function encodeAttribute(name: string, a: OnnxAttribute): AttributeProto {
  if (a.type === 'proto') return a.value.name === name ? a.value : withFields(a.value, { name });
  return newMessage<AttributeProto>(AttributeProtoSchema, { name, ...fields(a) });
}

/** The subgraphs an attribute holds (If's branches, Loop's and Scan's bodies). */
export function attributeGraphs(a: OnnxAttribute): readonly GraphProto[] {
  if (a.type === 'graph') return [a.value];
  if (a.type === 'graphs') return a.value;
  if (a.type === 'proto') return [...(a.value.g ? [a.value.g] : []), ...a.value.graphs];
  return [];
}

/**
 * Initializers as the editable model holds them: TensorProto messages, decoded to TensorData only
 * when a pass asks (a model's weights are most of its bytes; most passes never look at most of
 * them, and an untouched one is written back as the message that was read).
 */
import { tensorFromProto, tensorProto } from '../proto.js';
import { TensorProtoSchema, type TensorProto } from '../schema.js';
import type { TensorData } from '../types.js';
import { OnnxRewriteError } from './errors.js';
import { newMessage, withFields } from './messages.js';

/** Tensor data for an initializer, or a TensorProto to take as it is (any data type, doc string...). */
export type InitializerData = TensorData | TensorProto;

function isTensorData(t: InitializerData): t is TensorData {
  return 'dtype' in t && 'data' in t;
}

/**
 * The message to store under `name`. TensorData is copied: the caller may go on changing its array
 * without changing the model behind the model's back.
 */
export function initializerMessage(name: string, t: InitializerData): TensorProto {
  if (!isTensorData(t)) return t.name === name ? t : withFields(t, { name });
  const copy: TensorData = { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() };
  return newMessage<TensorProto>(TensorProtoSchema, tensorProto(name, copy));
}

/** The tensor's values (a copy; change an initializer with setInitializer). */
export function decodeInitializer(t: TensorProto): TensorData {
  if (t.dataLocation === 1) {
    const file = t.externalData.find((e) => e.key === 'location')?.value ?? '?';
    throw new OnnxRewriteError(
      `initializer '${t.name}' keeps its data in an external file ('${file}'); edgefl reads tensors stored in the model only`,
    );
  }
  return tensorFromProto(t);
}

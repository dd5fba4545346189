/** ONNX bytes in and out of the editable model. */
import { decodeModel, encodeModelProto } from '../proto.js';
import { OnnxModel } from './model.js';

/**
 * Reads any ONNX model for editing. Refuses, naming what is wrong, bytes that are not ONNX and a
 * graph with values read but never defined, defined twice, or computed in a cycle.
 */
export function importModel(bytes: Uint8Array, source = 'model'): OnnxModel {
  return OnnxModel.fromProto(decodeModel(bytes, source), source);
}

/**
 * The model as ONNX bytes, after checking it (validate()). What no edit touched is written as it
 * was read: a model imported and exported without edits gives back the bytes read, unless they
 * were not in the canonical field order protobuf writers use (then the same message, re-encoded).
 */
export function exportModel(model: OnnxModel): Uint8Array {
  model.validate();
  return encodeModelProto(model.toProto());
}

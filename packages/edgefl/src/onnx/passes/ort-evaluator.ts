/**
 * A ConstantEvaluator on ONNX Runtime: the constant nodes become a model with no inputs, run once.
 * The runtime is the one the caller injects (onnxruntime-node or -web), so the core loads none.
 */
import type { OrtRuntime, OrtTensor } from '../../runtime/ort.js';
import { encodeModelProto } from '../proto.js';
import { ModelProtoSchema, type ModelProto } from '../schema.js';
import type { DType, TensorArray, TensorData } from '../types.js';
import { newMessage } from '../edit/messages.js';
import type { ConstantEvaluation, ConstantEvaluator } from './fold-constants.js';

type ArrayType = abstract new (...args: never[]) => TensorArray;

/** ONNX Runtime's tensor types that TensorData holds, and the arrays it holds them in. */
const ARRAYS: Readonly<Record<string, [DType, ArrayType]>> = {
  float32: ['float32', Float32Array],
  float64: ['float64', Float64Array],
  int64: ['int64', BigInt64Array],
  int32: ['int32', Int32Array],
  int8: ['int8', Int8Array],
  uint8: ['uint8', Uint8Array],
  bool: ['bool', Uint8Array],
  // float16 comes as its bits (a Uint16Array) where the platform has no Float16Array.
  float16: ['float16', Uint16Array],
};

/** The tensor as TensorData (a copy: the session's buffers are released), if TensorData holds it. */
function tensorData(t: OrtTensor): TensorData | undefined {
  const kind = Object.hasOwn(ARRAYS, t.type) ? ARRAYS[t.type] : undefined;
  const data = t.data as unknown;
  if (!kind || !(data instanceof kind[1])) return undefined;
  return { dtype: kind[0], dims: [...t.dims], data: data.slice() };
}

export function ortConstantEvaluator(runtime: OrtRuntime): ConstantEvaluator {
  return {
    name: runtime.name,
    async evaluate(r: ConstantEvaluation): Promise<ReadonlyMap<string, TensorData>> {
      const model = newMessage<ModelProto>(ModelProtoSchema, {
        irVersion: BigInt(r.irVersion),
        producerName: 'edgefl constant folding',
        opsetImport: [{ domain: '', version: BigInt(r.opset) }],
        graph: {
          name: 'constants',
          node: r.nodes as never,
          initializer: r.constants as never,
          output: r.outputs.map((name) => ({ name })),
        },
      });
      const session = await runtime.InferenceSession.create(encodeModelProto(model), {
        ...runtime.defaultSessionOptions,
        // Each node as written: no fusions between them that could round differently.
        graphOptimizationLevel: 'disabled',
        logSeverityLevel: 3,
      });
      try {
        const results = await session.run({});
        const values = new Map<string, TensorData>();
        for (const name of r.outputs) {
          const t = results[name] && tensorData(results[name]);
          if (t) values.set(name, t);
        }
        return values;
      } finally {
        await session.release();
      }
    },
  };
}

/** Node adapter: onnxruntime-node, native and multithreaded. */
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-common';
import type { OrtRuntime } from './ort.js';
import { directSessionFactory } from './node-direct.js';

export interface NodeRuntimeOptions extends InferenceSession.SessionOptions {
  /**
   * Let ONNX Runtime's pool threads spin while waiting for work (its own default). Faster on an
   * otherwise idle machine; on a busy one spinning threads steal the cores the work needs, so
   * edgefl turns it off unless asked (or EDGEFL_ORT_SPIN=1).
   */
  spinning?: boolean;
}

export function nodeRuntime(runtimeOptions: NodeRuntimeOptions = {}): OrtRuntime {
  const { spinning, ...options } = runtimeOptions;
  const threads = options.intraOpNumThreads ?? Number(process.env.EDGEFL_THREADS ?? 1);
  // ONNX Runtime's pool threads spin while waiting for work by default: on a machine with as many
  // cores as threads and anything else running, spinning threads steal the cores the work needs.
  const spin = spinning === undefined ? (process.env.EDGEFL_ORT_SPIN ?? '0') : spinning ? '1' : '0';
  return {
    name: 'onnxruntime-node',
    Tensor: ort.Tensor,
    // The native binding directly (see node-direct.ts), or the public API if it is not available.
    InferenceSession: process.env.EDGEFL_ORT_PUBLIC_API ? ort.InferenceSession : directFactory(),
    supportsPreallocatedOutputs: true,
    defaultSessionOptions: {
      // One intra-op thread by default: on small machines two threads gave the same median step
      // time with far longer tails (see BENCHMARKS.md); callers can raise it.
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...(threads > 1 ? { extra: { session: { intra_op: { allow_spinning: spin } } } } : {}),
      ...options,
    },
  };
}

let cachedFactory: OrtRuntime['InferenceSession'] | undefined;
function directFactory(): OrtRuntime['InferenceSession'] {
  if (!cachedFactory) {
    const create = directSessionFactory(ort.Tensor);
    cachedFactory = create ? { create } : ort.InferenceSession;
  }
  return cachedFactory;
}

/** Node adapter: onnxruntime-node, native and multithreaded. */
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-common';
import { setDefaultRuntime, type OrtRuntime } from './ort.js';
import { directSessionFactory } from './node-direct.js';

export function nodeRuntime(options: InferenceSession.SessionOptions = {}): OrtRuntime {
  return {
    name: 'onnxruntime-node',
    Tensor: ort.Tensor,
    // The native binding directly (see node-direct.ts), or the public API if it is not available.
    InferenceSession: process.env.EDGEFL_ORT_PUBLIC_API ? ort.InferenceSession : directFactory(),
    supportsPreallocatedOutputs: true,
    defaultSessionOptions: {
      // One intra-op thread by default: on small machines two threads gave the same median step
      // time with far longer tails (see BENCHMARKS.md); callers can raise it.
      intraOpNumThreads: Number(process.env.EDGEFL_THREADS ?? 1),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...options,
    },
  };
}

/** Registers onnxruntime-node as the default runtime (done by the package's Node entry point). */
export function useOnnxruntimeNode(options?: InferenceSession.SessionOptions): OrtRuntime {
  const rt = nodeRuntime(options);
  setDefaultRuntime(rt);
  return rt;
}

let cachedFactory: OrtRuntime['InferenceSession'] | undefined;
function directFactory(): OrtRuntime['InferenceSession'] {
  if (!cachedFactory) {
    const create = directSessionFactory(ort.Tensor);
    cachedFactory = create ? { create } : ort.InferenceSession;
  }
  return cachedFactory;
}

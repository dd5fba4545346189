/**
 * The slice of the ONNX Runtime JavaScript API that edgefl uses. onnxruntime-node and
 * onnxruntime-web both implement it (they share onnxruntime-common), so the trainer is written once
 * against this interface and an adapter hands it the runtime of the platform.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';

export type OrtTensor = Tensor;
export type OrtSession = InferenceSession;

export interface OrtRuntime {
  readonly name: 'onnxruntime-node' | 'onnxruntime-web' | string;
  readonly Tensor: typeof Tensor;
  readonly InferenceSession: {
    create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  /**
   * Whether session.run honours preallocated output tensors passed as `fetches`. onnxruntime-web
   * silently ignores them for CPU tensors (upstream issue #25786), so the trainer must not rely on
   * them there.
   */
  readonly supportsPreallocatedOutputs: boolean;
  /** Default session options for this platform (threads, optimization level). */
  readonly defaultSessionOptions: InferenceSession.SessionOptions;
}

/**
 * The runtime a caller passed, or an error that says what to pass. There is no process-wide
 * default: two trainings in one process (two simulations, a library beside an application) must
 * not share a runtime by accident, so whatever opens a session is handed one.
 */
export function requireRuntime(runtime: OrtRuntime | undefined, where: string): OrtRuntime {
  if (typeof runtime?.InferenceSession?.create !== 'function' || typeof runtime.Tensor !== 'function')
    throw new Error(
      `${where}: no ONNX Runtime given: pass { runtime: nodeRuntime() } from '@edgefl/node', or webRuntime(ort) from 'edgefl/web'`,
    );
  return runtime;
}

/**
 * `values` itself, or a copy of it when it lies in shared memory: onnxruntime-node refuses a tensor
 * over a SharedArrayBuffer ("Invalid argument"), and worker threads hold models and datasets in
 * them. Whatever a caller hands in to be fed passes through here where its tensor is made.
 */
export function unshared<A extends Float32Array | Int32Array>(values: A): A {
  return typeof SharedArrayBuffer !== 'undefined' && values.buffer instanceof SharedArrayBuffer
    ? (values.slice() as A)
    : values;
}

/**
 * ONNX Runtime in Node, chosen by what the application installed: the native, multithreaded
 * `onnxruntime-node` when it is there (an optional peer dependency: its install script downloads
 * GPU libraries unless told not to, so edgefl never pulls it in by itself), otherwise the
 * WebAssembly build of `onnxruntime-web` (a dependency of this package), which trains in Node on the
 * same graphs — slower, and within floating-point rounding of the native results.
 */
import { createRequire } from 'node:module';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { OrtRuntime } from 'edgefl';
import { webRuntime, type OnnxruntimeWebModule } from 'edgefl/web';
import { directSessionFactory } from './node-direct.js';

/** Which ONNX Runtime build runs the graphs: native onnxruntime-node, or WebAssembly. */
export type NodeBackend = 'native' | 'wasm';

export interface NodeRuntimeOptions extends InferenceSession.SessionOptions {
  /**
   * 'auto' (the default): native when onnxruntime-node is installed, else WebAssembly. The
   * environment variable EDGEFL_ORT=native|wasm overrides 'auto'. 'native' fails, naming the
   * install command, when onnxruntime-node is missing.
   */
  backend?: NodeBackend | 'auto';
  /**
   * Let ONNX Runtime's pool threads spin while waiting for work (its own default). Faster on an
   * otherwise idle machine; on a busy one spinning threads steal the cores the work needs, so
   * edgefl turns it off unless asked (or EDGEFL_ORT_SPIN=1). Native only.
   */
  spinning?: boolean;
}

/** The one line that adds the native back-end to a project, without its GPU download. */
export const NATIVE_INSTALL_HINT =
  'echo "onnxruntime-node-install=skip" >> .npmrc && npm install onnxruntime-node';

interface OrtModule {
  readonly Tensor: typeof Tensor;
  readonly InferenceSession: OrtRuntime['InferenceSession'];
}

const require = createRequire(import.meta.url);

/** onnxruntime-node if it is installed and loads here, else the reason it does not. */
function loadNative(): OrtModule | Error {
  try {
    return require('onnxruntime-node') as OrtModule;
  } catch (e) {
    return e as Error;
  }
}

/** Whether the native back-end is installed and loads in this process. */
export function nativeRuntimeAvailable(): boolean {
  return !(loadNative() instanceof Error);
}

/** The back-end `nodeRuntime({ backend: asked })` runs on here. */
export function nodeBackend(asked: NodeBackend | 'auto' = 'auto'): NodeBackend {
  const fromEnv = process.env.EDGEFL_ORT || 'auto';
  if (fromEnv !== 'native' && fromEnv !== 'wasm' && fromEnv !== 'auto')
    throw new Error(`EDGEFL_ORT must be native, wasm or auto, got '${fromEnv}'`);
  const want = asked !== 'auto' ? asked : fromEnv;
  if (want !== 'auto') return want;
  return nativeRuntimeAvailable() ? 'native' : 'wasm';
}

/** The back-end of a runtime this module made (undefined for any other runtime). */
export function backendOf(runtime: OrtRuntime): NodeBackend | undefined {
  return runtime.name === 'onnxruntime-node'
    ? 'native'
    : runtime.name === 'onnxruntime-web'
      ? 'wasm'
      : undefined;
}

/** One line for reports: which build runs, and how to get the native one when it is not that. */
export function describeRuntime(runtime: OrtRuntime): string {
  const backend = backendOf(runtime);
  if (backend === 'native') return 'onnxruntime-node (native)';
  if (backend !== 'wasm') return runtime.name;
  if (nativeRuntimeAvailable()) return 'onnxruntime-web (WebAssembly, as asked)';
  return `onnxruntime-web (WebAssembly: onnxruntime-node is not installed; for native speed: ${NATIVE_INSTALL_HINT})`;
}

/**
 * The Node runtime: see `backend`. Its `name` says which was chosen ('onnxruntime-node' or
 * 'onnxruntime-web'), for reports.
 */
export function nodeRuntime(options: NodeRuntimeOptions = {}): OrtRuntime {
  const { backend, ...rest } = options;
  return nodeBackend(backend) === 'native' ? nativeRuntime(rest) : wasmRuntime(rest);
}

/** onnxruntime-node: native and multithreaded. Throws, naming the install line, when it is missing. */
export function nativeRuntime(runtimeOptions: Omit<NodeRuntimeOptions, 'backend'> = {}): OrtRuntime {
  const ort = loadNative();
  if (ort instanceof Error)
    throw new Error(
      `the native ONNX Runtime (onnxruntime-node) is not installed or does not load here (${ort.message.split('\n')[0]}); add it with: ${NATIVE_INSTALL_HINT}`,
    );
  const { spinning, ...options } = runtimeOptions;
  const threads = options.intraOpNumThreads ?? Number(process.env.EDGEFL_THREADS ?? 1);
  // ONNX Runtime's pool threads spin while waiting for work by default: on a machine with as many
  // cores as threads and anything else running, spinning threads steal the cores the work needs.
  const spin = spinning === undefined ? (process.env.EDGEFL_ORT_SPIN ?? '0') : spinning ? '1' : '0';
  return {
    name: 'onnxruntime-node',
    Tensor: ort.Tensor,
    // The native binding directly (see node-direct.ts), or the public API if it is not available.
    InferenceSession: process.env.EDGEFL_ORT_PUBLIC_API ? ort.InferenceSession : directFactory(ort),
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

/**
 * onnxruntime-web's WebAssembly build, in Node (its package's Node entry runs the same .wasm as a
 * browser). One thread, as in a browser page that is not cross-origin isolated.
 */
export function wasmRuntime(options: Omit<NodeRuntimeOptions, 'backend' | 'spinning'> = {}): OrtRuntime {
  const ort = require('onnxruntime-web') as OnnxruntimeWebModule;
  const { intraOpNumThreads, ...sessionOptions } = options;
  return webRuntime(ort, {
    numThreads: intraOpNumThreads ?? 1,
    sessionOptions: { ...sessionOptions, executionProviders: ['wasm'] },
  });
}

let cachedFactory: OrtRuntime['InferenceSession'] | undefined;
function directFactory(ort: OrtModule): OrtRuntime['InferenceSession'] {
  if (!cachedFactory) {
    const create = directSessionFactory(ort.Tensor);
    cachedFactory = create ? { create } : ort.InferenceSession;
  }
  return cachedFactory;
}

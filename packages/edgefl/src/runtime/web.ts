/**
 * Browser adapter: onnxruntime-web on its WebAssembly (CPU) execution provider.
 *
 * The caller passes in the onnxruntime-web module object (`import * as ort from 'onnxruntime-web'`,
 * or the lighter `'onnxruntime-web/wasm'`), so the isomorphic core never imports onnxruntime-web
 * itself: Node builds do not pull it in, and the application's bundler decides which build of it
 * (and which .wasm file) ships.
 */
import type { Env, InferenceSession, Tensor } from 'onnxruntime-common';
import type { OrtRuntime } from './ort.js';

/** What the adapter needs from an onnxruntime-web module object. */
export interface OnnxruntimeWebModule {
  readonly Tensor: typeof Tensor;
  readonly InferenceSession: OrtRuntime['InferenceSession'];
  readonly env: Env;
}

export interface WebRuntimeOptions {
  /**
   * Where onnxruntime-web fetches its `.wasm` (and `.mjs`) files: a URL prefix ending in `/`, or
   * one URL per file. Needed when a bundler moves onnxruntime-web away from its files.
   */
  wasmPaths?: Env.WasmPrefixOrFilePaths;
  /**
   * WebAssembly threads. Default: 1 unless the page is cross-origin isolated, in which case
   * onnxruntime-web's own default applies (half the logical cores, at most 4). Threads need
   * SharedArrayBuffer, which browsers only grant to cross-origin isolated pages; and for the small
   * models trained on devices one thread gave the same median step time as two, with far shorter
   * tails (DESIGN.md, "Known pitfalls").
   */
  numThreads?: number;
  /** Overrides of the session options every Trainer session starts from. */
  sessionOptions?: InferenceSession.SessionOptions;
}

/**
 * An OrtRuntime over onnxruntime-web. The WebAssembly flags it sets are global to the module and
 * read once, when the first session is created — so call this before creating any session.
 */
export function webRuntime(ort: OnnxruntimeWebModule, options: WebRuntimeOptions = {}): OrtRuntime {
  const wasm = ort.env.wasm;
  if (wasm.proxy)
    // In proxy mode onnxruntime-web transfers every input's ArrayBuffer to its worker, detaching
    // it. The Trainer feeds views of its flat parameter arrays, so the first step would detach the
    // whole model. Running the Trainer itself in a Web Worker keeps the page responsive instead.
    throw new Error(
      'onnxruntime-web: env.wasm.proxy must be false for edgefl (proxy mode detaches the buffers of input tensors, which are views of the model parameters); to keep the page responsive, run the Trainer in a Web Worker instead',
    );
  if (options.wasmPaths !== undefined) wasm.wasmPaths = options.wasmPaths;
  if (options.numThreads !== undefined) {
    if (!Number.isInteger(options.numThreads) || options.numThreads < 1)
      throw new Error(`webRuntime: numThreads must be a positive integer, got ${options.numThreads}`);
    wasm.numThreads = options.numThreads;
  } else if (!wasm.numThreads && !isCrossOriginIsolated()) {
    // Unset (0 or undefined) means "let onnxruntime-web decide"; a value the application set on
    // ort.env itself is kept.
    wasm.numThreads = 1;
  }
  return {
    name: 'onnxruntime-web',
    Tensor: ort.Tensor,
    InferenceSession: ort.InferenceSession,
    // onnxruntime-web hands back its own output tensors and leaves preallocated CPU `fetches`
    // untouched (upstream issue #25786): the Trainer must copy the outputs it is given.
    supportsPreallocatedOutputs: false,
    defaultSessionOptions: {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...options.sessionOptions,
    },
  };
}

function isCrossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * What a federated run needs from the platform it runs on, handed in as one object instead of
 * process globals or guessing at run time: ONNX Runtime (native in Node, WebAssembly in a
 * browser), secure aggregation's cryptography (node:crypto, or portable JavaScript), and the
 * back-end of the server's weighted sums (WebAssembly SIMD by default, or @edgefl/node's two-thread
 * sum). `nodePlatform()` from '@edgefl/node' and `webPlatform(ort)` from 'edgefl/web' build one; a
 * test or an unusual platform can assemble its own.
 */
import type { OrtRuntime } from './runtime/ort.js';
import type { SecAggCrypto } from './privacy/secagg/crypto-suite.js';
import type { SumBackendFactory } from './tensor/weighted-sum.js';

export interface Platform {
  /** e.g. 'node', 'web'. */
  readonly name: string;
  readonly runtime: OrtRuntime;
  readonly secaggCrypto: SecAggCrypto;
  /** Absent: WebAssembly SIMD where available, else plain loops. */
  readonly sumBackend?: SumBackendFactory;
}

/**
 * The Node platform (a Node adapter): onnxruntime-node, node:crypto for secure aggregation, and
 * the default sum back-end unless one is given (edgefl/node's `parallelSumBackend`).
 */
import type { Platform } from './platform.js';
import { nodeRuntime, type NodeRuntimeOptions } from './runtime/node.js';
import { nodeSecAggCrypto } from './privacy/secagg/crypto-node.js';
import type { SumBackendFactory } from './tensor/weighted-sum.js';

export interface NodePlatformOptions {
  /** ONNX Runtime session options (threads...). */
  runtime?: NodeRuntimeOptions;
  sumBackend?: SumBackendFactory;
}

export function nodePlatform(options: NodePlatformOptions = {}): Platform {
  return {
    name: 'node',
    runtime: nodeRuntime(options.runtime),
    secaggCrypto: nodeSecAggCrypto(),
    ...(options.sumBackend ? { sumBackend: options.sumBackend } : {}),
  };
}

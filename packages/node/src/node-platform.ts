/**
 * The Node platform (a Node adapter): onnxruntime-node, node:crypto for secure aggregation, and
 * the default sum back-end unless one is given (@edgefl/node's `parallelSumBackend`).
 */
import type { Platform } from 'edgefl';
import { nodeRuntime, type NodeRuntimeOptions } from './runtime/node.js';
import { nodeSecAggCrypto } from './privacy/secagg/crypto-node.js';
import type { SumBackendFactory } from 'edgefl/internal/tensor/weighted-sum';

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

/**
 * edgefl's browser entry ('edgefl/web'): the onnxruntime-web adapter and the browser platform —
 * onnxruntime-web (the module object the application imports, so its bundler decides which build
 * ships) and the portable secure-aggregation cryptography. Nothing here is Node-only.
 */
import type { Platform } from './platform.js';
import { portableSecAggCrypto } from './privacy/secagg/crypto-suite.js';
import { webRuntime, type OnnxruntimeWebModule, type WebRuntimeOptions } from './runtime/web.js';

export * from './runtime/web.js';
export type { Platform } from './platform.js';

export function webPlatform(ort: OnnxruntimeWebModule, options?: WebRuntimeOptions): Platform {
  return { name: 'web', runtime: webRuntime(ort, options), secaggCrypto: portableSecAggCrypto() };
}

/**
 * Secure aggregation (SecAgg, Bonawitz et al. 2017; SecAgg+, Bell et al. 2020): the server learns only
 * the sum of the surviving clients' quantized updates. See docs/secagg.md.
 */
export { SecAggClient, type SecAggClientOptions } from './client.js';
export { SecAggServer, type SecAggResult, type SecAggServerOptions } from './server.js';
export {
  runSecAggInProcess,
  runSecAggInProcessSync,
  type DropoutSchedule,
  type InProcessOptions,
  type InProcessReport,
  type InProcessStage,
} from './in-process.js';
export {
  secureSum,
  secureSumSync,
  secureSumBits,
  EXACT_SUM_LIMIT,
  type SecureSumOptions,
  type SecureSumResult,
} from './secure-sum.js';
export { createSecAggParams, validateParams, type SecAggOptions, type SecAggParams } from './params.js';
export { RoundTopology } from './topology.js';
export {
  planNeighbourhood,
  majorityThreshold,
  NeighbourGraph,
  type NeighbourhoodPlan,
  type PlanOptions,
} from './neighbours.js';
export {
  checkQuantization,
  dequantizeSum,
  maxBitsFor,
  quantizationStep,
  quantizeInto,
  sumErrorBound,
  type Quantization,
  type Rounding,
} from './quantize.js';
export { encodeMessage, decodeMessage } from './codec.js';
export type * from './messages.js';
export {
  SecAggError,
  SecAggAbortError,
  SecAggRefusalError,
  type SecAggErrorCode,
  type SecAggStage,
} from './errors.js';
export { portableSecAggCrypto, type SecAggCrypto } from './crypto-suite.js';
export { PRG_ALGORITHMS, keystreamWords, type MaskPrg, type PrgAlgorithm, type WordStream } from './prg.js';
export { portableMaskPrg } from './prg-portable.js';
export { portableKeyAgreement, type KeyAgreement, type KeyPair } from './key-agreement.js';
export { splitSecret, combineShares, SHAMIR_PRIME, type Share } from './shamir.js';

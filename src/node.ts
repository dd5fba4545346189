/** edgefl's Node adapters: onnxruntime-node, file-system datasets and run folders. */
export { nodeRuntime, type NodeRuntimeOptions } from './runtime/node.js';
export * from './data/node/index.js';
export {
  saveTrainedModel,
  loadTrainedModel,
  loadModelSpecFile,
  type TrainedModelInfo,
} from './io/node/trained-model.js';
export { writeFileAtomic } from './io/node/files.js';
export { nodePlatform, type NodePlatformOptions } from './node-platform.js';
export type { Platform } from './platform.js';
export { claimRunFolder, RUN_FILES, type ClaimOptions, type RunKind } from './io/node/run-folder.js';
export { WorkerPool, type WorkerPoolOptions } from './sim/pool.js';
export { checkpointFile, metricsFiles } from './io/node/run-files.js';
export { runCurves } from './report/node/run-curves.js';
export { parallelSumBackend, type ParallelSumBackend } from './tensor/node/parallel-sum.js';
export { joinRound, lateJoinAvailability, type LateJoiners } from './sim/availability.js';
export {
  runSimulation,
  type SimulationConfig,
  type SimulationData,
  type SimulationResult,
} from './sim/simulate.js';
export { runSecAggInWorkers, SecAggClientThreads } from './privacy/secagg/node/in-workers.js';

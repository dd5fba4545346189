/**
 * @edgefl/node — edgefl's Node adapters: ONNX Runtime in Node (native onnxruntime-node when
 * installed, else onnxruntime-web's WebAssembly build), node:crypto for secure aggregation, worker
 * threads (the simulation's pool, the parallel sum), and files (IDX datasets, run folders,
 * checkpoints, metrics). No data packages and no chart renderer: those are the CLI's.
 */
export {
  nodeRuntime,
  nativeRuntime,
  wasmRuntime,
  nodeBackend,
  nativeRuntimeAvailable,
  describeRuntime,
  backendOf,
  NATIVE_INSTALL_HINT,
  type NodeBackend,
  type NodeRuntimeOptions,
} from './runtime/node.js';
export {
  decisionCost,
  tensorMemory,
  type DecisionCost,
  type DecisionCostOptions,
  type DecisionMemory,
  type TensorMemory,
  type PlainTensor,
} from './runtime/decision-cost.js';
export * from './data/index.js';
export {
  saveTrainedModel,
  loadTrainedModel,
  loadModelSpecFile,
  type TrainedModelInfo,
} from './io/trained-model.js';
export { writeFileAtomic, readInputFile } from './io/files.js';
export { readTeacherFile } from './io/teacher-file.js';
export { nodePlatform, type NodePlatformOptions } from './node-platform.js';
export type { Platform } from 'edgefl';
export { claimRunFolder, RUN_FILES, type ClaimOptions, type RunKind } from './io/run-folder.js';
export { WorkerPool, type WorkerPoolOptions } from './sim/pool.js';
export { checkpointFile, metricsFiles, CHECKPOINT_FILE } from './io/run-files.js';
export { parallelSumBackend, type ParallelSumBackend } from './tensor/parallel-sum.js';
export { joinRound, lateJoinAvailability, type LateJoiners } from './sim/availability.js';
export {
  runSimulation,
  refuseUncoveredLocalDp,
  type SimulationConfig,
  type SimulationData,
  type SimulationResult,
  type SimulationCharts,
  type SimulationRunOptions,
  roundLine,
} from './sim/simulate.js';
export {
  engineSettingsOf,
  fitConfigOf,
  evaluatedRound,
  centralEvaluation,
} from './federation/engine-settings.js';
export { readBytes } from './io/files.js';
export { nodeSha256 } from './io/sha256.js';
export { nodeSecAggCrypto } from './privacy/secagg/crypto-node.js';
export { runSecAggInWorkers, SecAggClientThreads } from './privacy/secagg/in-workers.js';
export * from './federation/settings.js';
export { strategyStack, type StrategyStack } from './federation/strategy-stack.js';
export { checkResumable } from './federation/resume.js';
export {
  optimizedGraph,
  opTypeCounts,
  checkFusion,
  FUSED_INTEGER_OPS,
  type FusionCheck,
  type OptimizedGraphOptions,
} from './quantize/optimized-graph.js';

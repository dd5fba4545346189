/**
 * edgefl — the isomorphic core (runs in Node and in browsers). Node-only adapters are in
 * '@edgefl/node' (nodeRuntime: onnxruntime-node); the browser adapter for onnxruntime-web is
 * webRuntime from 'edgefl/web'. Whatever opens an ONNX Runtime session is given one of them.
 */
export * from './model/layers.js';
export { buildModel, initialParameters, validateSpec } from './model/build.js';
export { builtInModel, builtInModels } from './model/zoo.js';
export { exportInferenceModel, EXPORT_INPUT, EXPORT_LOGITS, EXPORT_PROBABILITIES } from './model/export.js';
export {
  sgd,
  adam,
  adamw,
  type OptimizerConfig,
  type SgdConfig,
  type AdamConfig,
} from './autodiff/optimizers.js';
export type { LossName } from './autodiff/losses.js';
export {
  compileTrainingGraph,
  compileEvaluationGraph,
  type CompiledGraph,
  type TrainingGraphOptions,
} from './autodiff/training-graph.js';
export { gradients } from './autodiff/gradients.js';
export {
  Trainer,
  TrainingDivergedError,
  type TrainerOptions,
  type FitOptions,
  type FitResult,
  type FitProgress,
  type EvaluateResult,
} from './runtime/trainer.js';
export type { OrtRuntime } from './runtime/ort.js';
export { ParameterSet, type ParameterEntry } from './tensor/parameters.js';
export { encodeParameters, decodeParameters, WireFormatError } from './tensor/wire.js';
export { Graph, Value, GraphError } from './onnx/graph.js';
export * as ops from './onnx/ops.js';
export {
  encodeModel,
  decodeModel,
  encodeModelProto,
  OnnxFormatError,
  type ModelProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type AttributeProto,
  type ValueInfoProto,
} from './onnx/proto.js';
export * from './data/index.js';
export { Rng } from './util/rng.js';
export * from './privacy/dp/accountant.js';
export * from './compress/index.js';
export * from './fl/strategy.js';
export * from './fl/strategies/index.js';
export { checkUpdate, RoundAborted, UpdateRejected } from './fl/update-check.js';
export {
  RoundEngine,
  clientSeed,
  type RoundEngineOptions,
  type RoundReport,
  type EvaluationResult,
} from './fl/engine.js';
export type { FitExecutor, FitOutcome, FitTask, EvaluateTask, EvaluateOutcome } from './fl/executor.js';
export type { FederatedEvaluationOptions, FederatedEvaluationResult } from './fl/federated-evaluation.js';
export { LocalExecutor } from './federation/local-executor.js';
export {
  fitClient,
  evaluateClient,
  transformUpdate,
  type ClientState,
  type ClientFit,
  type ClientFitResult,
  type ClientEnvironment,
  type ClientRoundSession,
} from './federation/client-pipeline.js';
export { uploadBytes, type Upload } from './fl/upload.js';
export type { StageMessage, StageReply } from './fl/executor.js';
export * from './fl/executors/index.js';
export { runFederated, ResumeError } from './fl/run.js';
export type {
  CheckpointStore,
  RoundSubscriber,
  RunStartInfo,
  FederatedRunOptions,
  FederatedRunResult,
} from './fl/run.js';
export type { RoundRecord } from './fl/round-record.js';
export type { Platform } from './platform.js';
export { encodeCheckpoint, decodeCheckpoint, CheckpointError, type Checkpoint } from './fl/checkpoint.js';
export type { Sha256 } from './util/checked-file.js';
export * as secagg from './privacy/secagg/index.js';
export * as attack from './privacy/attack/index.js';
export {
  withSecureAggregation,
  SecureAggregationStrategy,
  type SecureAggregationOptions,
  type SecureAggregationRoundStats,
} from './privacy/secure-aggregation.js';
export {
  withDifferentialPrivacy,
  type DifferentialPrivacyOptions,
  type DpRoundStats,
} from './privacy/differential-privacy.js';
export { importModel, exportModel } from './onnx/edit/io.js';
export {
  OnnxModel,
  type CreateNodeOptions,
  type RemoveOptions,
  type UnusedRemoved,
} from './onnx/edit/model.js';
export { OnnxNode, type NodeInit } from './onnx/edit/node.js';
export { onnxAttr, type OnnxAttribute } from './onnx/edit/attributes.js';
export { OnnxRewriteError } from './onnx/edit/errors.js';
export type { InitializerData } from './onnx/edit/tensors.js';
export {
  runPasses,
  type OnnxPass,
  type PassContext,
  type PassOutcome,
  type PassReport,
} from './onnx/passes/pass.js';
export {
  foldConstants,
  NEVER_FOLDED,
  type ConstantEvaluator,
  type ConstantEvaluation,
  type FoldOptions,
} from './onnx/passes/fold-constants.js';
export { ortConstantEvaluator } from './onnx/passes/ort-evaluator.js';
export { removeIdentityAndDropout } from './onnx/passes/remove-identity.js';
export { pruneUnused } from './onnx/passes/prune-unused.js';
export { fuseGelu } from './onnx/passes/fuse-gelu.js';
export { inferenceCleanup } from './onnx/passes/inference-cleanup.js';
export { QuantizationError } from './quantize/errors.js';
export {
  calibrate,
  tensorsToCalibrate,
  type Calibration,
  type CalibrationMethod,
  type CalibrateOptions,
  type TensorRange,
} from './quantize/calibrate.js';
export type { CalibrationBatch, CalibrationBatches } from './quantize/calibration-batches.js';
export { MagnitudeHistogram, percentileThreshold, entropyThreshold } from './quantize/histogram.js';
export { findTargets, QUANTIZABLE_OPS, type QuantizableNode, type Targets } from './quantize/targets.js';
export { quantizeStaticInt8, type StaticInt8Options } from './quantize/static-int8.js';
export {
  prepareQuantizationAwareTraining,
  quantizationAwareFineTune,
  quantizeTrained,
  type TrainableModel,
  type QuantizationAwareOptions,
  type QuantizationAwarePlan,
  type FakeQuantizedLayer,
  type QuantizationAwareFineTuneOptions,
  type QuantizationAwareFineTuneResult,
} from './quantize/qat.js';
export type { QuantizationReport, QuantizedNodeReport, QuantizedModel } from './quantize/report.js';
export { quantizeDynamicInt8, type DynamicInt8Options } from './quantize/dynamic-int8.js';
export { quantizeWeightOnlyInt4, type WeightOnlyInt4Options } from './quantize/weight-only-int4.js';
export { quantizeInt4Blocks, dequantizeInt4Blocks, type Int4Blocks } from './quantize/int4-block.js';
export {
  measureLatency,
  randomFeeds,
  percentile,
  LatencyError,
  type LatencyOptions,
  type LatencyResult,
} from './optimize/latency.js';
export {
  benchModel,
  classifierAccuracy,
  BENCH_SETTINGS,
  type BenchSetting,
  type ModelBenchOptions,
  type ModelBenchRow,
} from './optimize/model-bench.js';
export { guardedQuantize, type GuardOptions, type GuardedModel, type KeptFloat } from './quantize/guards.js';
export {
  readEdgeflModel,
  writeEdgeflModel,
  edgeflSpecOf,
  refreshEdgeflSpec,
  SPEC_METADATA,
  EdgeflModelError,
  type EdgeflModel,
} from './model/edgefl-onnx.js';
export * from './prune/index.js';
export * from './distill/index.js';
export * from './metrics/binary.js';

/**
 * A federated simulation (Node): the shared federated run (fl/run.ts) over virtual clients that
 * are index lists into one dataset, trained in a pool of worker threads. This file only assembles
 * the parts — settings, partition, strategy stack, pool, evaluation, the run folder's writers — and
 * exports the final model; the round loop, resume and stopping rules are the run's.
 */
import {
  type Dataset,
  ArrayDataset,
  formatSummaryTable,
  partitionSummary,
  sgd,
  RoundEngine,
  type RoundReport,
  type ClientInfo,
  runFederated,
  type RoundSubscriber,
  type RoundRecord,
  initialParameters,
  exportInferenceModel,
  type ModelSpec,
  Trainer,
  type Platform,
  lazyExecutor,
  serverSide,
} from 'edgefl';
import {
  DEFAULT_LOCAL_EPOCHS,
  SettingsError,
  simulationSettingsOf,
  type SimulationConfig,
  type SimulationSettings,
} from '../federation/settings.js';
import { strategyStack } from '../federation/strategy-stack.js';
import { compileDpSgdGraph } from 'edgefl/internal/autodiff/dp-sgd-graph';
import { localDpBound } from 'edgefl/internal/privacy/dp/local-bound';
import { nodePlatform } from '../node-platform.js';
import { backendOf } from '../runtime/node.js';
import { writeFileAtomic } from '../io/files.js';
import { saveTrainedModel } from '../io/trained-model.js';
import { checkpointFile, metricsFiles } from '../io/run-files.js';
import { claimRunFolder } from '../io/run-folder.js';
import { readTeacherFile } from '../io/teacher-file.js';
import { WorkerPool } from './pool.js';
import { lateJoinAvailability } from './availability.js';
import { checkResumable } from '../federation/resume.js';
import { partitionClients } from '../data/partition-clients.js';
import { centralEvaluation, engineSettingsOf } from '../federation/engine-settings.js';
import { join } from 'node:path';

export type { SimulationConfig, SimulationSettings } from '../federation/settings.js';
export { simulationSettingsOf } from '../federation/settings.js';

export interface SimulationData {
  name: string;
  spec: ModelSpec;
  train: ArrayDataset;
  test: Dataset;
}

export interface SimulationResult {
  dir: string;
  /** The rounds this invocation ran. */
  rounds: RoundReport[];
  /** Every completed round's record, including those before a resume. */
  history: RoundRecord[];
  finalAccuracy?: number;
  finalLoss?: number;
  roundsToTarget?: number;
  /** Why the run ended before its last round (the privacy budget, a stop request), if it did. */
  stopped?: string;
  /** Set when rounds ran but none changed the model, with the most frequent reasons. */
  failure?: string;
  /** With local DP-SGD: the worst client's example-level epsilon bound after the last round. */
  localEpsilon?: number;
  seconds: number;
  /** Bytes exchanged over the whole run (uploads and downloads, every round so far). */
  bytes: number;
}

/** What a chart of the run needs to know: where to write it, its title and series names. */
export interface SimulationCharts {
  dir: string;
  title: string;
  /** The name of the central test-set series, when clients also evaluate on their own data. */
  testSeries?: string;
}

export interface SimulationRunOptions {
  resume?: boolean;
  log?: (line: string) => void;
  /** Stops after the round in progress; the run folder is then complete up to that round. */
  signal?: AbortSignal;
  /** More subscribers to the run's round records (a dashboard, a test). */
  subscribers?: readonly RoundSubscriber[];
  /**
   * Draws the run's curves as it goes (the CLI passes its chart renderer's `runCurves`): the Node
   * adapter renders no pictures itself, so that a server does not carry a chart renderer.
   */
  charts?: (run: SimulationCharts) => RoundSubscriber;
  /** ONNX Runtime, cryptography and the sum back-end of the server (default: nodePlatform()). */
  platform?: Platform;
}

export async function runSimulation(
  config: SimulationConfig,
  data: SimulationData,
  dir: string,
  o: SimulationRunOptions = {},
): Promise<SimulationResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const started = performance.now();
  // Bad settings fail before any work.
  const settings = simulationSettingsOf({
    ...config,
    dataset: config.dataset ?? data.name,
    model: config.model ?? data.spec.name ?? 'model',
  });
  const platform = o.platform ?? nodePlatform();
  const { strategy } = strategyStack(settings, settings.clients, platform);
  refuseUncoveredLocalDp(settings, data.spec);
  const teacher =
    settings.teacher === undefined
      ? undefined
      : await readTeacherFile(settings.teacher, platform.runtime, data.train.classes?.length);
  // A new run never overwrites an earlier one; a resumed run needs one to continue.
  await claimRunFolder(dir, { kind: 'simulate', resume: o.resume });
  const checkpoints = checkpointFile(dir);

  const fedEval = settings.federatedEvaluation;
  // Federated evaluation: each client sets aside part of its own data, never trained on. The same
  // shares `edgefl partition` writes for a networked run with this seed.
  const share = partitionClients(data.train, {
    clients: settings.clients,
    partition: settings.partition,
    seed: settings.seed,
    testFraction: fedEval?.testFraction,
  });
  const allParts = share.parts;
  const labels = share.labels;
  const parts = share.train;
  const splits = share.test ? { train: share.train, test: share.test } : undefined;
  const clients: ClientInfo[] = parts.map((p, k) => ({ id: String(k), numExamples: p.length }));
  log(formatSummaryTable(partitionSummary(allParts, labels, data.train.classes?.length), { maxRows: 8 }));
  if (splits)
    log(
      `each client holds out ${(100 * fedEval!.testFraction).toFixed(0)}% of its samples for federated evaluation (${splits.test.reduce((n, t) => n + t.length, 0)} in all) and trains on the rest`,
    );

  const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: sgd({ lr: settings.lr }) };
  const evaluator = await Trainer.create(data.spec, { ...trainerOptions, runtime: platform.runtime });
  // Workers start with the first round, once the settings and the checkpoint were found sound,
  // and are always stopped.
  const executor = lazyExecutor(
    () =>
      new WorkerPool({
        spec: data.spec,
        trainer: trainerOptions,
        dataset: data.train,
        indicesOf: (id) => parts[Number(id)],
        testIndicesOf: splits ? (id) => splits.test[Number(id)] : undefined,
        workers: settings.workers,
        seed: settings.seed,
        // The clients train on the server's ONNX Runtime build.
        backend: backendOf(platform.runtime),
        teacher,
      }),
    { evaluates: !!splits },
  );
  const initial = initialParameters(data.spec);
  const engine = new RoundEngine({
    strategy,
    clients,
    executor: serverSide(executor, {
      codec: settings.codec,
      parameters: initial.values.length,
      faults: {
        ...settings.failures,
        protocolDropouts: settings.secureAggregation?.dropoutAfterShareKeys
          ? { afterShareKeys: settings.secureAggregation.dropoutAfterShareKeys }
          : undefined,
      },
      seed: settings.seed,
    }),
    ...engineSettingsOf(settings, { seededClientNoise: true }),
    sumBackend: platform.sumBackend,
    availableAt: settings.lateJoiners
      ? lateJoinAvailability(settings.seed, {
          fraction: settings.lateJoiners.fraction,
          byRound: settings.lateJoiners.byRound ?? Math.max(2, Math.ceil(settings.rounds / 2)),
        })
      : undefined,
    evaluate: centralEvaluation(settings, evaluator, data.test),
  });

  const local = settings.localDp
    ? localDpBound(settings.localDp, parts, {
        batchSize: settings.batchSize,
        localSteps: settings.localSteps,
        localEpochs: settings.localEpochs ?? DEFAULT_LOCAL_EPOCHS,
      })
    : undefined;
  const title = `${settings.strategy}, ${data.name} ${data.spec.name ?? ''}, ${settings.clients} clients, ${settings.partition}`;
  try {
    const run = await runFederated({
      engine,
      initial: initial.values,
      rounds: settings.rounds,
      targetAccuracy: settings.targetAccuracy,
      checkpoints,
      settings: settings as unknown as Record<string, unknown>,
      checkResume: (stored) => checkResumable(stored, settings, dir),
      resume: o.resume,
      signal: o.signal,
      extendRecord: local
        ? (record) => ({ ...record, localEpsilon: local.afterRounds(record.round) })
        : undefined,
      subscribers: [
        {
          start: (_history, info) => {
            if (info.resumed) log(`resuming ${dir} after round ${info.firstRound - 1}`);
          },
          round: (record, history) =>
            log(
              roundLine(record, history, { rounds: settings.rounds, showAvailable: !!settings.lateJoiners }),
            ),
        },
        metricsFiles(dir),
        ...(o.charts ? [o.charts({ dir, title, testSeries: splits ? 'central test set' : undefined })] : []),
        ...(o.subscribers ?? []),
      ],
    });
    const params = initial.withValues(run.global);
    await saveTrainedModel(
      dir,
      {
        spec: data.spec,
        loss: 'softmaxCrossEntropy',
        labels: data.train.classes,
        normalization: data.train.normalization,
        metrics: { rounds: run.history.length },
      },
      params,
    );
    await writeFileAtomic(
      join(dir, 'model.onnx'),
      exportInferenceModel(data.spec, params, {
        labels: data.train.classes,
        normalization: data.train.normalization,
      }),
    );
    const last = [...run.history].reverse().find((m) => m.accuracy !== undefined);
    return {
      dir,
      rounds: run.reports,
      history: run.history,
      finalAccuracy: last?.accuracy,
      finalLoss: last?.loss,
      roundsToTarget: run.roundsToTarget,
      stopped: run.stopped,
      failure: run.failure,
      localEpsilon: [...run.history].reverse().find((m) => m.localEpsilon !== undefined)?.localEpsilon,
      seconds: (performance.now() - started) / 1000,
      bytes: run.history.reduce((n, m) => n + m.bytesUp + m.bytesDown, 0),
    };
  } finally {
    await executor.close();
    await evaluator.dispose();
  }
}

/** The terminal line of one round (a simulation's and a server's). */
/**
 * Local DP-SGD clips each example's gradient, which edgefl computes for dense layers only: a model
 * it cannot cover is refused before any work, naming the setting and the layer.
 */
export function refuseUncoveredLocalDp(
  settings: SimulationSettings,
  spec: ModelSpec,
  describePath: (path: string) => string = (p) => p,
): void {
  if (!settings.localDp) return;
  try {
    compileDpSgdGraph(spec, { optimizer: sgd({ lr: settings.lr }) });
  } catch (e) {
    const message = `${describePath('localDp')} cannot train the ${spec.name ?? 'given'} model: ${(e as Error).message}`;
    throw new SettingsError(message, [{ path: 'localDp', message }]);
  }
}

export function roundLine(
  r: RoundRecord,
  history: readonly RoundRecord[],
  o: { rounds: number; showAvailable?: boolean },
): string {
  const total = history.reduce((n, m) => n + m.bytesUp + m.bytesDown, 0);
  const out = r.problems.length;
  return [
    `round ${String(r.round).padStart(3)}/${o.rounds}`,
    `acc ${r.accuracy === undefined ? '   -  ' : (100 * r.accuracy).toFixed(2) + '%'}`,
    `loss ${r.loss === undefined ? '  -   ' : r.loss.toFixed(4)}`,
    ...(r.clientAccuracy !== undefined ? [`on clients' data ${(100 * r.clientAccuracy).toFixed(2)}%`] : []),
    `clients ${r.aggregated}/${r.selected}${out ? ` (${out} out)` : ''}${o.showAvailable ? ` of ${r.available} present` : ''}`,
    `${(total / 2 ** 20).toFixed(1)} MiB up+down so far`,
    `${r.seconds.toFixed(2)} s`,
    ...(r.epsilon !== undefined ? [`ε ${r.epsilon.toFixed(2)}`] : []),
    ...(r.skippedReason ? [`skipped: ${r.skippedReason}`] : []),
  ].join(' | ');
}

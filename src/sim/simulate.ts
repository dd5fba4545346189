/**
 * A federated simulation run (Node): partition a dataset among virtual clients, run rounds of a
 * strategy with the worker pool, evaluate the global model on the held-out set, and keep a run
 * folder — metrics (JSON lines and CSV), a checkpoint after every round (written atomically), the
 * final model — from which `resume` continues without redoing finished rounds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { ArrayDataset } from '../data/dataset.js';
import { classLabels } from '../data/partition/labels.js';
import { parsePartition } from '../data/partition/parse.js';
import { formatSummaryTable, partitionSummary } from '../data/partition/summary.js';
import { sgd } from '../autodiff/optimizers.js';
import { RoundEngine, type RoundReport } from '../fl/engine.js';
import { decodeCheckpoint, encodeCheckpoint } from '../fl/checkpoint.js';
import { strategyByName } from '../fl/strategies/index.js';
import { defaultNoiseClients, withDifferentialPrivacy } from '../privacy/differential-privacy.js';
import { withSecureAggregation } from '../privacy/secure-aggregation.js';
import { DP_SGD_KEYS } from '../privacy/dp-sgd-client.js';
import { dpSgdStepsPerEpochs } from '../privacy/dp-sgd.js';
import { RdpAccountant } from '../privacy/dp/accountant.js';
import type { ClientInfo } from '../fl/strategy.js';
import { initialParameters } from '../model/build.js';
import { exportInferenceModel } from '../model/export.js';
import type { ModelSpec } from '../model/layers.js';
import { Trainer } from '../runtime/trainer.js';
import { nodeRuntime } from '../runtime/node.js';
import { writeFileAtomic } from '../io/node/files.js';
import { saveTrainedModel } from '../io/node/trained-model.js';
import { Rng } from '../util/rng.js';
import { WorkerPool, type FailureModel } from './pool.js';
import { checkLateJoiners, lateJoinAvailability, type LateJoiners } from './availability.js';
import { holdOutPerClient } from '../data/partition/hold-out.js';
import { checkFederatedEvaluation } from '../fl/federated-evaluation.js';
import { codecByName } from '../compress/by-name.js';
import { writeCurves } from '../report/node/curves.js';

export interface SimulationConfig {
  rounds: number;
  clients: number;
  /** Fraction of clients per round (FedAvg's C) and the minimum per round. */
  fraction: number;
  minFitClients?: number;
  /** Results needed to update the model (default 1). */
  minResults?: number;
  partition: string;
  localEpochs?: number;
  localSteps?: number;
  batchSize: number;
  lr: number;
  /** Multiply the client learning rate by this every round. */
  lrDecay?: number;
  strategy: string;
  strategyOptions?: Record<string, unknown>;
  proximalMu?: number;
  seed: number;
  workers?: number;
  failures?: FailureModel;
  /**
   * A growing federation: this fraction of the clients (a fixed set under the seed) is absent at
   * first, each joining at a round drawn uniformly from 2..byRound. Rounds sample among the clients
   * present; the metrics record how many were (`available`).
   */
  lateJoiners?: LateJoiners;
  /** Rounds start only when this many clients are present (default 1); fewer: recorded, skipped. */
  minAvailableClients?: number;
  /**
   * Federated evaluation after every evaluated round: this fraction of the clients present
   * evaluates the new global model on its own held-out samples (`testFraction` of each client's
   * data, default 0.2, set aside before training and never trained on). Reported beside the central
   * test accuracy. Not with `dp`: the clients' figures are not covered by its noise.
   */
  federatedEvaluation?: { fraction: number; testFraction?: number; minClients?: number };
  /** Stop early once the test accuracy reaches this. */
  targetAccuracy?: number;
  /** Evaluate every this many rounds (default 1). */
  evalEvery?: number;
  /**
   * Update codec for the clients' uploads, a codecByName spec: 'float32', 'float16', 'qsgd8',
   * 'topk:0.01'... (default: raw float32 deltas). Top-k keeps one model-sized residual per client
   * that has taken part (see sim/pool.ts). The residuals are the clients' memory, not the server's,
   * so checkpoints do not hold them: a resumed top-k run starts them again from zero.
   */
  codec?: string;
  /**
   * Client-level differential privacy (DP-FedAvg) around the strategy. The simulation seeds the
   * noise from (seed, round) so that runs and resumes repeat; a deployment draws it from the
   * platform's cryptographic generator.
   */
  dp?: {
    noiseMultiplier: number;
    clipNorm: number;
    /**
     * Adaptive clipping towards this quantile of the update norms. With distributed noise the
     * clients' "fitted under C" bits are summed (noised) with the updates, under secure aggregation.
     */
    targetQuantile?: number;
    noise?: 'central' | 'distributed';
    delta?: number;
    /** Stop before the round that would take epsilon above this. */
    epsilonBudget?: number;
  };
  /**
   * Example-level DP on every client: local training is DP-SGD (per-example clipping, noise,
   * Poisson-sampled batches). `localEpsilon` in the metrics bounds any client's guarantee as if it
   * had taken part in every round so far (no credit for client sampling).
   */
  localDp?: { noiseMultiplier: number; clipNorm: number; delta?: number };
  /**
   * Aggregate under secure aggregation (SecAgg+, in process: every message through the real codec
   * and cryptography). Needs a sum strategy; with DP, the noise must be distributed.
   */
  secureAggregation?: {
    /** SecAgg+ neighbours per client (default: planned from the round size, ~log n). */
    neighbours?: number;
    /** Quantization range per value (default: the DP clip norm plus room for the noise, else 1). */
    range?: number;
    /** Fraction of each round's clients that vanish after sharing their keys (the costly dropout). */
    dropoutAfterShareKeys?: number;
  };
}

export interface SimulationData {
  name: string;
  spec: ModelSpec;
  train: ArrayDataset;
  test: Dataset;
}

export interface SimulationResult {
  dir: string;
  rounds: RoundReport[];
  finalAccuracy?: number;
  finalLoss?: number;
  roundsToTarget?: number;
  /** Why the run ended before its last round (e.g. the privacy budget), if it did. */
  stopped?: string;
  /** With local DP-SGD: the worst client's example-level epsilon bound after the last round. */
  localEpsilon?: number;
  seconds: number;
  bytes: number;
}

const CHECKPOINT = 'checkpoint.eflc';
const DEFAULT_CLIENT_TEST_FRACTION = 0.2;

/** The configuration stored in a run folder's checkpoint (to resume without repeating every flag). */
export function storedConfig(dir: string): Record<string, unknown> {
  const path = join(dir, CHECKPOINT);
  if (!existsSync(path)) throw new Error(`cannot resume: ${path} does not exist`);
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path).config;
}

export async function runSimulation(
  config: SimulationConfig,
  data: SimulationData,
  dir: string,
  o: { resume?: boolean; log?: (line: string) => void } = {},
): Promise<SimulationResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const started = performance.now();
  // Bad settings fail before any work.
  if (config.codec !== undefined) codecByName(config.codec);
  if (config.lateJoiners) checkLateJoiners(config.lateJoiners);
  if (config.federatedEvaluation) checkFederatedEvaluation(config.federatedEvaluation);
  const rng = new Rng(config.seed);
  const partitioner = parsePartition(config.partition);
  const labels = partitioner.needs === 'labels' ? classLabels(data.train) : undefined;
  const allParts = partitioner({ length: data.train.length, labels }, config.clients, rng.fork());
  const fedEval = config.federatedEvaluation;
  // Federated evaluation: each client sets aside part of its own data, never trained on.
  const testFraction = fedEval?.testFraction ?? DEFAULT_CLIENT_TEST_FRACTION;
  const splits = fedEval ? holdOutPerClient(allParts, testFraction, rng.fork()) : undefined;
  const parts = splits?.train ?? allParts;
  const clients: ClientInfo[] = parts.map((p, k) => ({ id: String(k), numExamples: p.length }));
  const summary = partitionSummary(allParts, labels, data.train.classes?.length);
  log(formatSummaryTable(summary, { maxRows: 8 }));
  if (splits)
    log(
      `each client holds out ${(100 * testFraction).toFixed(0)}% of its samples for federated evaluation (${splits.test.reduce((n, t) => n + t.length, 0)} in all) and trains on the rest`,
    );

  const inner = strategyByName(config.strategy, config.strategyOptions ?? {});
  // The DP layer's current clip norm, once it exists: adaptive clipping moves it, and secure
  // aggregation's range has to follow.
  let currentClipNorm = (): number => config.dp?.clipNorm ?? 1;
  const secure = config.secureAggregation
    ? withSecureAggregation(inner, {
        neighbours: config.secureAggregation.neighbours,
        range: config.secureAggregation.range ?? (() => secureRangeFor(config, currentClipNorm())),
        dropouts: config.secureAggregation.dropoutAfterShareKeys
          ? { afterShareKeys: config.secureAggregation.dropoutAfterShareKeys }
          : undefined,
      })
    : undefined;
  if (secure) await secure.ready;
  const dpStrategy = config.dp
    ? withDifferentialPrivacy(secure ?? inner, {
        noiseMultiplier: config.dp.noiseMultiplier,
        clipNorm: config.dp.clipNorm,
        adaptiveClipping:
          config.dp.targetQuantile === undefined ? undefined : { targetQuantile: config.dp.targetQuantile },
        noise: config.dp.noise,
        delta: config.dp.delta,
        noiseSeed: config.seed,
      })
    : undefined;
  if (dpStrategy) currentClipNorm = () => dpStrategy.clipNorm;
  const strategy = dpStrategy ?? secure ?? inner;
  const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: sgd({ lr: config.lr }) };
  const evaluator = await Trainer.create(data.spec, {
    ...trainerOptions,
    runtime: nodeRuntime({ intraOpNumThreads: 1 }),
  });
  const evalEvery = config.evalEvery ?? 1;
  const evaluatedRound = (round: number) => round % evalEvery === 0 || round === config.rounds;
  const engine = new RoundEngine({
    strategy,
    clients,
    // The pool starts later, once the run is known to be valid.
    executor: {
      run: (...args) => pool.run(...args),
      evaluate: splits ? (...args) => pool.evaluate!(...args) : undefined,
    },
    fitConfig: (round) => ({
      localEpochs: config.localSteps === undefined ? (config.localEpochs ?? 1) : undefined,
      localSteps: config.localSteps,
      batchSize: config.batchSize,
      lr: config.lr * (config.lrDecay ?? 1) ** (round - 1),
      proximalMu: config.proximalMu,
      extra: config.localDp
        ? {
            [DP_SGD_KEYS.noiseMultiplier]: config.localDp.noiseMultiplier,
            [DP_SGD_KEYS.clipNorm]: config.localDp.clipNorm,
            [DP_SGD_KEYS.seeded]: true,
          }
        : undefined,
    }),
    fractionFit: config.fraction,
    minFitClients: config.minFitClients,
    minAvailableClients: config.minAvailableClients,
    minResults: config.minResults,
    seed: config.seed,
    availableAt: config.lateJoiners ? lateJoinAvailability(config.seed, config.lateJoiners) : undefined,
    federatedEvaluation: fedEval
      ? {
          fraction: fedEval.fraction,
          minClients: fedEval.minClients,
          when: evaluatedRound,
        }
      : undefined,
    privacyBudget: config.dp?.epsilonBudget,
    evaluate: async (global, round) => {
      if (!evaluatedRound(round)) return { loss: NaN };
      evaluator.setParameters(global);
      const r = await evaluator.evaluate(data.test);
      return { loss: r.loss, accuracy: r.accuracy };
    },
  });

  let global = initialParameters(data.spec).values;
  let startRound = 1;
  const metrics: Record<string, unknown>[] = [];
  const ckptPath = join(dir, CHECKPOINT);
  const configRecord = { ...config, dataset: data.name, model: data.spec.name ?? 'model' } as Record<
    string,
    unknown
  >;
  if (o.resume) {
    if (!existsSync(ckptPath)) throw new Error(`cannot resume: ${ckptPath} does not exist`);
    const c = decodeCheckpoint(new Uint8Array(readFileSync(ckptPath)), ckptPath);
    // A resumed run may go on for more rounds or to another target; anything else must match.
    const comparable = (r: Record<string, unknown>) =>
      JSON.stringify({
        ...JSON.parse(JSON.stringify(r)),
        rounds: 0,
        targetAccuracy: 0,
        dp: r.dp ? { ...(r.dp as object), epsilonBudget: 0 } : undefined,
      });
    if (comparable(c.config) !== comparable(configRecord))
      throw new Error(
        `cannot resume ${dir}: it was run with a different configuration (${JSON.stringify(c.config)})`,
      );
    if (c.global.length !== global.length)
      throw new Error(
        `cannot resume ${dir}: the checkpoint holds ${c.global.length} parameters, the model has ${global.length}`,
      );
    global = c.global;
    if (c.strategy && strategy.setState) strategy.setState(c.strategy);
    metrics.push(...c.metrics);
    startRound = c.round + 1;
    log(`resuming ${dir} after round ${c.round}`);
  }

  // Workers start only once the run is known to be valid, and are always stopped.
  const pool = new WorkerPool({
    spec: data.spec,
    trainer: trainerOptions,
    dataset: data.train,
    indicesOf: (id) => parts[Number(id)],
    testIndicesOf: splits ? (id) => splits.test[Number(id)] : undefined,
    workers: config.workers,
    failures: config.failures,
    seed: config.seed,
    codec: config.codec,
  });
  const reports: RoundReport[] = [];
  const localPrivacy = config.localDp ? localDpBound(config, parts, metrics.length) : undefined;
  let stopped: string | undefined;
  let roundsToTarget = metrics.find((m) => (m.accuracy as number) >= (config.targetAccuracy ?? Infinity))
    ?.round as number | undefined;
  let bytes = metrics.reduce((n, m) => n + ((m.bytesUp as number) ?? 0) + ((m.bytesDown as number) ?? 0), 0);
  try {
    for (let round = startRound; round <= config.rounds; round++) {
      const r = await engine.runRound(round, global);
      if (r.report.stopped) {
        stopped = r.report.stopped;
        log(`stopping before round ${round}: ${stopped}`);
        break;
      }
      global = r.global;
      reports.push(r.report);
      const rep = r.report;
      bytes += rep.bytesUp + rep.bytesDown;
      const row = {
        round,
        accuracy: rep.evaluation?.accuracy,
        loss: Number.isFinite(rep.evaluation?.loss) ? rep.evaluation?.loss : undefined,
        trainLoss: rep.trainLoss,
        ...(rep.federatedEvaluation
          ? {
              clientAccuracy: rep.federatedEvaluation.accuracy,
              clientLoss: Number.isFinite(rep.federatedEvaluation.loss)
                ? rep.federatedEvaluation.loss
                : undefined,
              clientsEvaluated: rep.federatedEvaluation.clients,
              clientEvalFailed: rep.federatedEvaluation.failed.length,
            }
          : {}),
        available: rep.available,
        selected: rep.selected,
        aggregated: rep.aggregated,
        dropped: rep.problems.filter((p) => p.kind === 'dropped').length,
        late: rep.problems.filter((p) => p.kind === 'late').length,
        failed: rep.problems.filter((p) => p.kind === 'failed').length,
        excluded: rep.problems.filter((p) => p.kind === 'excluded').length,
        updated: rep.updated,
        bytesUp: rep.bytesUp,
        bytesDown: rep.bytesDown,
        seconds: rep.seconds,
        clientSeconds: rep.clientSeconds,
        problems: rep.problems,
        skippedReason: rep.skippedReason,
        epsilon: rep.privacy?.epsilon,
        localEpsilon: localPrivacy?.afterRound(),
        clipNorm: (strategy as { lastRound?: { clipNorm: number } }).lastRound?.clipNorm,
        ...(secure?.lastRound?.round === round
          ? {
              secaggSurvivors: secure.lastRound.survivors,
              secaggSeconds: secure.lastRound.totalSeconds,
              secaggBytesUp: secure.lastRound.bytesUp,
            }
          : {}),
      };
      metrics.push(row);
      if (
        roundsToTarget === undefined &&
        row.accuracy !== undefined &&
        row.accuracy >= (config.targetAccuracy ?? Infinity)
      )
        roundsToTarget = round;
      await writeFileAtomic(
        ckptPath,
        encodeCheckpoint({ round, global, strategy: strategy.getState?.(), metrics, config: configRecord }),
      );
      await writeFileAtomic(
        join(dir, 'metrics.jsonl'),
        metrics.map((m) => JSON.stringify(m)).join('\n') + '\n',
      );
      log(
        `round ${String(round).padStart(3)}/${config.rounds} | acc ${row.accuracy === undefined ? '   -  ' : (100 * row.accuracy).toFixed(2) + '%'} | loss ${row.loss === undefined ? '  -   ' : row.loss.toFixed(4)}${row.clientAccuracy !== undefined ? ` | on clients' data ${(100 * row.clientAccuracy).toFixed(2)}%` : ''} | clients ${rep.aggregated}/${rep.selected}${rep.problems.length ? ` (${rep.problems.length} out)` : ''}${config.lateJoiners ? ` of ${rep.available} present` : ''} | ${(bytes / 2 ** 20).toFixed(1)} MiB | ${rep.seconds.toFixed(2)} s${rep.privacy ? ` | ε ${rep.privacy.epsilon.toFixed(2)}` : ''}${rep.skippedReason ? ` | skipped: ${rep.skippedReason}` : ''}`,
      );
      if (roundsToTarget !== undefined && config.targetAccuracy !== undefined) {
        log(`reached ${(100 * config.targetAccuracy).toFixed(1)}% test accuracy at round ${roundsToTarget}`);
        break;
      }
    }
  } finally {
    await pool.close();
  }
  await writeFileAtomic(join(dir, 'metrics.csv'), toCsv(metrics));
  const title = `${config.strategy}, ${data.name} ${data.spec.name ?? ''}, ${config.clients} clients, ${config.partition}`;
  const series = (name: string, key: string) =>
    metrics
      .map((m) => ({ round: m.round as number, series: name, value: m[key] as number }))
      .filter((p) => p.value !== undefined && Number.isFinite(p.value));
  await writeCurves(
    join(dir, 'accuracy'),
    [
      ...series(splits ? 'central test set' : 'test accuracy', 'accuracy'),
      ...series("clients' own held-out data", 'clientAccuracy'),
    ],
    {
      title,
      yTitle: 'test accuracy',
    },
  );
  await writeCurves(
    join(dir, 'loss'),
    [
      ...series('test loss', 'loss'),
      ...series("clients' training loss", 'trainLoss'),
      ...series("clients' own held-out data", 'clientLoss'),
    ],
    { title, yTitle: 'loss' },
  );
  const params = initialParameters(data.spec).withValues(global);
  await saveTrainedModel(
    dir,
    {
      spec: data.spec,
      loss: 'softmaxCrossEntropy',
      labels: data.train.classes,
      normalization: data.train.normalization,
      metrics: { rounds: metrics.length },
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
  await evaluator.dispose();
  const last = [...metrics].reverse().find((m) => m.accuracy !== undefined);
  return {
    dir,
    rounds: reports,
    finalAccuracy: last?.accuracy as number | undefined,
    finalLoss: last?.loss as number | undefined,
    roundsToTarget,
    stopped,
    localEpsilon: [...metrics].reverse().find((m) => m.localEpsilon !== undefined)?.localEpsilon as
      number | undefined,
    seconds: (performance.now() - started) / 1000,
    bytes,
  };
}

function toCsv(rows: Record<string, unknown>[]): string {
  const cols = [
    'round',
    'accuracy',
    'loss',
    'trainLoss',
    'clientAccuracy',
    'clientLoss',
    'clientsEvaluated',
    'clientEvalFailed',
    'available',
    'selected',
    'aggregated',
    'dropped',
    'late',
    'failed',
    'excluded',
    'updated',
    'bytesUp',
    'bytesDown',
    'seconds',
    'clientSeconds',
    'epsilon',
    'localEpsilon',
    'clipNorm',
    'secaggSurvivors',
    'secaggSeconds',
    'secaggBytesUp',
  ];
  return (
    [
      cols.join(','),
      ...rows.map((r) => cols.map((c) => (r[c] === undefined ? '' : String(r[c]))).join(',')),
    ].join('\n') + '\n'
  );
}

/**
 * The quantization range secure aggregation needs: a clipped update (norm ≤ C, the DP layer's
 * current clip norm) has every value in [−C, C]; with distributed DP each value also carries its
 * noise share (std z·C/√k), so six standard deviations more are kept (the adaptive-clipping
 * indicator is scaled to stay within ±C). Without DP, updates are not clipped and 1 is the default.
 */
function secureRangeFor(config: SimulationConfig, clipNorm: number): number {
  const dp = config.dp;
  if (!dp) return 1;
  const k = defaultNoiseClients(config.fraction * config.clients, config.fraction);
  return clipNorm * (1 + (6 * dp.noiseMultiplier) / Math.sqrt(k));
}

/**
 * The worst client's example-level (ε, δ) under local DP-SGD, as if every client took part in every
 * round: one accountant per distinct client size (its sampling rate and steps per round differ).
 */
function localDpBound(
  config: SimulationConfig,
  parts: readonly ArrayLike<number>[],
  roundsDone: number,
): { afterRound(): number } {
  const dp = config.localDp!;
  const sizes = [...new Set(parts.map((p) => p.length).filter((n) => n > 0))];
  const perSize = sizes.map((n) => ({
    accountant: new RdpAccountant(),
    rate: Math.min(1, config.batchSize / n),
    steps: config.localSteps ?? dpSgdStepsPerEpochs(n, config.batchSize, config.localEpochs ?? 1),
  }));
  for (const s of perSize)
    if (roundsDone > 0)
      s.accountant.step({ noiseMultiplier: dp.noiseMultiplier, samplingRate: s.rate }, roundsDone * s.steps);
  return {
    afterRound() {
      let worst = 0;
      for (const s of perSize) {
        s.accountant.step({ noiseMultiplier: dp.noiseMultiplier, samplingRate: s.rate }, s.steps);
        worst = Math.max(worst, s.accountant.spent(dp.delta ?? 1e-5).epsilon);
      }
      return worst;
    },
  };
}

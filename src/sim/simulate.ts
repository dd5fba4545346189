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
  /** Stop early once the test accuracy reaches this. */
  targetAccuracy?: number;
  /** Evaluate every this many rounds (default 1). */
  evalEvery?: number;
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
  seconds: number;
  bytes: number;
}

const CHECKPOINT = 'checkpoint.eflc';

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
  const rng = new Rng(config.seed);
  const partitioner = parsePartition(config.partition);
  const labels = partitioner.needs === 'labels' ? classLabels(data.train) : undefined;
  const parts = partitioner({ length: data.train.length, labels }, config.clients, rng.fork());
  const clients: ClientInfo[] = parts.map((p, k) => ({ id: String(k), numExamples: p.length }));
  const summary = partitionSummary(parts, labels, data.train.classes?.length);
  log(formatSummaryTable(summary, { maxRows: 8 }));

  const strategy = strategyByName(config.strategy, config.strategyOptions ?? {});
  const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: sgd({ lr: config.lr }) };
  const evaluator = await Trainer.create(data.spec, {
    ...trainerOptions,
    runtime: nodeRuntime({ intraOpNumThreads: 1 }),
  });
  const evalEvery = config.evalEvery ?? 1;
  const engine = new RoundEngine({
    strategy,
    clients,
    executor: { run: (...args) => pool.run(...args) },
    fitConfig: (round) => ({
      localEpochs: config.localSteps === undefined ? (config.localEpochs ?? 1) : undefined,
      localSteps: config.localSteps,
      batchSize: config.batchSize,
      lr: config.lr * (config.lrDecay ?? 1) ** (round - 1),
      proximalMu: config.proximalMu,
    }),
    fractionFit: config.fraction,
    minFitClients: config.minFitClients,
    minResults: config.minResults,
    seed: config.seed,
    evaluate: async (global, round) => {
      if (round % evalEvery !== 0 && round !== config.rounds) return { loss: NaN };
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
      JSON.stringify({ ...JSON.parse(JSON.stringify(r)), rounds: 0, targetAccuracy: 0 });
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
    workers: config.workers,
    failures: config.failures,
    seed: config.seed,
  });
  const reports: RoundReport[] = [];
  let roundsToTarget = metrics.find((m) => (m.accuracy as number) >= (config.targetAccuracy ?? Infinity))
    ?.round as number | undefined;
  let bytes = metrics.reduce((n, m) => n + ((m.bytesUp as number) ?? 0) + ((m.bytesDown as number) ?? 0), 0);
  try {
    for (let round = startRound; round <= config.rounds; round++) {
      const r = await engine.runRound(round, global);
      global = r.global;
      reports.push(r.report);
      const rep = r.report;
      bytes += rep.bytesUp + rep.bytesDown;
      const row = {
        round,
        accuracy: rep.evaluation?.accuracy,
        loss: Number.isFinite(rep.evaluation?.loss) ? rep.evaluation?.loss : undefined,
        trainLoss: rep.trainLoss,
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
        `round ${String(round).padStart(3)}/${config.rounds} | acc ${row.accuracy === undefined ? '   -  ' : (100 * row.accuracy).toFixed(2) + '%'} | loss ${row.loss === undefined ? '  -   ' : row.loss.toFixed(4)} | clients ${rep.aggregated}/${rep.selected}${rep.problems.length ? ` (${rep.problems.length} out)` : ''} | ${(bytes / 2 ** 20).toFixed(1)} MiB | ${rep.seconds.toFixed(2)} s`,
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
  await writeCurves(join(dir, 'accuracy'), series('test accuracy', 'accuracy'), {
    title,
    yTitle: 'test accuracy',
  });
  await writeCurves(
    join(dir, 'loss'),
    [...series('test loss', 'loss'), ...series("clients' training loss", 'trainLoss')],
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
  ];
  return (
    [
      cols.join(','),
      ...rows.map((r) => cols.map((c) => (r[c] === undefined ? '' : String(r[c]))).join(',')),
    ].join('\n') + '\n'
  );
}

/**
 * `edgefl simulate`: a federated run over virtual clients on one machine. With no flags it is the
 * project's main job: federated MNIST, non-IID (two label shards per client, as in McMahan et al.
 * 2017), 100 clients, 10 per round, FedAvg — a few minutes on a 2-core machine.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtInModel } from '../model/zoo.js';
import { loadNamedDataset } from './datasets.js';
import { floatOption, intOption } from './options.js';
import { runSimulation, storedConfig, type SimulationConfig } from '../sim/simulate.js';
import type { LateJoiners } from '../sim/availability.js';
import { ArrayDataset } from '../data/dataset.js';
import { strategyNames } from '../fl/strategies/index.js';
import { codecByName } from '../compress/by-name.js';

interface SimulateFlags {
  dataset: string;
  model: string;
  clients: number;
  fraction: number;
  partition: string;
  localEpochs: number;
  localSteps?: number;
  batch: number;
  lr: number;
  lrDecay: number;
  rounds: number;
  strategy: string;
  /** key=value pairs from repeated --strategy-option flags, or an object in a config file. */
  strategyOption?: string[] | Record<string, number | boolean>;
  mu?: number;
  seed: number;
  workers?: number;
  dropout: number;
  stragglers: number;
  deadline?: number;
  byzantine: number;
  lateJoin: number;
  fedEval?: number;
  clientTest?: number;
  lateJoinBy?: number;
  minAvailable?: number;
  dpNoise?: number;
  dpClip?: number;
  dpQuantile?: number;
  dpMode: string;
  dpDelta: number;
  dpEpsilon?: number;
  secagg?: boolean;
  localDpNoise?: number;
  localDpClip?: number;
  secaggNeighbours?: number;
  secaggDropout?: number;
  attack: 'signflip' | 'scale';
  attackFactor?: number;
  target?: number;
  codec?: string;
  out?: string;
  resume?: string;
  config?: string;
}

export function registerSimulateCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('simulate')
    .description(
      'simulate federated training over many virtual clients (worker threads), with checkpoints and metrics',
    )
    .option('--dataset <name>', 'dataset: mnist', 'mnist')
    .option('--model <name>', 'built-in model (mlp, cnn, logreg)', 'mlp')
    .option('--clients <n>', 'number of virtual clients', intOption('--clients', 1), 100)
    .option(
      '--fraction <c>',
      'fraction of clients per round',
      floatOption('--fraction', { min: 0, max: 1, exclusiveMin: true }),
      0.1,
    )
    .option('--partition <spec>', 'iid | shards:N | dirichlet:ALPHA | quantity:ALPHA', 'shards:2')
    .option('--local-epochs <e>', 'local epochs per round', intOption('--local-epochs', 1), 5)
    .option(
      '--local-steps <n>',
      'a fixed number of local steps instead of epochs',
      intOption('--local-steps', 1),
    )
    .option('--batch <b>', 'local batch size', intOption('--batch', 1), 10)
    .option('--lr <x>', 'client learning rate', floatOption('--lr', { min: 0, exclusiveMin: true }), 0.05)
    .option(
      '--lr-decay <x>',
      'multiply the client learning rate by this every round',
      floatOption('--lr-decay', { min: 0, max: 1, exclusiveMin: true }),
      1,
    )
    .option('--rounds <n>', 'rounds', intOption('--rounds', 1), 100)
    .option('--strategy <name>', `aggregation strategy: ${strategyNames.join(', ')}`, 'fedavg')
    .option(
      '--strategy-option <key=value>',
      "a strategy's own setting, repeatable: e.g. f=2 for krum, beta=0.1 for fedtrimmedavg, eta=0.01 for fedadam",
      (v: string, previous: string[] = []) => [...previous, v],
    )
    .option('--mu <x>', 'FedProx proximal coefficient', floatOption('--mu', { min: 0 }))
    .option('--seed <n>', 'seed of every random choice', intOption('--seed', 0), 0)
    .option('--workers <n>', 'worker threads (default: one per core)', intOption('--workers', 1))
    .option(
      '--dropout <p>',
      'probability that a selected client drops out',
      floatOption('--dropout', { min: 0, max: 1 }),
      0,
    )
    .option(
      '--stragglers <p>',
      'fraction of clients that are slow',
      floatOption('--stragglers', { min: 0, max: 1 }),
      0,
    )
    .option(
      '--deadline <s>',
      'round deadline in seconds of (slowed) client compute',
      floatOption('--deadline', { min: 0 }),
    )
    .option(
      '--fed-eval <fraction>',
      'federated evaluation: this fraction of the clients evaluates each new model on its own held-out data',
      floatOption('--fed-eval', { min: 0, max: 1, exclusiveMin: true }),
    )
    .option(
      '--client-test <fraction>',
      "with --fed-eval: the share of each client's data held out for it (default 0.2)",
      floatOption('--client-test', { min: 0, max: 1, exclusiveMin: true }),
    )
    .option(
      '--late-join <p>',
      'fraction of clients that are absent at first and join during the run',
      floatOption('--late-join', { min: 0, max: 1 }),
      0,
    )
    .option(
      '--late-join-by <round>',
      'with --late-join: the round by which every late client has joined (default: half the rounds)',
      intOption('--late-join-by', 2),
    )
    .option(
      '--min-available <n>',
      'a round starts only when this many clients are present (fewer: the round is recorded and skipped)',
      intOption('--min-available', 1),
    )
    .option(
      '--byzantine <p>',
      'fraction of clients that send corrupted updates',
      floatOption('--byzantine', { min: 0, max: 1 }),
      0,
    )
    .option('--attack <kind>', 'what Byzantine clients do: signflip, or scale (x10)', 'signflip')
    .option(
      '--attack-factor <x>',
      'scale attack: multiply the update by this instead of 10 (e.g. -10: flipped and scaled)',
      floatOption('--attack-factor', {}),
    )
    .option(
      '--target <acc>',
      'stop when the test accuracy reaches this (e.g. 0.97)',
      floatOption('--target', { min: 0, max: 1 }),
    )
    .option(
      '--codec <spec>',
      "encode the clients' updates: float32, float16, qsgd8 or topk:F (e.g. topk:0.01); default raw float32",
      codecOption,
    )
    .option(
      '--dp-noise <z>',
      'client-level differential privacy (DP-FedAvg): noise multiplier z (noise std = z x clip norm)',
      floatOption('--dp-noise', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--dp-clip <c>',
      "DP: L2 clip norm of a client's update (the starting value with --dp-quantile)",
      floatOption('--dp-clip', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--dp-quantile <q>',
      'DP: adaptive clipping towards this quantile of the update norms (e.g. 0.5)',
      floatOption('--dp-quantile', { min: 0, max: 1, exclusiveMin: true }),
    )
    .option(
      '--dp-mode <where>',
      'DP: where the noise is added: central (server) or distributed (clients)',
      'central',
    )
    .option(
      '--dp-delta <d>',
      'DP: delta of the (epsilon, delta) guarantee',
      floatOption('--dp-delta', { min: 0, max: 1, exclusiveMin: true }),
      1e-5,
    )
    .option(
      '--dp-epsilon <e>',
      'DP: privacy budget; the run stops before the round that would exceed it',
      floatOption('--dp-epsilon', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--local-dp-noise <z>',
      "example-level DP on every client: DP-SGD noise multiplier for the clients' local training",
      floatOption('--local-dp-noise', { min: 0, exclusiveMin: true }),
    )
    .option(
      '--local-dp-clip <c>',
      "local DP-SGD: L2 clip norm of one example's gradient",
      floatOption('--local-dp-clip', { min: 0, exclusiveMin: true }),
    )
    .option('--secagg', 'aggregate under secure aggregation (SecAgg+): the server sees only the sum')
    .option(
      '--secagg-neighbours <k>',
      'secure aggregation: neighbours per client (default ~log n)',
      intOption('--secagg-neighbours', 1),
    )
    .option(
      '--secagg-dropout <p>',
      'secure aggregation: fraction of each round’s clients that vanish after sharing keys',
      floatOption('--secagg-dropout', { min: 0, max: 1 }),
    )
    .option('--config <file>', 'read the settings from a JSON file (flags given explicitly still apply)')
    .option('--out <dir>', 'run folder (default: runs/<time>-sim)')
    .option('--resume <dir>', 'continue an interrupted run from its last checkpoint')
    .action(async (flags: SimulateFlags, cmd: Command) => {
      const fromFile = flags.config
        ? (JSON.parse(readFileSync(flags.config, 'utf8')) as Partial<SimulateFlags>)
        : flags.resume
          ? flagsOf(storedConfig(flags.resume))
          : {};
      const explicit = Object.fromEntries(
        Object.keys(flags)
          .filter((k) => cmd.getOptionValueSource(k) === 'cli')
          .map((k) => [k, flags[k as keyof SimulateFlags]]),
      );
      const f = { ...flags, ...fromFile, ...explicit } as SimulateFlags;
      const data = await loadNamedDataset(f.dataset);
      if (!(data.train instanceof ArrayDataset)) throw new Error('simulate needs an in-memory dataset');
      const spec = builtInModel(f.model, {
        inputShape: data.train.featureShape,
        classes: data.classes.length,
        seed: f.seed,
      });
      const config: SimulationConfig = {
        rounds: f.rounds,
        clients: f.clients,
        fraction: f.fraction,
        partition: f.partition,
        localEpochs: f.localEpochs,
        localSteps: f.localSteps,
        batchSize: f.batch,
        lr: f.lr,
        lrDecay: f.lrDecay,
        strategy: f.strategy,
        strategyOptions: strategyOptionsOf(f.strategyOption),
        proximalMu: f.mu,
        seed: f.seed,
        workers: f.workers,
        failures: {
          dropoutRate: f.dropout,
          stragglerRate: f.stragglers,
          deadlineSeconds: f.deadline,
          ...(f.byzantine > 0
            ? {
                byzantine: {
                  fraction: f.byzantine,
                  attack: attackKind(f.attack),
                  ...(f.attackFactor !== undefined ? { factor: f.attackFactor } : {}),
                },
              }
            : {}),
        },
        ...(f.lateJoin > 0
          ? {
              lateJoiners: {
                fraction: f.lateJoin,
                byRound: f.lateJoinBy ?? Math.max(2, Math.ceil(f.rounds / 2)),
              },
            }
          : {}),
        minAvailableClients: f.minAvailable,
        ...(f.fedEval !== undefined
          ? { federatedEvaluation: { fraction: f.fedEval, testFraction: f.clientTest } }
          : {}),
        targetAccuracy: f.target,
        codec: f.codec,
        dp: dpConfig(f),
        localDp: localDpConfig(f),
        secureAggregation:
          f.secagg || f.secaggNeighbours !== undefined || f.secaggDropout !== undefined
            ? { neighbours: f.secaggNeighbours, dropoutAfterShareKeys: f.secaggDropout }
            : undefined,
      };
      const dir =
        f.resume ??
        f.out ??
        join('runs', `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-sim`);
      out(
        `edgefl simulate: ${f.strategy} on ${f.dataset} with the ${spec.name} model, ${f.clients} clients (${f.partition}), ${Math.max(1, Math.round(f.fraction * f.clients))} per round, ${f.rounds} rounds, E=${f.localSteps ? `${f.localSteps} steps` : f.localEpochs} B=${f.batch} lr=${f.lr}${f.codec ? `, updates encoded as ${f.codec}` : ''}${config.dp ? `, DP-FedAvg (${config.dp.noise} noise, z=${config.dp.noiseMultiplier}, ${config.dp.targetQuantile ? `adaptive clip from ${config.dp.clipNorm} to the ${config.dp.targetQuantile} quantile` : `clip ${config.dp.clipNorm}`}${config.dp.epsilonBudget ? `, budget epsilon ${config.dp.epsilonBudget}` : ''} at delta ${config.dp.delta})` : ''}${config.lateJoiners ? `, ${(100 * config.lateJoiners.fraction).toFixed(0)}% of the clients joining by round ${config.lateJoiners.byRound}` : ''}${config.secureAggregation ? ', under secure aggregation' : ''}${config.localDp ? `, local DP-SGD on every client (z=${config.localDp.noiseMultiplier}, clip ${config.localDp.clipNorm})` : ''}`,
      );
      const r = await runSimulation(
        config,
        { name: f.dataset, spec, train: data.train, test: data.test },
        dir,
        { resume: !!f.resume, log: out },
      );
      out('');
      if (r.stopped) out(`stopped early: ${r.stopped}`);
      const eps = [...r.rounds].reverse().find((x) => x.privacy)?.privacy;
      const local = r.localEpsilon;
      if (local !== undefined)
        out(
          `local DP-SGD: every client's training is (${local.toFixed(3)}, ${f.dpDelta})-DP per example (a bound: as if it took part in every round)`,
        );
      if (eps)
        out(
          `privacy spent: epsilon ${eps.epsilon.toFixed(3)} at delta ${eps.delta} (client level, RDP accountant)`,
        );
      const fed = [...r.rounds].reverse().find((x) => x.federatedEvaluation?.accuracy !== undefined)
        ?.federatedEvaluation?.accuracy;
      out(
        `final test accuracy ${r.finalAccuracy === undefined ? '-' : (100 * r.finalAccuracy).toFixed(2) + '%'}${fed === undefined ? '' : ` (${(100 * fed).toFixed(2)}% on the clients' own held-out data)`} after ${r.rounds.length} rounds this run${r.roundsToTarget ? ` (target reached at round ${r.roundsToTarget})` : ''}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB exchanged, ${r.seconds.toFixed(0)} s`,
      );
      out(
        `run folder: ${dir} (accuracy.png/.svg and loss.png/.svg curves, metrics.jsonl, metrics.csv, checkpoint.eflc, model.onnx); continue with --resume ${dir}`,
      );
    });
}

/** The flags that reproduce a stored simulation configuration. */
function flagsOf(c: Record<string, unknown>): Partial<SimulateFlags> {
  const f = (c.failures ?? {}) as { dropoutRate?: number; stragglerRate?: number; deadlineSeconds?: number };
  return {
    dataset: c.dataset as string,
    model: c.model as string,
    clients: c.clients as number,
    fraction: c.fraction as number,
    partition: c.partition as string,
    localEpochs: c.localEpochs as number,
    localSteps: c.localSteps as number | undefined,
    batch: c.batchSize as number,
    lr: c.lr as number,
    lrDecay: c.lrDecay as number,
    rounds: c.rounds as number,
    strategy: c.strategy as string,
    strategyOption: c.strategyOptions as Record<string, number | boolean> | undefined,
    mu: c.proximalMu as number | undefined,
    seed: c.seed as number,
    workers: c.workers as number | undefined,
    dropout: f.dropoutRate ?? 0,
    stragglers: f.stragglerRate ?? 0,
    deadline: f.deadlineSeconds,
    byzantine: (c.failures as { byzantine?: { fraction: number } } | undefined)?.byzantine?.fraction ?? 0,
    attack:
      (c.failures as { byzantine?: { attack: 'signflip' | 'scale' } } | undefined)?.byzantine?.attack ??
      'signflip',
    attackFactor: (c.failures as { byzantine?: { factor?: number } } | undefined)?.byzantine?.factor,
    lateJoin: (c.lateJoiners as LateJoiners | undefined)?.fraction ?? 0,
    lateJoinBy: (c.lateJoiners as LateJoiners | undefined)?.byRound,
    minAvailable: c.minAvailableClients as number | undefined,
    fedEval: (c.federatedEvaluation as SimulationConfig['federatedEvaluation'])?.fraction,
    clientTest: (c.federatedEvaluation as SimulationConfig['federatedEvaluation'])?.testFraction,
    target: c.targetAccuracy as number | undefined,
    codec: c.codec as string | undefined,
    ...flagsOfDp(c.dp as SimulationConfig['dp']),
    ...flagsOfSecagg(c.secureAggregation as SimulationConfig['secureAggregation']),
    ...(c.localDp
      ? {
          localDpNoise: (c.localDp as { noiseMultiplier: number }).noiseMultiplier,
          localDpClip: (c.localDp as { clipNorm: number }).clipNorm,
        }
      : {}),
  };
}

function localDpConfig(f: SimulateFlags): SimulationConfig['localDp'] {
  if (f.localDpNoise === undefined && f.localDpClip === undefined) return undefined;
  if (f.localDpNoise === undefined || f.localDpClip === undefined)
    throw new Error('local DP-SGD needs both --local-dp-noise and --local-dp-clip');
  return { noiseMultiplier: f.localDpNoise, clipNorm: f.localDpClip, delta: f.dpDelta };
}

function flagsOfSecagg(s: SimulationConfig['secureAggregation']): Partial<SimulateFlags> {
  if (!s) return {};
  return { secagg: true, secaggNeighbours: s.neighbours, secaggDropout: s.dropoutAfterShareKeys };
}

function flagsOfDp(dp: SimulationConfig['dp']): Partial<SimulateFlags> {
  if (!dp) return {};
  return {
    dpNoise: dp.noiseMultiplier,
    dpClip: dp.clipNorm,
    dpQuantile: dp.targetQuantile,
    dpMode: dp.noise ?? 'central',
    dpDelta: dp.delta ?? 1e-5,
    dpEpsilon: dp.epsilonBudget,
  };
}

/** The DP settings from the flags: both --dp-noise and --dp-clip, or neither. */
function dpConfig(f: SimulateFlags): SimulationConfig['dp'] {
  const any = [f.dpNoise, f.dpClip, f.dpQuantile, f.dpEpsilon].some((v) => v !== undefined);
  if (!any) return undefined;
  if (f.dpNoise === undefined || f.dpClip === undefined)
    throw new Error(
      'differential privacy needs both --dp-noise (noise multiplier) and --dp-clip (clip norm)',
    );
  if (f.dpMode !== 'central' && f.dpMode !== 'distributed')
    throw new Error(`--dp-mode must be central or distributed, got '${f.dpMode}'`);
  return {
    noiseMultiplier: f.dpNoise,
    clipNorm: f.dpClip,
    targetQuantile: f.dpQuantile,
    noise: f.dpMode,
    delta: f.dpDelta,
    epsilonBudget: f.dpEpsilon,
  };
}

/** Validates --codec when it is parsed, so a bad spec is refused before the dataset loads. */
function codecOption(value: string): string {
  try {
    return codecByName(value).name;
  } catch (e) {
    throw new InvalidArgumentError(`--codec: ${(e as Error).message}`);
  }
}

function attackKind(a: string): 'signflip' | 'scale' {
  if (a !== 'signflip' && a !== 'scale') throw new Error(`--attack must be signflip or scale, got '${a}'`);
  return a;
}

/**
 * Strategy settings from `--strategy-option key=value` flags (numbers, or true/false) or a config
 * file's object. Unknown keys are refused later by strategyByName, which lists the strategy's own.
 */
function strategyOptionsOf(
  given: SimulateFlags['strategyOption'],
): Record<string, number | boolean> | undefined {
  if (given === undefined) return undefined;
  if (!Array.isArray(given)) return given;
  const options: Record<string, number | boolean> = {};
  for (const pair of given) {
    const m = /^([A-Za-z]\w*)=(.+)$/.exec(pair.trim());
    if (!m) throw new Error(`--strategy-option expects key=value, got '${pair}'`);
    const [, key, text] = m;
    const value = text === 'true' ? true : text === 'false' ? false : Number(text);
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new Error(`--strategy-option ${key}: '${text}' is not a number (or true/false)`);
    options[key] = value;
  }
  return options;
}

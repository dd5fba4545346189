/**
 * `edgefl simulate`: a federated run over virtual clients on one machine. With no flags it is the
 * project's main job: federated MNIST, non-IID (two label shards per client, as in McMahan et al.
 * 2017), 100 clients, 10 per round, FedAvg — a few minutes on a 2-core machine (README).
 *
 * The settings come, in rising order of precedence, from the schema's defaults, a resumed run's
 * stored settings, a `--config` file, and the flags given; all of them are validated by the one
 * schema (federation/settings.ts) before any data is loaded.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtInModel, builtInModels, ArrayDataset, decodeCheckpoint } from 'edgefl';
import {
  SettingsError,
  simulationSettings,
  simulationSettingsOf,
  clientsPerRound,
  type SimulationSettings,
  strategyStack,
  runSimulation,
  type SimulationResult,
  checkpointFile,
  claimRunFolder,
  describeRuntime,
  nodePlatform,
  checkResumable,
  refuseUncoveredLocalDp,
  readTeacherFile,
  type Platform,
} from '@edgefl/node';
import { loadNamedDataset, DATASETS, DATASET_SHAPES } from './datasets.js';
import { runCurves } from './report/run-curves.js';
import { SettingsFlags, deepMerge, getPath } from './settings-flags.js';

/** The models simulate can train on its datasets (image classifiers; the text model needs text). */
const SIMULATE_MODELS = ['mlp', 'cnn', 'logreg'];

export const simulateFlags = new SettingsFlags(simulationSettings, [
  { flag: '--dataset <name>', path: 'dataset' },
  { flag: '--model <name>', path: 'model', help: `built-in model: ${SIMULATE_MODELS.join(', ')}` },
  { flag: '--clients <n>', path: 'clients' },
  { flag: '--fraction <c>', path: 'fraction' },
  { flag: '--partition <spec>', path: 'partition' },
  { flag: '--local-epochs <e>', path: 'localEpochs' },
  { flag: '--local-steps <n>', path: 'localSteps' },
  { flag: '--batch <b>', path: 'batchSize' },
  { flag: '--lr <x>', path: 'lr' },
  { flag: '--lr-decay <x>', path: 'lrDecay' },
  { flag: '--rounds <n>', path: 'rounds' },
  { flag: '--strategy <name>', path: 'strategy' },
  {
    flag: '--strategy-option <key=value>',
    path: 'strategyOptions',
    pairs: true,
    help:
      "a strategy's own setting, repeatable: e.g. f=2 for krum, beta=0.1 for fedtrimmedavg, eta=0.001 for fedadam. " +
      'The server step eta and adaptivity tau of fedadam, fedyogi and fedadagrad depend on the task: ' +
      'their defaults suit MNIST; if the loss jumps after round 1, lower eta or raise tau (docs/federated.md)',
  },
  { flag: '--mu <x>', path: 'proximalMu' },
  { flag: '--seed <n>', path: 'seed' },
  { flag: '--workers <n>', path: 'workers' },
  { flag: '--eval-every <n>', path: 'evalEvery' },
  { flag: '--min-results <n>', path: 'minResults' },
  { flag: '--min-available <n>', path: 'minAvailableClients' },
  { flag: '--dropout <p>', path: 'failures.dropoutRate' },
  { flag: '--stragglers <p>', path: 'failures.stragglerRate' },
  { flag: '--deadline <s>', path: 'failures.deadlineSeconds' },
  { flag: '--corrupt <p>', path: 'failures.corruptRate' },
  { flag: '--byzantine <p>', path: 'failures.byzantine.fraction' },
  { flag: '--attack <kind>', path: 'failures.byzantine.attack' },
  { flag: '--attack-factor <x>', path: 'failures.byzantine.factor' },
  { flag: '--late-join <p>', path: 'lateJoiners.fraction' },
  { flag: '--late-join-by <round>', path: 'lateJoiners.byRound' },
  { flag: '--fed-eval <fraction>', path: 'federatedEvaluation.fraction' },
  { flag: '--client-test <fraction>', path: 'federatedEvaluation.testFraction' },
  { flag: '--target <acc>', path: 'targetAccuracy' },
  { flag: '--codec <spec>', path: 'codec' },
  { flag: '--dp-noise <z>', path: 'dp.noiseMultiplier' },
  { flag: '--dp-clip <c>', path: 'dp.clipNorm' },
  { flag: '--dp-quantile <q>', path: 'dp.targetQuantile' },
  { flag: '--dp-mode <where>', path: 'dp.noise' },
  { flag: '--dp-delta <d>', path: 'dp.delta' },
  { flag: '--dp-epsilon <e>', path: 'dp.epsilonBudget' },
  { flag: '--local-dp-noise <z>', path: 'localDp.noiseMultiplier' },
  { flag: '--local-dp-clip <c>', path: 'localDp.clipNorm' },
  { flag: '--local-dp-delta <d>', path: 'localDp.delta' },
  { flag: '--secagg', path: 'secureAggregation' },
  { flag: '--secagg-neighbours <k>', path: 'secureAggregation.neighbours' },
  { flag: '--secagg-dropout <p>', path: 'secureAggregation.dropoutAfterShareKeys' },
  {
    flag: '--teacher <file>',
    path: 'teacher',
    help: 'distillation as the local objective: every client holds this classifier .onnx as its teacher',
  },
  { flag: '--distill-temperature <t>', path: 'distillation.temperature' },
  { flag: '--distill-alpha <a>', path: 'distillation.alpha' },
]);

interface RunFlags {
  config?: string;
  out?: string;
  resume?: string;
}

/** A `--config` file: JSON whose keys are the settings (docs/federated.md). */
function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new Error(`--config ${path}: no such file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--config ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`--config ${path}: expected a JSON object of settings, got ${JSON.stringify(parsed)}`);
  return parsed as Record<string, unknown>;
}

/**
 * The settings of this invocation, validated, and the folder it runs in. Every refusal names the
 * setting, the flag and where the value came from; nothing is loaded before this succeeds.
 */
export async function resolveSimulation(
  flags: RunFlags,
  cmd: Command,
  platform: Pick<Platform, 'secaggCrypto' | 'runtime'>,
): Promise<{ settings: SimulationSettings; dir: string; resume: boolean }> {
  if (flags.resume !== undefined && flags.out !== undefined)
    throw new Error(
      `--out and --resume: a resumed run continues in its own folder (${flags.resume}); leave out --out`,
    );
  const given = simulateFlags.settingsFrom(cmd);
  // A teacher means distillation: its section is on, with its defaults unless flags say otherwise.
  if (given.teacher !== undefined && given.distillation === undefined) given.distillation = {};
  let stored: Record<string, unknown> | undefined;
  if (flags.resume !== undefined) {
    const path = checkpointFile(flags.resume).path;
    if (!existsSync(path))
      throw new Error(`cannot resume ${flags.resume}: it has no checkpoint (${path} does not exist)`);
    stored = decodeCheckpoint(new Uint8Array(readFileSync(path)), path).config;
  }
  const fromFile = flags.config ? readConfigFile(flags.config) : {};
  const merged = deepMerge(deepMerge(stored ?? {}, fromFile), given);
  const source = flags.config ? `--config ${flags.config} with the flags given` : 'the settings';
  let settings: SimulationSettings;
  try {
    settings = simulationSettingsOf(merged, source, simulateFlags.describe);
  } catch (e) {
    if (e instanceof SettingsError) throw new Error(withSectionHints(e, given));
    throw e;
  }
  if (!SIMULATE_MODELS.includes(settings.model))
    throw new Error(
      `--model '${settings.model}': simulate trains ${SIMULATE_MODELS.join(', ')} on its image datasets` +
        (builtInModels().some((m) => m.name === settings.model)
          ? ` ('${settings.model}' is a text model)`
          : ''),
    );
  if (!(DATASETS as readonly string[]).includes(settings.dataset))
    throw new Error(`--dataset '${settings.dataset}': known datasets are ${DATASETS.join(', ')}`);
  // The strategy's own options and its needs (Krum's 2f + 3 clients a round, a DP budget that
  // covers a round...), and a model local DP-SGD can train: all before any data or folder.
  strategyStack(settings, settings.clients, platform, { describePath: simulateFlags.describe });
  const shape = DATASET_SHAPES[settings.dataset as (typeof DATASETS)[number]];
  refuseUncoveredLocalDp(
    settings,
    builtInModel(settings.model, {
      inputShape: [...shape.featureShape],
      classes: shape.classes,
      seed: settings.seed,
    }),
    (path) => (path === 'localDp' ? 'local DP-SGD (--local-dp-noise, --local-dp-clip)' : path),
  );
  if (settings.teacher !== undefined)
    await readTeacherFile(settings.teacher, platform.runtime, shape.classes);
  if (stored) checkResumable(stored, settings, flags.resume!, simulateFlags.describe);
  const dir =
    flags.resume ??
    flags.out ??
    join('runs', `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-sim`);
  await claimRunFolder(dir, { kind: 'simulate', resume: flags.resume !== undefined });
  return { settings, dir, resume: flags.resume !== undefined };
}

/**
 * A section whose required field is missing, because only its other flags were given, is
 * explained in flag terms: "--dp-noise is needed with --dp-clip".
 */
function withSectionHints(e: SettingsError, given: Record<string, unknown>): string {
  const hints = e.issues.flatMap((i) => {
    if (!/: required/.test(i.message)) return [];
    const section = i.path.split('.').slice(0, -1).join('.');
    const others = section ? simulateFlags.flagsUnder(section, given) : [];
    const flag = simulateFlags.describe(i.path).split(' ')[0];
    return others.length && getPath(given, i.path) === undefined
      ? [`${flag} is needed with ${others.join(', ')}`]
      : [];
  });
  return hints.length ? `${hints.join('; ')} (${e.message})` : e.message;
}

export function registerSimulateCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  const command = program
    .command('simulate')
    .description(
      'simulate federated training over many virtual clients (worker threads), with checkpoints and metrics',
    );
  simulateFlags.register(command);
  command
    .option('--config <file>', 'read the settings from a JSON file (flags given explicitly still apply)')
    .option('--out <dir>', 'run folder (default: runs/<time>-sim); never an existing run')
    .option('--resume <dir>', 'continue an interrupted run from its last checkpoint')
    .action(async (flags: RunFlags, cmd: Command) => {
      // The ONNX Runtime is chosen first: an EDGEFL_ORT that cannot work costs nothing, not even a folder.
      const platform = nodePlatform();
      const { settings, dir, resume } = await resolveSimulation(flags, cmd, platform);
      const data = await loadNamedDataset(settings.dataset);
      if (!(data.train instanceof ArrayDataset)) throw new Error('simulate needs an in-memory dataset');
      const spec = builtInModel(settings.model, {
        inputShape: data.train.featureShape,
        classes: data.classes.length,
        seed: settings.seed,
      });
      out(describeRun(settings, spec.name ?? settings.model));
      out(`ONNX Runtime: ${describeRuntime(platform.runtime)}`);
      // Ctrl-C ends the run after the round in progress, with the run folder complete up to it.
      const stop = new AbortController();
      const onSigint = () => {
        if (stop.signal.aborted) process.exit(130);
        out(`\nstopping after this round (Ctrl-C again to quit at once)...`);
        stop.abort();
      };
      process.on('SIGINT', onSigint);
      let r: SimulationResult;
      try {
        r = await runSimulation(
          settings,
          { name: settings.dataset, spec, train: data.train, test: data.test },
          dir,
          {
            resume,
            platform,
            log: out,
            signal: stop.signal,
            charts: ({ dir, title, testSeries }) => runCurves(dir, { title, testSeries }),
          },
        );
      } finally {
        process.off('SIGINT', onSigint);
      }
      out('');
      // Nothing to sum up: the reason is said once, as the error.
      if (r.history.length === 0 && r.stopped && !stop.signal.aborted)
        throw new Error(`no round ran: ${r.stopped}`);
      printSummary(r, settings, dir, out);
      if (r.failure) throw new Error(`the run did not train: ${r.failure}`);
      // Stopped by Ctrl-C: the folder is whole up to the last round, but the run asked for is not done.
      if (stop.signal.aborted)
        throw new Interrupted(
          `interrupted; the run folder is complete up to the last round: continue with --resume ${dir}`,
        );
    });
}

/** The command stopped on the user's request (Ctrl-C): the process exits with 130, as an interrupted one does. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  readonly exitCode = 130;
}

function describeRun(s: SimulationSettings, model: string): string {
  const perRound = clientsPerRound(s, s.clients);
  const dp = s.dp;
  return [
    `edgefl simulate: ${s.strategy} on ${s.dataset} with the ${model} model, ${s.clients} clients (${s.partition}), ${perRound} per round, ${s.rounds} rounds`,
    `E=${s.localSteps ? `${s.localSteps} steps` : (s.localEpochs ?? 5)} B=${s.batchSize} lr=${s.lr}`,
    ...(s.codec ? [`updates encoded as ${s.codec}`] : []),
    ...(dp
      ? [
          `DP-FedAvg (${dp.noise} noise, z=${dp.noiseMultiplier}, ${dp.targetQuantile ? `adaptive clip from ${dp.clipNorm} to the ${dp.targetQuantile} quantile` : `clip ${dp.clipNorm}`}${dp.epsilonBudget ? `, budget epsilon ${dp.epsilonBudget}` : ''} at delta ${dp.delta})`,
        ]
      : []),
    ...(s.lateJoiners ? [`${(100 * s.lateJoiners.fraction).toFixed(0)}% of the clients joining late`] : []),
    ...(s.secureAggregation ? ['under secure aggregation'] : []),
    ...(s.localDp
      ? [`local DP-SGD on every client (z=${s.localDp.noiseMultiplier}, clip ${s.localDp.clipNorm})`]
      : []),
    ...(s.distillation
      ? [
          `distillation from ${s.teacher} on every client (T=${s.distillation.temperature}, alpha ${s.distillation.alpha})`,
        ]
      : []),
  ].join(', ');
}

function printSummary(
  r: SimulationResult,
  s: SimulationSettings,
  dir: string,
  out: (l: string) => void,
): void {
  if (r.stopped) out(`stopped early: ${r.stopped}`);
  if (r.localEpsilon !== undefined)
    out(
      `local DP-SGD: every client's training is (${r.localEpsilon.toFixed(3)}, ${s.localDp!.delta})-DP per example (a bound: as if it took part in every round)`,
    );
  const eps = [...r.history].reverse().find((x) => x.epsilon !== undefined)?.epsilon;
  if (eps !== undefined)
    out(`privacy spent: epsilon ${eps.toFixed(3)} at delta ${s.dp!.delta} (client level, RDP accountant)`);
  const fed = [...r.history].reverse().find((x) => x.clientAccuracy !== undefined)?.clientAccuracy;
  const done = r.history.length;
  if (r.finalAccuracy !== undefined)
    out(
      `final test accuracy ${(100 * r.finalAccuracy).toFixed(2)}%${fed === undefined ? '' : ` (${(100 * fed).toFixed(2)}% on the clients' own held-out data)`} after ${done} rounds (${r.rounds.length} this run)${r.roundsToTarget ? `, target reached at round ${r.roundsToTarget}` : ''}; ${(r.bytes / 2 ** 20).toFixed(1)} MiB exchanged (up and down), ${r.seconds.toFixed(0)} s`,
    );
  else out(`no round was completed and evaluated; ${r.seconds.toFixed(0)} s`);
  out(
    `run folder: ${dir} (accuracy.png/.svg and loss.png/.svg curves, metrics.jsonl, metrics.csv, checkpoint.eflc, model.onnx)` +
      (done < s.rounds && !r.roundsToTarget
        ? `; continue with --resume ${dir}${r.stopped?.startsWith('privacy budget') ? ' and a larger --dp-epsilon' : ''}`
        : ''),
  );
}

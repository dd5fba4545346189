/**
 * The settings of a federated run, as one schema: it gives the TypeScript type, validates a config
 * file (every message names the field), supplies the defaults, drives the command-line flags
 * (`cli/settings-flags.ts` maps each flag to a path here and takes its help text and default from
 * this file) and is what `--resume` compares. The same object is `runSimulation`'s config, the
 * JSON a user writes for `--config`, and what a run folder's checkpoint stores.
 *
 * Two layers: `runSettings` is what any federated run needs, whatever carries its messages
 * (rounds, sampling, local training, the strategy, privacy, codec, evaluation, stopping rules);
 * `simulationSettings` adds what only a simulation has (virtual clients, a partition of one dataset,
 * worker threads, simulated failures).
 */
import { z } from 'zod';
import { codecByName, isStrategyName, parsePartition, strategyNames } from 'edgefl';

const int = (min: number) => z.number().int().min(min);
const positive = () => z.number().positive();
const fraction = () => z.number().gt(0).max(1);
/** A check that runs a parser of the project's own (codec, partition) and keeps its message. */
const parsedBy = (parse: (s: string) => unknown) =>
  z.string().superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

/** The default local epochs when neither epochs nor steps are given (the FedAvg paper's E = 5). */
export const DEFAULT_LOCAL_EPOCHS = 5;

export const dpSettings = z
  .strictObject({
    noiseMultiplier: positive().describe('noise multiplier z (noise std = z x clip norm)'),
    clipNorm: positive().describe("L2 clip norm of a client's update (the starting value when adaptive)"),
    targetQuantile: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe('adaptive clipping towards this quantile of the update norms (e.g. 0.5)'),
    noise: z
      .enum(['central', 'distributed'])
      .default('central')
      .describe('where the noise is added: central (server) or distributed (clients)'),
    delta: z.number().gt(0).lt(1).default(1e-5).describe('delta of the (epsilon, delta) guarantee'),
    epsilonBudget: positive()
      .optional()
      .describe('privacy budget: the run stops before the round that would exceed it'),
  })
  .describe('client-level differential privacy (DP-FedAvg)');

export const localDpSettings = z
  .strictObject({
    noiseMultiplier: positive().describe("DP-SGD noise multiplier for the clients' local training"),
    clipNorm: positive().describe("DP-SGD L2 clip norm of one example's gradient"),
    delta: z.number().gt(0).lt(1).default(1e-5).describe('delta of the per-example guarantee'),
  })
  .describe('example-level DP on every client: local training is DP-SGD');

export const secureAggregationSettings = z
  .strictObject({
    neighbours: int(1).optional().describe('SecAgg+ neighbours per client (default ~log n)'),
    range: positive()
      .optional()
      .describe('quantization range per value (default: the DP clip norm plus room for its noise, else 1)'),
    dropoutAfterShareKeys: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe("fraction of each round's clients that vanish after sharing their keys (simulated)"),
  })
  .describe('aggregate under secure aggregation (SecAgg+): the server sees only the sum');

export const federatedEvaluationSettings = z
  .strictObject({
    fraction: fraction().describe(
      'fraction of the clients that evaluate each new model on their own held-out data',
    ),
    testFraction: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.2)
      .describe("share of each client's data held out for federated evaluation"),
    minClients: int(1).optional().describe('evaluating clients needed for a figure'),
  })
  .describe('federated evaluation on the clients’ own held-out data');

/** Distillation as the clients' local objective (each client holds the teacher: it never travels). */
export const distillationSettings = z
  .strictObject({
    temperature: positive().default(4).describe('softens both models’ logits (T)'),
    alpha: z
      .number()
      .min(0)
      .max(1)
      .default(0.9)
      .describe('weight of the teacher’s term; the hard labels get 1 − alpha'),
  })
  .describe('clients train on a teacher’s softened outputs plus their labels');

/** What any federated run needs, whatever transport carries its messages. */
export const runSettings = z.strictObject({
  rounds: int(1).default(100).describe('rounds'),
  fraction: fraction().default(0.1).describe('fraction of clients per round (FedAvg’s C)'),
  minFitClients: int(1).optional().describe('at least this many clients per round'),
  minResults: int(1).optional().describe('usable updates needed to change the model (default 1)'),
  minAvailableClients: int(1)
    .optional()
    .describe('a round starts only when this many clients are present (default 1)'),
  localEpochs: int(1).optional().describe(`local epochs per round (default ${DEFAULT_LOCAL_EPOCHS})`),
  localSteps: int(1).optional().describe('a fixed number of local steps instead of epochs'),
  batchSize: int(1).default(10).describe('local batch size'),
  lr: positive().default(0.05).describe('client learning rate'),
  lrDecay: z
    .number()
    .gt(0)
    .max(1)
    .default(1)
    .describe('multiply the client learning rate by this every round'),
  strategy: z
    .string()
    .default('fedavg')
    .refine(isStrategyName, { message: `unknown strategy (known: ${strategyNames.join(', ')})` })
    .describe(`aggregation strategy: ${strategyNames.join(', ')}`),
  strategyOptions: z
    .record(z.string(), z.union([z.number(), z.boolean()]))
    .optional()
    .describe("the strategy's own settings, e.g. { f: 2 } for krum, { eta: 0.01 } for fedadam"),
  proximalMu: z.number().min(0).optional().describe('FedProx proximal coefficient mu'),
  seed: int(0).default(0).describe('seed of every random choice'),
  evalEvery: int(1).optional().describe('evaluate every this many rounds (default 1)'),
  targetAccuracy: z.number().min(0).max(1).optional().describe('stop when the test accuracy reaches this'),
  codec: parsedBy(codecByName)
    .optional()
    .describe("encode the clients' updates: float32, float16, qsgd8 or topk:F (default raw float32)"),
  federatedEvaluation: federatedEvaluationSettings.optional(),
  dp: dpSettings.optional(),
  localDp: localDpSettings.optional(),
  secureAggregation: secureAggregationSettings.optional(),
  distillation: distillationSettings.optional(),
});

export const byzantineSettings = z
  .strictObject({
    fraction: fraction().describe('fraction of clients that send corrupted updates'),
    attack: z
      .enum(['signflip', 'scale'])
      .default('signflip')
      .describe('what Byzantine clients do: signflip, or scale (x10)'),
    factor: z
      .number()
      .refine(Number.isFinite, 'must be finite')
      .optional()
      .describe('scale attack: multiply the update by this instead of 10'),
  })
  .describe('Byzantine clients (a fixed set under the seed)');

export const failureSettings = z.strictObject({
  dropoutRate: z
    .number()
    .min(0)
    .lt(1, 'must be below 1: with 1 every client drops and no round can run')
    .default(0)
    .describe('probability that a selected client drops out'),
  stragglerRate: z.number().min(0).max(1).default(0).describe('fraction of clients that are slow'),
  stragglerSigma: positive().optional().describe('log-normal sigma of a straggler’s slowdown (default 1)'),
  deadlineSeconds: positive().optional().describe('round deadline in seconds of (slowed) client compute'),
  byzantine: byzantineSettings.optional(),
  corruptRate: z.number().min(0).max(1).optional().describe('probability that an upload arrives truncated'),
});

export const lateJoinerSettings = z
  .strictObject({
    fraction: z.number().gt(0).lt(1).describe('fraction of clients that are absent at first and join later'),
    byRound: int(2)
      .optional()
      .describe('the round by which every late client has joined (default: half the rounds)'),
  })
  .describe('clients that join during the run');

/** A simulation: the run's settings plus virtual clients over one dataset. */
export const simulationSettings = runSettings.extend({
  dataset: z.string().default('mnist').describe('dataset: mnist'),
  model: z.string().default('mlp').describe('built-in model: mlp, cnn, logreg'),
  clients: int(1).default(100).describe('number of virtual clients'),
  partition: parsedBy(parsePartition)
    .default('shards:2')
    .describe('iid | shards:N | dirichlet:ALPHA | quantity:ALPHA | lognormal:S'),
  workers: int(1).optional().describe('worker threads (default: one per core)'),
  failures: failureSettings.optional(),
  lateJoiners: lateJoinerSettings.optional(),
  teacher: z
    .string()
    .optional()
    .describe('a classifier .onnx every virtual client holds as its teacher (with distillation)'),
});

/** What a user writes (defaults may be left out). */
export type SimulationConfig = z.input<typeof simulationSettings>;
/** What a run works with: validated, defaults filled in. */
export type SimulationSettings = z.output<typeof simulationSettings>;
export type RunSettings = z.output<typeof runSettings>;

/** A setting that cannot be used, with the path of every field at fault. */
export class SettingsError extends Error {
  override name = 'SettingsError';
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** Dotted path of a zod issue ('dp.clipNorm', 'strategyOptions.f'). */
function pathOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/**
 * Validates `input` against `schema` and fills the defaults. Throws SettingsError naming `source`
 * (a file, 'the command line') and every field at fault; `describePath` lets a caller add how the
 * user spells the field (the flag).
 */
export function parseSettings<S extends z.ZodType>(
  schema: S,
  input: unknown,
  source: string,
  describePath: (path: string) => string = (p) => p,
): z.output<S> {
  const r = schema.safeParse(input, { reportInput: true });
  if (r.success) return r.data;
  const issues = r.error.issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys')
      return i.keys.map((k) => {
        const path = pathOf([...i.path, k]);
        return { path, message: `unknown setting '${describePath(path)}'` };
      });
    const path = pathOf(i.path);
    return [{ path, message: `${describePath(path) || '(the settings)'}: ${issueText(i)}` }];
  });
  throw new SettingsError(`${source}: ${issues.map((i) => i.message).join('; ')}`, issues);
}

/** A zod issue in the project's words (zod's own are fine except for type mismatches). */
function issueText(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_type') {
    const got = (i as { input?: unknown }).input;
    return got === undefined
      ? `required (a ${i.expected})`
      : `must be a ${i.expected}, got ${JSON.stringify(got)}`;
  }
  return i.message;
}

/** How many clients a round samples from `population` present (the engine's fixed-size sample). */
export function clientsPerRound(settings: RunSettings, population: number): number {
  return Math.min(
    population,
    Math.max(Math.floor(settings.fraction * population), settings.minFitClients ?? 1),
  );
}

/**
 * Cross-field checks a schema alone cannot make. Each refuses a setting that would do nothing or
 * could not work, before any work is done, naming the fields.
 */
export function checkSimulationSettings(s: SimulationSettings): void {
  const problems: { path: string; message: string }[] = [];
  const refuse = (path: string, message: string) => problems.push({ path, message: `${path}${message}` });
  if (s.localEpochs !== undefined && s.localSteps !== undefined)
    refuse('localEpochs', ' and localSteps: give one (a fixed number of steps, or epochs)');
  if (s.minAvailableClients !== undefined && s.minAvailableClients > s.clients)
    refuse(
      'minAvailableClients',
      ` (${s.minAvailableClients}) is more than the ${s.clients} clients: no round could start`,
    );
  const perRound = clientsPerRound(s, s.clients);
  if (s.minResults !== undefined && s.minResults > perRound)
    refuse(
      'minResults',
      ` (${s.minResults}) is more than the ${perRound} clients a round trains: no round could update the model`,
    );
  const b = s.failures?.byzantine;
  if (b && b.factor !== undefined && b.attack !== 'scale')
    refuse('failures.byzantine.factor', " applies only to the 'scale' attack");
  if (s.dp && s.federatedEvaluation)
    refuse(
      'federatedEvaluation',
      " under dp: the clients' own figures are not covered by the noise; evaluate centrally instead",
    );
  if (s.distillation && s.teacher === undefined)
    refuse('distillation', ': the clients need a teacher (teacher: a classifier .onnx)');
  if (s.teacher !== undefined && !s.distillation) refuse('teacher', ' does nothing without distillation');
  if (s.distillation && s.localDp)
    refuse('distillation', ' and localDp: a client trains on one local objective, not both');
  if (s.distillation && (s.proximalMu || s.strategy === 'fedprox'))
    refuse('distillation', " and FedProx's proximal term cannot be combined");
  if (s.dp?.noise === 'central' && s.secureAggregation)
    refuse(
      'dp.noise',
      " 'central' with secureAggregation: the server cannot clip updates it cannot see; use dp.noise 'distributed'",
    );
  if (problems.length)
    throw new SettingsError(
      `settings that cannot work: ${problems.map((p) => p.message).join('; ')}`,
      problems,
    );
}

/**
 * A simulation's settings, validated and with the defaults filled in, after every cross-field rule:
 * what `runSimulation` and the CLI both run on. `describePath` says how the caller's user spells a
 * field (the CLI names the flag too).
 */
export function simulationSettingsOf(
  config: unknown,
  source = 'simulation settings',
  describePath?: (path: string) => string,
): SimulationSettings {
  const s = parseSettings(simulationSettings, config, source, describePath);
  checkSimulationSettings(s);
  return s;
}

/** The settings a resumed run may change: it may go on for longer, to another target or budget. */
export const RESUMABLE_CHANGES: readonly string[] = [
  'rounds',
  'targetAccuracy',
  'dp.epsilonBudget',
  'workers',
];

/** Every leaf where `a` and `b` differ, as dotted paths with both values. */
export function settingsDifferences(
  a: unknown,
  b: unknown,
  prefix = '',
): { path: string; before: unknown; after: unknown }[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => settingsDifferences(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  if (isObject(a) !== isObject(b) || JSON.stringify(a) !== JSON.stringify(b))
    return [{ path: prefix, before: a, after: b }];
  return [];
}

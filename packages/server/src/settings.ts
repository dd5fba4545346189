/**
 * A federation server's settings: what any federated run needs (the shared `runSettings` schema of
 * @edgefl/node: rounds, sampling, local training, strategy, privacy, codec), plus what only a
 * deployment has — the model the clients train, how long a client may take, and the name the
 * clients see. The same object is `createServer`'s settings, the JSON of `edgefl server --config`,
 * and what the server's checkpoint stores and `--resume` compares.
 */
import { z } from 'zod';
import {
  RESUMABLE_CHANGES,
  SettingsError,
  parseSettings,
  runSettings,
  settingsDifferences,
} from '@edgefl/node';

const int = (min: number) => z.number().int().min(min);

export const serverSettings = runSettings.extend({
  federation: z.string().max(200).default('edgefl federation').describe('the name clients are shown'),
  model: z.string().default('mlp').describe('built-in model: mlp, cnn, logreg'),
  inputShape: z.array(int(1)).min(1).optional().describe("the model's input shape (default: the dataset's)"),
  classes: int(2).optional().describe('number of classes (default: the dataset’s)'),
  dataset: z
    .string()
    .optional()
    .describe(
      'a dataset the server knows (mnist): its shape, its classes and its test split for central evaluation',
    ),
  privateModel: z
    .boolean()
    .default(false)
    .describe(
      'serve /model.onnx only to enrolled devices (a request signed with the device key; @edgefl/net modelAuthorization)',
    ),
  deadlineSeconds: z
    .number()
    .positive()
    .optional()
    .describe('a client that has not answered a task within this many seconds is late for the round'),
});

export type ServerConfig = z.input<typeof serverSettings>;
export type ServerSettings = z.output<typeof serverSettings>;

export function serverSettingsOf(input: unknown, source = 'the server settings'): ServerSettings {
  const s = parseSettings(serverSettings, input, source);
  if (s.localEpochs !== undefined && s.localSteps !== undefined)
    throw new SettingsError(`${source}: localEpochs and localSteps: give one`, [
      { path: 'localEpochs', message: 'localEpochs and localSteps: give one' },
    ]);
  return s;
}

/** Settings a resumed server may change: more rounds, another target or budget, another deadline, who may download the model. */
const SERVER_RESUMABLE = [...RESUMABLE_CHANGES, 'deadlineSeconds', 'federation', 'privateModel'];

/** Throws, naming every setting that differs, when a server cannot continue the stored run. */
export function checkServerResumable(stored: Record<string, unknown>, current: ServerSettings): void {
  const before = serverSettingsOf(stored, 'the stored settings');
  const diffs = settingsDifferences(
    JSON.parse(JSON.stringify(before)),
    JSON.parse(JSON.stringify(current)),
  ).filter((d) => !SERVER_RESUMABLE.includes(d.path));
  if (diffs.length)
    throw new SettingsError(
      `cannot resume: the settings differ from the stored run's (${diffs
        .map((d) => `${d.path}: ${JSON.stringify(d.before)} -> ${JSON.stringify(d.after)}`)
        .join('; ')})`,
      diffs.map((d) => ({ path: d.path, message: 'differs from the stored run' })),
    );
}

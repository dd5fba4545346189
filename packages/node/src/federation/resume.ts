/**
 * Whether a run may continue a stored one: the same settings, except those a resumed run may change
 * (more rounds, another target or privacy budget, another number of worker threads). The refusal
 * names every setting that differs, with both values.
 */
import { ResumeError } from 'edgefl';
import {
  RESUMABLE_CHANGES,
  SettingsError,
  parseSettings,
  settingsDifferences,
  simulationSettings,
  type SimulationSettings,
} from './settings.js';

/**
 * Settings as compared: a section holding nothing but its defaults is the same as no section (runs
 * stored before a section existed, or a CLI that always wrote it, compare equal to runs without it).
 */
function canonical(s: SimulationSettings): Record<string, unknown> {
  const out: Record<string, unknown> = { ...s };
  const f = s.failures;
  if (
    f &&
    Object.entries(f).every(
      ([k, v]) => v === undefined || (['dropoutRate', 'stragglerRate'].includes(k) && v === 0),
    )
  )
    delete out.failures;
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

export function checkResumable(
  stored: Record<string, unknown>,
  current: SimulationSettings,
  dir: string,
  describePath: (path: string) => string = (p) => p,
): void {
  let before: SimulationSettings;
  try {
    before = parseSettings(simulationSettings, stored, `the settings stored in ${dir}`);
  } catch (e) {
    if (e instanceof SettingsError)
      throw new ResumeError(`cannot resume ${dir}: its stored settings are not valid today (${e.message})`);
    throw e;
  }
  const changed = settingsDifferences(canonical(before), canonical(current)).filter(
    (d) => !RESUMABLE_CHANGES.some((p) => d.path === p || d.path.startsWith(p + '.')),
  );
  if (changed.length === 0) return;
  const show = (v: unknown) => (v === undefined ? '(not set)' : JSON.stringify(v));
  throw new ResumeError(
    `cannot resume ${dir} with different settings: ${changed
      .map((d) => `${describePath(d.path)} was ${show(d.before)}, now ${show(d.after)}`)
      .join('; ')} (a resumed run may change only ${RESUMABLE_CHANGES.map(describePath).join(', ')})`,
  );
}

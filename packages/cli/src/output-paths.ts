/**
 * Checks on where a command will write, made before it does any work: a result must never replace
 * one of the command's own inputs, and a path that cannot take the result is refused by name
 * rather than after minutes of work.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

const same = (a: string, b: string) => {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
};

/** `out` will be written as a file: not a folder, and none of `inputs`. */
export function checkOutputFile(out: string, inputs: readonly string[], flag = '--out'): void {
  if (existsSync(out) && statSync(out).isDirectory())
    throw new Error(`${flag} ${out} is a folder; give the path of the file to write`);
  for (const input of inputs)
    if (same(out, input))
      throw new Error(`${flag} ${out} is the input ${input}: it would be overwritten; write elsewhere`);
}

/** `out` will hold the command's files: a folder, or nothing yet. */
export function checkOutputFolder(out: string, flag = '--out'): void {
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new Error(`${flag} ${out} is a file; give a folder for the results`);
}

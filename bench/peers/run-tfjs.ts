/**
 * Runs one tfjs benchmark configuration in a fresh Node process. tfjs keeps global state (the
 * registered backend, its engine and variables), so configurations run side by side in one process
 * would measure each other's leftovers; a child per configuration keeps every row independent.
 */
import { fileURLToPath } from 'node:url';

import type { PeerResult } from './result.js';
import type { TfjsBenchOptions } from './tfjs.js';
import { runChild } from './child.js';

const TFJS_SCRIPT = fileURLToPath(new URL('./tfjs.ts', import.meta.url));
// The repository root: `--import tsx` is resolved from the child's working directory.
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunTfjsOptions extends TfjsBenchOptions {
  /** Kill the child after this long; defaults to maxSeconds plus room for start-up and warm-up. */
  timeoutMs?: number;
}

/** The last stdout line that parses as a JSON object: tfjs prints its own greeting lines before it. */
function lastJsonLine(stdout: string): unknown {
  const lines = stdout.split('\n').reverse();
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) continue;
    try {
      return JSON.parse(trimmed);
    } catch {
      // Not the result line; keep looking.
    }
  }
  return undefined;
}

function isPeerResult(value: unknown): value is PeerResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.peer === 'string' && typeof v.model === 'string' && typeof v.batch === 'number';
}

export async function runTfjsInChild(opts: RunTfjsOptions): Promise<PeerResult> {
  const maxSeconds = opts.maxSeconds ?? 10;
  // Room for start-up, warm-up and the timed loop's last step; a CNN step of batch 50 on the cpu
  // backend alone takes minutes, so callers who want that number pass a larger timeoutMs.
  const timeoutMs = opts.timeoutMs ?? maxSeconds * 1000 * 3 + 60_000;
  const args = ['--import', 'tsx', TFJS_SCRIPT, '--backend', opts.backend, '--model', opts.model];
  args.push('--batch', String(opts.batch), '--max-seconds', String(maxSeconds));
  if (opts.steps !== undefined) args.push('--steps', String(opts.steps));

  const failed = (note: string): PeerResult => ({
    peer: 'tfjs',
    backend: opts.backend,
    version: 'unknown',
    model: opts.model,
    batch: opts.batch,
    samplesPerSec: null,
    msPerStep: null,
    note,
  });

  const r = await runChild(process.execPath, args, { cwd: REPO_ROOT, timeoutMs });
  if (!r.started) return failed(`could not start the tfjs child: ${r.error.message}`);
  if (r.timedOut) {
    const seconds = Math.round(timeoutMs / 1000);
    // Warm-up and the timed loop each end within about maxSeconds plus one step, so a timeout
    // means the first step of `batch` samples took most of the time: an upper bound on the rate.
    const bound = (opts.batch / seconds).toPrecision(2);
    return failed(`timed out after ${seconds} s without finishing a step: roughly under ${bound} samples/s`);
  }
  const parsed = lastJsonLine(r.stdout);
  if (isPeerResult(parsed)) return parsed;
  const why = r.stderr.trim().split('\n').slice(-1)[0] ?? '';
  return failed(`tfjs child exited with code ${r.code} and no result${why ? `: ${why}` : ''}`);
}

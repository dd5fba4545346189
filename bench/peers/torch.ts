/**
 * PyTorch as a training peer: runs `torch_train.py` with Debian's `/usr/bin/python3` (where
 * `scripts/install-peers.sh` puts python3-torch) and turns its JSON line into a PeerResult.
 *
 * PyTorch is optional: without python3 or torch the row says so in `note` instead of failing the
 * benchmark.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { PeerModel, PeerResult } from './result.js';
import { runChild } from './child.js';

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_train.py', import.meta.url));

export interface TorchBenchOptions {
  model: PeerModel;
  batch: number;
  /** Intra-op threads for torch, OpenMP and OpenBLAS alike. */
  threads: number;
  /** Timed steps; the script's default when omitted (it also stops timing after 10 s). */
  steps?: number;
  timeoutMs?: number;
}

/** The JSON line torch_train.py prints. */
interface TorchLine {
  peer: string;
  version: string;
  model: string;
  batch: number;
  threads: number;
  samples_per_s: number;
  ms_per_step: number;
  ms_per_step_median?: number;
}

function isTorchLine(value: unknown): value is TorchLine {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.peer === 'pytorch' && typeof v.samples_per_s === 'number' && typeof v.ms_per_step === 'number';
}

function threadLabel(threads: number): string {
  return `cpu, ${threads} thread${threads === 1 ? '' : 's'}`;
}

/** Whether the peer can run at all: a benchmark should stop before timing anything when it cannot. */
export function torchMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'torch does not import for /usr/bin/python3';
}

export async function runTorch(opts: TorchBenchOptions): Promise<PeerResult> {
  const unavailable = (note: string, version = 'unknown'): PeerResult => ({
    peer: 'pytorch',
    backend: threadLabel(opts.threads),
    version,
    model: opts.model,
    batch: opts.batch,
    samplesPerSec: null,
    msPerStep: null,
    note,
  });
  if (!existsSync(PYTHON)) {
    return Promise.resolve(unavailable(`${PYTHON} not found (run scripts/install-peers.sh)`));
  }

  const threads = String(opts.threads);
  const args = [
    TORCH_SCRIPT,
    opts.model,
    String(opts.batch),
    opts.steps === undefined ? '-' : String(opts.steps),
  ];
  args.push(threads);
  // BLAS and OpenMP size their thread pools from the environment when the library loads, before
  // torch.set_num_threads can act, so the thread count has to be set here too.
  const env = { ...process.env, OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads };
  const timeoutMs = opts.timeoutMs ?? 120_000;

  const r = await runChild(PYTHON, args, { env, timeoutMs });
  if (!r.started) return unavailable(`could not start ${PYTHON}: ${r.error.message}`);
  if (r.timedOut) return unavailable(`timed out after ${Math.round(timeoutMs / 1000)} s`);
  if (/No module named '?torch'?/.test(r.stderr))
    return unavailable('torch is not installed for /usr/bin/python3 (run scripts/install-peers.sh)');
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  if (r.code !== 0 || !isTorchLine(parsed)) {
    const why = r.stderr.trim().split('\n').pop() ?? '';
    return unavailable(`torch_train.py exited with code ${r.code}${why ? `: ${why}` : ''}`);
  }
  return {
    peer: 'pytorch',
    backend: threadLabel(parsed.threads),
    version: parsed.version,
    model: opts.model,
    batch: opts.batch,
    // The median step, like edgefl's own figure (the mean is kept in the note): on a shared machine
    // one slow step in thirty moves a mean more than it moves the work.
    samplesPerSec:
      parsed.ms_per_step_median !== undefined
        ? (1000 * parsed.batch) / parsed.ms_per_step_median
        : parsed.samples_per_s,
    msPerStep: parsed.ms_per_step_median ?? parsed.ms_per_step,
    note: `mean ${parsed.ms_per_step.toFixed(3)} ms/step`,
  };
}

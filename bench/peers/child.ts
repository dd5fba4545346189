/**
 * Runs a peer benchmark in a child process with a hard time limit and collects its output. Every
 * peer runs apart from this process: tfjs keeps global state, and PyTorch is another language.
 */
import { spawn } from 'node:child_process';

export type ChildOutcome =
  | { started: false; error: Error }
  | { started: true; code: number | null; stdout: string; stderr: string; timedOut: boolean };

export function runChild(
  command: string,
  args: readonly string[],
  o: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ started: false, error });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ started: true, code, stdout, stderr, timedOut });
    });
  });
}

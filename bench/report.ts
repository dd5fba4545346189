/**
 * Benchmarks record their figures in BENCHMARKS.md: each owns a section between
 * `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, rewritten on every run with the command, the
 * machine and the table, so the file always says how its numbers were made.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FILE = `${ROOT}BENCHMARKS.md`;

/**
 * `npm run bench:NAME -- --help`: prints the benchmark's own description — the comment at the top of
 * its file, which says what it measures and how to run it — and exits before any work.
 */
export function helpOnRequest(moduleUrl: string): void {
  if (!process.argv.slice(2).includes('--help')) return;
  const text = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  const comment = /^\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
  const doc = comment
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
  process.stdout.write(`${doc}\n`);
  process.exit(0);
}

export function machineLine(): string {
  const c = cpus();
  let ort = 'unknown';
  try {
    ort = JSON.parse(readFileSync(`${ROOT}node_modules/onnxruntime-node/package.json`, 'utf8')).version;
  } catch {
    // not installed: leave unknown
  }
  return `${c.length} × ${c[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node ${ort}`;
}

export function updateBenchmarksSection(name: string, title: string, body: string): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${start}\n## ${title}\n\n${body.trim()}\n${end}`;
  let text = existsSync(FILE)
    ? readFileSync(FILE, 'utf8')
    : '# Benchmarks\n\nEvery section below is written by the benchmark named in it; re-run the command to refresh it.\n';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  text =
    a >= 0 && b > a
      ? text.slice(0, a) + section + text.slice(b + end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(FILE, text);
}

export function writeResultJson(name: string, data: unknown): string {
  const dir = `${ROOT}bench/results`;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/${name}.json`;
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
  return `bench/results/${name}.json`;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

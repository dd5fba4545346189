/**
 * Every benchmark answers --help with what it measures and how to run it, and exits at once: a
 * benchmark that ignores the flag starts a run of many minutes (and rewrites BENCHMARKS.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const scripts = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).scripts as Record<string, string>;
const benches = Object.entries(scripts)
  .filter(([name]) => name.startsWith('bench:'))
  .map(([name, command]) => ({ name, file: /bench\/[\w-]+\.ts/.exec(command)?.[0] }))
  .filter((b): b is { name: string; file: string } => b.file !== undefined);

test(
  'every benchmark prints its description on --help and exits before any work',
  { timeout: 300_000 },
  () => {
    assert.ok(benches.length >= 15, `benchmarks found: ${benches.map((b) => b.name)}`);
    const before = readFileSync(`${root}BENCHMARKS.md`, 'utf8');
    for (const b of benches) {
      const started = performance.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', b.file, '--help'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const seconds = (performance.now() - started) / 1000;
      assert.equal(r.status, 0, `${b.name} --help: exit ${r.status}\n${r.stderr}`);
      assert.ok(r.stdout.trim().split('\n').length >= 2, `${b.name} --help printed: ${r.stdout}`);
      assert.ok(seconds < 30, `${b.name} --help took ${seconds.toFixed(1)} s`);
    }
    assert.equal(readFileSync(`${root}BENCHMARKS.md`, 'utf8'), before, 'BENCHMARKS.md untouched');
  },
);

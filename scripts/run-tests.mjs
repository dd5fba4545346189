#!/usr/bin/env node
// Runs every *.test.ts under packages/*/src/, test/ and examples/ with Node's test runner (Node 20's runner does not
// expand glob patterns itself). Extra arguments narrow the run to files whose path contains them.
// First it makes sure the system packages the tests need are there (scripts/setup-test-deps.sh):
// a fresh checkout needs only `npm ci` and `npm test`.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const packages = readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'src'));
const files = [...packages, 'test', 'examples']
  .flatMap((d) => walk(join(root, d), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
ensureSystemPackages();
const reporter = process.stdout.isTTY ? 'spec' : 'spec';
// The packages' names resolve to their TypeScript sources (the "@edgefl/source" export condition),
// in the test processes and in every worker thread or child process they start.
const env = {
  ...process.env,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --conditions=@edgefl/source`.trim(),
};
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-reporter=${reporter}`,
    '--test-concurrency=1',
    // A safety net: a test that hangs fails by name after 10 minutes instead of holding the suite
    // (the whole suite takes less); tests that can wait on other threads or processes set their own.
    '--test-timeout=600000',
    ...flags,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env },
);
process.exit(result.status ?? 1);

/**
 * Installs the system packages the tests need when one is not usable, or stops before any test with
 * the one command that installs them. The check alone costs about a second and no network.
 */
function ensureSystemPackages() {
  const script = join(root, 'scripts', 'setup-test-deps.sh');
  // Chromium serves only the browser tests, which EDGEFL_SKIP_BROWSER=1 skips.
  const needed = ['python3-onnx', ...(process.env.EDGEFL_SKIP_BROWSER === '1' ? [] : ['chromium'])];
  const check = spawnSync('bash', [script, '--check', ...needed], { encoding: 'utf8' });
  if (check.status === 0) return;
  const missing = (check.stdout.trim() || needed.join(' ')).split(' ');
  const [them, are] = missing.length > 1 ? ['them', 'are'] : ['it', 'is'];
  console.error(
    `npm test: installing ${missing.join(', ')}, which the tests need (scripts/setup-test-deps.sh)`,
  );
  const install = spawnSync('bash', [script, ...needed], { stdio: 'inherit' });
  if (install.status === 0) return;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const hasApt = spawnSync('bash', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  const where =
    'Chromium at $EDGEFL_CHROMIUM (default /usr/bin/chromium) and the onnx module through $EDGEFL_PYTHON (default /usr/bin/python3)';
  console.error(
    [
      '',
      `npm test: the tests need ${missing.join(', ')}, which ${are} missing and could not be installed here (see above).`,
      ...(hasApt
        ? [
            `Install ${them} with this one command, then run npm test again:`,
            '',
            `    ${sudo}bash scripts/setup-test-deps.sh`,
            '',
          ]
        : [`This system has no apt-get: install ${them} by hand, then run npm test again.`]),
      `The check looks for ${where}.`,
    ].join('\n'),
  );
  process.exit(1);
}

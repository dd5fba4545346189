/** `npm test` sets up what the suite needs, or stops at once saying how to get it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * A PATH with node, bash and the few tools the set-up script calls, and no sudo. With `aptGet`, it
 * has an apt-get that fails as one does offline; without, it is a system with no apt-get at all.
 */
function pathWithoutWorkingInstaller(aptGet: boolean): string {
  const bin = mkdtempSync(join(tmpdir(), 'edgefl-bin-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['bash', 'env', 'id']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  if (aptGet)
    writeFileSync(join(bin, 'apt-get'), '#!/bin/sh\necho "E: could not reach the archive" >&2\nexit 100\n', {
      mode: 0o755,
    });
  return bin;
}

/** The runner as a user starts it (not as a test nested in this one), on one small test file. */
function runTests(env: Record<string, string>) {
  const { NODE_TEST_CONTEXT: _nested, ...outside } = process.env;
  return spawnSync(process.execPath, ['scripts/run-tests.mjs', 'src/tensor/wire.test'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...outside, ...env },
  });
}

// Chromium is looked for where EDGEFL_CHROMIUM says, as the browser tests do: here, nowhere.
const noChromium = { EDGEFL_CHROMIUM: '/nonexistent/chromium' };

test('npm test stops before any test when a needed package cannot be installed, giving the one command', () => {
  const r = runTests({ ...noChromium, PATH: pathWithoutWorkingInstaller(true) });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /npm test: the tests need chromium, which is missing and could not be installed here/,
  );
  assert.match(
    r.stderr,
    /Install it with this one command, then run npm test again:\n\n {4}(sudo )?bash scripts\/setup-test-deps\.sh\n/,
  );
  assert.doesNotMatch(r.stdout, /parameters round-trip/, 'no test ran');
});

test('npm test on a system without apt-get says to install the missing package by hand', () => {
  const r = runTests({ ...noChromium, PATH: pathWithoutWorkingInstaller(false) });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the tests need chromium, which is missing/);
  assert.match(r.stderr, /This system has no apt-get: install it by hand, then run npm test again/);
  assert.doesNotMatch(r.stdout, /parameters round-trip/, 'no test ran');
});

test('npm test runs the tests when what they need is usable, installing nothing', () => {
  const r = runTests({ PATH: pathWithoutWorkingInstaller(true) });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /parameters round-trip/);
  assert.doesNotMatch(r.stderr, /installing/);
});

test('with EDGEFL_SKIP_BROWSER=1, npm test does not need Chromium', () => {
  const r = runTests({ ...noChromium, EDGEFL_SKIP_BROWSER: '1', PATH: pathWithoutWorkingInstaller(false) });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /parameters round-trip/);
});

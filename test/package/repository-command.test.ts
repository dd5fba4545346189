/**
 * The README's set-up promise at the repository's root: after `npm ci`, `npx edgefl` is the
 * workspace's own command (linked from @edgefl/cli's bin), not a package npx would look for on
 * the registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, userEnvironment } from '../helpers/packed.js';

test('npx edgefl at the repository root runs the workspace command', () => {
  const link = join(ROOT, 'node_modules', '.bin', 'edgefl');
  assert.ok(existsSync(link), 'node_modules/.bin/edgefl is missing: npm did not link the command');
  assert.equal(realpathSync(link), join(ROOT, 'packages', 'cli', 'bin', 'edgefl.js'));
  const r = spawnSync('npx', ['--no-install', 'edgefl', '--version'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: userEnvironment(),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0.1.0');
});

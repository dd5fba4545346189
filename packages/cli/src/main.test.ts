/**
 * The `edgefl` command as a user meets it, in a process of its own: a mistyped option is named,
 * with commander's suggestion and a one-line hint, and the error is not scrolled away by the
 * whole help text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

function edgefl(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8' });
}

test('a mistyped option gets its name, a suggestion and a one-line hint, not the whole help', () => {
  const r = edgefl(['simulate', '--roundz', '3']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /unknown option '--roundz'/);
  assert.match(r.stderr, /Did you mean --rounds\?/);
  assert.match(r.stderr, /\(add --help to see every option\)/);
  assert.doesNotMatch(r.stderr, /Options:/, 'the help text is not printed after the error');
  assert.ok(r.stderr.trim().split('\n').length <= 3, r.stderr);
  assert.equal(r.stdout, '');

  const help = edgefl(['simulate', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Options:[\s\S]*--rounds/, 'the help text is there when asked for');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimRunFolder, RUN_FILES } from './run-folder.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'edgefl-claim-'));

test('claimRunFolder creates an absent folder, nested, and accepts an existing empty one', async () => {
  const dir = join(scratch(), 'runs', 'first');
  await claimRunFolder(dir, { kind: 'train' });
  assert.ok(statSync(dir).isDirectory());
  await claimRunFolder(dir, { kind: 'train' });
  // Files that are not a run's do not make a folder a run.
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  await claimRunFolder(dir, { kind: 'simulate' });
});

test('claimRunFolder refuses a folder that holds a run, unless resuming, and touches nothing', async () => {
  for (const file of RUN_FILES) {
    const dir = scratch();
    writeFileSync(join(dir, file), 'a previous run');
    await assert.rejects(claimRunFolder(dir, { kind: 'simulate' }), {
      message: `${dir}: this folder already holds a run (${file}): choose another --out, or --resume it`,
    });
    // train cannot resume, so it does not suggest it.
    await assert.rejects(claimRunFolder(dir, { kind: 'train' }), {
      message: `${dir}: this folder already holds a run (${file}): choose another --out`,
    });
    assert.equal(readFileSync(join(dir, file), 'utf8'), 'a previous run');
    await claimRunFolder(dir, { kind: 'simulate', resume: true });
  }
});

test('claimRunFolder refuses to resume a folder that holds no run', async () => {
  const empty = scratch();
  await assert.rejects(claimRunFolder(empty, { kind: 'simulate', resume: true }), {
    message: `${empty}: there is no run to resume here (none of ${RUN_FILES.join(', ')}); start one with --out`,
  });
  const absent = join(scratch(), 'never-ran');
  await assert.rejects(claimRunFolder(absent, { kind: 'simulate', resume: true }), /no run to resume/);
  assert.equal(existsSync(absent), false);
});

test('claimRunFolder refuses a path that is a file, or lies under one, naming the file', async () => {
  const file = join(scratch(), 'results.txt');
  writeFileSync(file, 'not a folder');
  await assert.rejects(claimRunFolder(file, { kind: 'train' }), {
    message: `${file} is a file, not a folder: choose another --out`,
  });
  await assert.rejects(claimRunFolder(join(file, 'runs', 'a'), { kind: 'train' }), {
    message: `cannot create the run folder ${join(file, 'runs', 'a')}: ${file} is a file`,
  });
  assert.equal(readFileSync(file, 'utf8'), 'not a folder');
});

test(
  'claimRunFolder refuses a folder it cannot write to',
  { skip: process.getuid?.() === 0 && 'root writes anywhere' },
  async () => {
    const dir = join(scratch(), 'locked');
    mkdirSync(dir, { mode: 0o555 });
    await assert.rejects(claimRunFolder(dir, { kind: 'train' }), {
      message: `${dir}: this folder is not writable: choose another --out`,
    });
  },
);

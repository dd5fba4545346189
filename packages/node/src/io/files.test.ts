import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './files.js';

test('writeFileAtomic replaces a file whole and leaves nothing else beside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-atomic-'));
  const path = join(dir, 'a.txt');
  writeFileSync(path, 'old');
  await writeFileAtomic(path, 'new');
  assert.equal(readFileSync(path, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['a.txt']);
});

test('writeFileAtomic removes its temporary file when the rename fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-atomic-'));
  // A non-empty directory where the file should go: writing succeeds, renaming over it cannot.
  const target = join(dir, 'model.onnx');
  mkdirSync(target);
  writeFileSync(join(target, 'keep.txt'), 'mine');
  await assert.rejects(writeFileAtomic(target, 'bytes'), /model\.onnx/);
  assert.deepEqual(readdirSync(dir), ['model.onnx'], 'no temporary file left behind');
  assert.equal(readFileSync(join(target, 'keep.txt'), 'utf8'), 'mine');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGLISH_WORDS_PACKAGE, loadEnglishWords } from './english-words.js';

test('loadEnglishWords reads a JSON array or one word per line, and names what is wrong', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-words-'));
  writeFileSync(join(dir, 'words.json'), JSON.stringify(['a', 'union', 'the']));
  assert.deepEqual(await loadEnglishWords({ file: join(dir, 'words.json') }), ['a', 'union', 'the']);
  writeFileSync(join(dir, 'words'), 'a\r\nunion\n\nthe\n');
  assert.deepEqual(await loadEnglishWords({ file: join(dir, 'words') }), ['a', 'union', 'the']);
  writeFileSync(join(dir, 'bad.json'), '{"a": 1}');
  await assert.rejects(
    loadEnglishWords({ file: join(dir, 'bad.json') }),
    /bad\.json must hold a JSON array of strings/,
  );
  await assert.rejects(loadEnglishWords({ file: join(dir, 'none.json') }), /none\.json: no such file/);
});

test('loadEnglishWords reads the installed package, or says that it is not installed', async () => {
  let installed = true;
  try {
    createRequire(import.meta.url).resolve(`${ENGLISH_WORDS_PACKAGE}/index.json`);
  } catch {
    installed = false;
  }
  if (!installed) {
    await assert.rejects(loadEnglishWords(), /the npm package an-array-of-english-words is not installed/);
    return;
  }
  const words = await loadEnglishWords();
  assert.ok(words.length > 270_000, `${words.length} words`);
  for (const w of ['a', 'i', 'the', 'people', 'union']) assert.ok(words.includes(w), w);
});

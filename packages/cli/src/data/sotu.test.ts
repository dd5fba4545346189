import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { sotuCorpus, joinTokens, tokenize, UNK_ID, validateDataset } from 'edgefl';
import { loadSotu, sotuDataDir } from './sotu.js';

test('loadSotu reads every address of the package, in chronological order', async () => {
  const speeches = await loadSotu();
  // Independent reference: the package's file names, <year>_<president>_<party>.json.
  const files = (await readdir(sotuDataDir())).filter((f) => f.endsWith('.json'));
  assert.equal(speeches.length, files.length);
  assert.ok(speeches.length > 200);
  const slugs = new Set(files.map((f) => /^\d{4}_(.+)_[a-z]+\.json$/.exec(f)![1]));
  assert.equal(new Set(speeches.map((s) => s.speaker)).size, slugs.size);
  assert.deepEqual(
    { ...speeches[0], text: speeches[0].text.slice(0, 16) },
    {
      speaker: 'George Washington',
      year: 1790,
      text: 'Fellow-Citizens ',
    },
  );
  for (let i = 1; i < speeches.length; i++) assert.ok(speeches[i - 1].year <= speeches[i].year);
  assert.equal(speeches.find((s) => s.speaker === 'Abraham Lincoln')?.party, 'Republican');
});

test('sotuCorpus: one client per president, labels are the features shifted by one', async () => {
  const speeches = await loadSotu();
  const seqLen = 32;
  const { dataset, bySpeaker, vocabulary } = sotuCorpus(speeches, { vocabSize: 8000, seqLen });
  const speakers = new Set(speeches.map((s) => s.speaker));
  assert.equal(bySpeaker.size, speakers.size);
  assert.equal([...bySpeaker.keys()][0], 'George Washington');
  assert.equal(vocabulary.size, 8000);
  validateDataset(dataset);

  // Window counts from the token counts, computed here from the tokenizer alone.
  let expectedWindows = 0;
  for (const speaker of speakers) {
    const tokens = speeches
      .filter((s) => s.speaker === speaker)
      .reduce((n, s) => n + tokenize(s.text).length + 2, 0);
    const windows = Math.floor((tokens - 1) / seqLen);
    assert.equal(bySpeaker.get(speaker)!.length, windows, speaker);
    expectedWindows += windows;
  }
  assert.equal(dataset.length, expectedWindows);

  // Every window index belongs to exactly one speaker.
  const owner = new Int32Array(dataset.length).fill(-1);
  [...bySpeaker.values()].forEach((indices, s) =>
    indices.forEach((w) => (assert.equal(owner[w], -1), (owner[w] = s))),
  );
  assert.ok(owner.every((s) => s >= 0));

  const x = dataset.features;
  const y = dataset.labels;
  for (const indices of bySpeaker.values())
    for (let k = 0; k < indices.length; k++) {
      const w = indices[k];
      for (let t = 0; t + 1 < seqLen; t++) assert.equal(y[w * seqLen + t], x[w * seqLen + t + 1]);
      // Non-overlapping, contiguous windows: the last label is the next window's first token.
      if (k + 1 < indices.length) assert.equal(y[w * seqLen + seqLen - 1], x[indices[k + 1] * seqLen]);
    }
});

test('decode(encode(text)) round-trips for in-vocabulary text of the corpus', async () => {
  const speeches = await loadSotu();
  const { vocabulary } = sotuCorpus(speeches.slice(0, 20), { vocabSize: 3000, seqLen: 16 });
  const tokens = tokenize(speeches[0].text).filter((t) => vocabulary.has(t));
  assert.ok(tokens.length > 1000);
  const text = joinTokens(tokens);
  const ids = vocabulary.encode(tokenize(text));
  assert.ok(!ids.includes(UNK_ID));
  assert.equal(joinTokens(vocabulary.decode(ids)), text);
  // The canonical form round-trips over the whole corpus, not only this speech.
  for (const s of speeches) {
    const all = tokenize(s.text);
    assert.equal(joinTokens(tokenize(joinTokens(all))), joinTokens(all), `${s.year} ${s.speaker}`);
  }
  // Out-of-vocabulary words do not round-trip: they become <unk>.
  assert.deepEqual(vocabulary.decode(vocabulary.encode(tokenize('the zyzzyva'))), ['the', '<unk>']);
});

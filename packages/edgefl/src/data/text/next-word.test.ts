import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePrompt, topSuggestions } from './next-word.js';
import { BOS_ID, PAD_ID, UNK_ID, Vocabulary } from './vocabulary.js';

const vocabulary = new Vocabulary(['<pad>', '<unk>', '<bos>', '<eos>', 'the', ',', 'people', 'we', 'of']);
const id = (t: string) => vocabulary.idOf(t);

test('encodePrompt: the tokens from position 0, <pad> after, the prediction read at the last token', () => {
  const p = encodePrompt('We the  Zebras', vocabulary, 6);
  assert.deepEqual([...p.ids], [id('we'), id('the'), UNK_ID, PAD_ID, PAD_ID, PAD_ID]);
  assert.equal(p.position, 2);
  assert.deepEqual(p.tokens, ['we', 'the', 'zebras']);
  assert.deepEqual(p.unknown, ['zebras']);
  assert.equal(p.dropped, 0);
  // A text opening a message: <bos> first, as documents begin in training.
  const s = encodePrompt('we the', vocabulary, 6, { start: true });
  assert.deepEqual([...s.ids], [BOS_ID, id('we'), id('the'), PAD_ID, PAD_ID, PAD_ID]);
  assert.equal(s.position, 2);
});

test('encodePrompt: a text longer than the window keeps its last tokens', () => {
  const p = encodePrompt('we the people , of the people', vocabulary, 4);
  assert.deepEqual([...p.ids], [id(','), id('of'), id('the'), id('people')]);
  assert.equal(p.position, 3);
  assert.equal(p.dropped, 3);
  // With start, <bos> is the first thing to go; exactly full, nothing of the text is lost.
  assert.equal(encodePrompt('we the people ,', vocabulary, 4, { start: true }).dropped, 0);
  assert.deepEqual(
    [...encodePrompt('we the people ,', vocabulary, 4, { start: true }).ids],
    [id('we'), id('the'), id('people'), id(',')],
  );
  assert.equal(encodePrompt('we the people , of', vocabulary, 4, { start: true }).dropped, 1);
  assert.throws(() => encodePrompt(' \n ', vocabulary, 4), /the text is empty/);
});

test('topSuggestions: softmax over the whole vocabulary, reserved and punctuation tokens never offered', () => {
  // <unk> and ',' score highest; then people, we (tied with of: lower id first), the.
  const logits = [0, 5, 0, 0, 1, 4, 3, 2, 2];
  const z = logits.reduce((s, v) => s + Math.exp(v), 0);
  const got = topSuggestions(logits, vocabulary, 3);
  assert.deepEqual(
    got.map((s) => s.token),
    ['people', 'we', 'of'],
  );
  for (const s of got) assert.ok(Math.abs(s.probability - Math.exp(logits[id(s.token)]) / z) < 1e-12);
  assert.deepEqual(
    topSuggestions(logits, vocabulary, 2, { punctuation: true }).map((s) => s.token),
    [',', 'people'],
  );
  assert.equal(topSuggestions(logits, vocabulary, 50).length, 4); // the, people, we, of
  assert.throws(() => topSuggestions([1, 2], vocabulary, 3), /2 scores for a vocabulary of 9 tokens/);
});

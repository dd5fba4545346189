import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextTokenCorpus } from './corpus.js';
import { sotuCorpus, speechFromJSON } from './sotu.js';
import { BOS_ID, EOS_ID, buildVocabulary } from './vocabulary.js';

test('nextTokenCorpus cuts each client stream into non-overlapping windows with next-token labels', () => {
  const docs = new Map([
    ['ann', ['a b c d e', 'f g']], // <bos> a b c d e <eos> <bos> f g <eos>: 11 tokens -> 3 windows of 3
    ['bob', ['x y']], // <bos> x y <eos>: 4 tokens -> 1 window
    ['cy', ['z']], // <bos> z <eos>: 3 tokens -> no window of 3 + 1, left out
  ]);
  const { dataset, byClient, vocabulary } = nextTokenCorpus(docs, { seqLen: 3, vocabSize: 100 });
  assert.deepEqual([...byClient.keys()], ['ann', 'bob']);
  assert.deepEqual([...byClient.get('ann')!], [0, 1, 2]);
  assert.deepEqual([...byClient.get('bob')!], [3]);
  assert.equal(dataset.length, 4);
  assert.deepEqual(dataset.featureShape, [3]);
  assert.deepEqual(dataset.labelShape, [3]);
  assert.equal(dataset.featureType, 'int32');
  assert.equal(dataset.labelType, 'int32');
  assert.deepEqual(dataset.classes, vocabulary.tokens);

  const window = (w: number) => ({
    x: vocabulary.decode(dataset.features.subarray(w * 3, w * 3 + 3)),
    y: vocabulary.decode(dataset.labels.subarray(w * 3, w * 3 + 3)),
  });
  assert.deepEqual(window(0), { x: ['<bos>', 'a', 'b'], y: ['a', 'b', 'c'] });
  assert.deepEqual(window(1), { x: ['c', 'd', 'e'], y: ['d', 'e', '<eos>'] });
  assert.deepEqual(window(2), { x: ['<eos>', '<bos>', 'f'], y: ['<bos>', 'f', 'g'] });
  assert.deepEqual(window(3), { x: ['<bos>', 'x', 'y'], y: ['x', 'y', '<eos>'] });
  assert.equal(dataset.features[0], BOS_ID);
  assert.equal(dataset.labels[5], EOS_ID);
});

test('nextTokenCorpus uses a given vocabulary and maps unknown words to <unk>', () => {
  const vocabulary = buildVocabulary([['the', 'union']], { maxSize: 10 });
  const { dataset } = nextTokenCorpus(new Map([['c', ['The state of the Union']]]), {
    seqLen: 6,
    vocabulary,
  });
  assert.deepEqual(vocabulary.decode(dataset.features), ['<bos>', 'the', '<unk>', '<unk>', 'the', 'union']);
  assert.throws(
    () => nextTokenCorpus(new Map(), { seqLen: 0, vocabSize: 10 }),
    /seqLen must be a positive integer, got 0/,
  );
  assert.throws(() => nextTokenCorpus(new Map(), { seqLen: 4 }), /give either vocabSize .* or a vocabulary/);
});

test('sotuCorpus groups by speaker in chronological order, whatever the input order', () => {
  const speeches = [
    { speaker: 'B', year: 1802, text: 'second speech of b' },
    { speaker: 'A', year: 1790, text: 'first words of a' },
    { speaker: 'B', year: 1801, text: 'first speech of b' },
  ];
  const { dataset, bySpeaker, vocabulary } = sotuCorpus(speeches, { seqLen: 2, vocabSize: 50 });
  assert.deepEqual([...bySpeaker.keys()], ['A', 'B']);
  const b = bySpeaker.get('B')!;
  const text = vocabulary.decode([...b].flatMap((w) => [...dataset.features.subarray(w * 2, w * 2 + 2)]));
  assert.deepEqual(text.slice(0, 7), ['<bos>', 'first', 'speech', 'of', 'b', '<eos>', '<bos>']);
});

test('speechFromJSON reads the package record format and names bad fields', () => {
  assert.deepEqual(speechFromJSON({ name: 'George Washington', year: 1790, party: 'none', text: 'x' }), {
    speaker: 'George Washington',
    year: 1790,
    text: 'x',
  });
  assert.deepEqual(
    speechFromJSON({ name: 'John Adams', year: 1797, party: 'Federalist', text: 'y' }).party,
    'Federalist',
  );
  assert.throws(
    () => speechFromJSON({ name: 'X', year: '1790', text: '' }, 'f.json'),
    /f\.json: 'year' must be an integer, got "1790"/,
  );
  assert.throws(() => speechFromJSON({ year: 1790, text: '' }), /'name' must be a non-empty string/);
  assert.throws(() => speechFromJSON(null), /expected a JSON object/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocabulary, buildVocabulary } from './vocabulary.js';

const streams = [
  ['the', 'cat', 'sat', 'on', 'the', 'mat'],
  ['the', 'dog', 'sat', 'on', 'a', 'log'],
];

test('buildVocabulary reserves four ids, then orders by count and breaks ties lexicographically', () => {
  const v = buildVocabulary(streams, { maxSize: 100 });
  // counts: the 3; on 2, sat 2; a, cat, dog, log, mat 1 each.
  assert.deepEqual(v.tokens, [
    '<pad>',
    '<unk>',
    '<bos>',
    '<eos>',
    'the',
    'on',
    'sat',
    'a',
    'cat',
    'dog',
    'log',
    'mat',
  ]);
  assert.deepEqual([PAD_ID, UNK_ID, BOS_ID, EOS_ID], [0, 1, 2, 3]);
  assert.equal(v.size, 12);
  // The order of the streams does not matter.
  assert.deepEqual(buildVocabulary([...streams].reverse(), { maxSize: 100 }).tokens, v.tokens);
});

test('buildVocabulary applies maxSize (reserved ids included) and minCount', () => {
  assert.deepEqual(buildVocabulary(streams, { maxSize: 6 }).tokens, [
    '<pad>',
    '<unk>',
    '<bos>',
    '<eos>',
    'the',
    'on',
  ]);
  assert.deepEqual(buildVocabulary(streams, { maxSize: 100, minCount: 2 }).tokens.slice(4), [
    'the',
    'on',
    'sat',
  ]);
  assert.deepEqual(buildVocabulary(streams, { maxSize: 4 }).tokens.length, 4);
  // Reserved strings inside the streams are not counted twice.
  assert.deepEqual(buildVocabulary([['<bos>', 'x', '<eos>']], { maxSize: 10 }).tokens.slice(4), ['x']);
  assert.throws(() => buildVocabulary(streams, { maxSize: 3 }), /maxSize must be an integer >= 4, got 3/);
  assert.throws(
    () => buildVocabulary(streams, { maxSize: 10, minCount: 0 }),
    /minCount must be an integer >= 1, got 0/,
  );
});

test('encode maps unknown tokens to <unk>; decode inverts encode for in-vocabulary tokens', () => {
  const v = buildVocabulary(streams, { maxSize: 100 });
  const ids = v.encode(['the', 'cat', 'ate', 'the', 'log']);
  assert.ok(ids instanceof Int32Array);
  assert.deepEqual([...ids], [4, 8, UNK_ID, 4, 10]);
  assert.deepEqual(v.decode(v.encode(['a', 'dog', 'sat'])), ['a', 'dog', 'sat']);
  assert.deepEqual(v.decode([2, 4, 3]), ['<bos>', 'the', '<eos>']);
  assert.throws(() => v.decode([4, 12]), /id 12 is not in \[0, 12\)/);
  assert.equal(v.idOf('zebra'), UNK_ID);
  assert.equal(v.has('mat'), true);
});

test('toJSON/fromJSON round-trip through JSON text, and fromJSON checks its input', () => {
  const v = buildVocabulary(streams, { maxSize: 8 });
  const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)));
  assert.deepEqual(back.tokens, v.tokens);
  assert.equal(back.idOf('sat'), v.idOf('sat'));
  assert.throws(() => Vocabulary.fromJSON({ tokens: [] }), /format 'edgefl.vocabulary'/);
  assert.throws(
    () => Vocabulary.fromJSON({ format: 'edgefl.vocabulary', version: 2, tokens: [] }),
    /unsupported version 2/,
  );
  assert.throws(
    () =>
      Vocabulary.fromJSON({
        format: 'edgefl.vocabulary',
        version: 1,
        tokens: ['<unk>', '<pad>', '<bos>', '<eos>'],
      }),
    /id 0 must be the reserved token <pad>, got "<unk>"/,
  );
  assert.throws(
    () => new Vocabulary(['<pad>', '<unk>', '<bos>', '<eos>', 'a', 'b', 'a']),
    /token "a" appears twice, as ids 4 and 6/,
  );
});

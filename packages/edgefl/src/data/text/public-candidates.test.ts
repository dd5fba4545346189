import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CALENDAR_TOKENS,
  CONTRACTION_TOKENS,
  NUMBER_TOKENS,
  PUNCTUATION_TOKENS,
  candidateTokens,
} from './public-candidates.js';
import { tokenize } from './tokenizer.js';

test('candidateTokens reads the word list as the tokenizer would, once each, in order', () => {
  assert.deepEqual(
    candidateTokens(['Apple', 'apple', 'well-known', 'two words', 'a', 'ﬁne'], { standardExtras: false }),
    [
      'apple',
      'a',
      'fine', // NFKC turns the ligature into two letters
    ],
  );
  assert.deepEqual(candidateTokens(['x'], { standardExtras: false, extra: ['Obama', 'x'] }), ['x', 'obama']);
  assert.throws(() => candidateTokens([1 as unknown as string]), /must hold strings, got number/);
});

test('every standard extra is one token of the tokenizer, so text can match it', () => {
  for (const t of [...PUNCTUATION_TOKENS, ...NUMBER_TOKENS, ...CONTRACTION_TOKENS, ...CALENDAR_TOKENS])
    assert.deepEqual(tokenize(t), [t], JSON.stringify(t));
  assert.equal(PUNCTUATION_TOKENS.length, 32);
  assert.ok(
    PUNCTUATION_TOKENS.includes(',') && PUNCTUATION_TOKENS.includes('$') && PUNCTUATION_TOKENS.includes('-'),
  );
  for (const t of [
    '1st',
    '2nd',
    '3rd',
    '4th',
    '11th',
    '12th',
    '13th',
    '21st',
    '22nd',
    '23rd',
    '100th',
    '0',
    '1990',
    '2100',
  ])
    assert.ok(NUMBER_TOKENS.includes(t), t);
  assert.ok(!NUMBER_TOKENS.includes('11st') && !NUMBER_TOKENS.includes('2101'));
});

test('with the extras, a sentence of common English is covered by a small word list', () => {
  const words = ['and', 'we', 'know', 'the', 'people', 'in'];
  const candidates = new Set(candidateTokens(words));
  const sentence = tokenize('In January 1990, we don’t know — and it’s the 21st century: $3 for the people!');
  assert.deepEqual(
    sentence.filter((t) => !candidates.has(t)),
    ['century', 'for'], // plain words the tiny list lacks; every punctuation, number and contraction is in
  );
  const bare = new Set(candidateTokens(words, { standardExtras: false }));
  assert.ok(sentence.filter((t) => !bare.has(t)).length > 10);
});

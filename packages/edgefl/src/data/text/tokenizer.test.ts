import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinTokens, normalizeText, tokenize } from './tokenizer.js';

// Tokens never contain white space, so joining them with spaces shows the split unambiguously.
const split = (text: string) => tokenize(text).join(' ');

test('tokenize lower-cases and splits words from punctuation', () => {
  assert.equal(
    split('Fellow-Citizens of the Senate: In meeting you again, I feel much satisfaction.'),
    'fellow - citizens of the senate : in meeting you again , i feel much satisfaction .',
  );
  assert.deepEqual(tokenize('Hi, you.'), ['hi', ',', 'you', '.']);
});

test('tokenize keeps numbers with separators, internal apostrophes and digit-letter words together', () => {
  assert.equal(
    split('A loan of 3,000,000 florins at 1.5% in 1790.'),
    'a loan of 3,000,000 florins at 1.5 % in 1790 .',
  );
  assert.equal(
    split("The Nation's 21st century -- don't 'quote'"),
    "the nation's 21st century - - don't ' quote '",
  );
  assert.equal(split('$5, (ok) [sic]'), '$ 5 , ( ok ) [ sic ]');
});

test('tokenize maps typographic quotes and dashes to ASCII and treats control characters as space', () => {
  assert.equal(split('“We’ll” — no\u0002more\tsaid'), `" we'll " - no more said`);
  // NFKC turns the ligature and the full-width letters into plain ones.
  assert.equal(split('ﬁne ＡＢＣ'), 'fine abc');
  assert.equal(normalizeText('É’'), "é'");
  assert.deepEqual(tokenize('Café'), ['café']);
  assert.deepEqual(
    tokenize('Cafe\u0301'),
    ['café'],
    'a combining accent is composed by NFKC and stays in the word',
  );
  assert.deepEqual(tokenize('  \n '), []);
});

test('joinTokens is a canonical form: tokenizing it gives the same tokens back', () => {
  const text =
    'On January 8th, 1790, the President said: "The $3,000.50 isn\'t enough — it\'s 4.5%!" (Really?)';
  const tokens = tokenize(text);
  assert.equal(
    joinTokens(tokens),
    `on january 8th , 1790 , the president said : " the $ 3,000.50 isn't enough - it's 4.5 % ! " ( really ? )`,
  );
  assert.deepEqual(tokenize(joinTokens(tokens)), tokens);
  assert.equal(joinTokens(['a', ',', 'b']), 'a , b');
});

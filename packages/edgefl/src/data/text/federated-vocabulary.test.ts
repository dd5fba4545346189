import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';
import { erfc } from '../../privacy/dp/math.js';
import { seededGaussian } from '../../privacy/dp/noise.js';
import { Rng } from '../../util/rng.js';
import {
  candidateIndex,
  clientCandidateCounts,
  contributionSensitivity,
  federatedVocabulary,
  vocabularyCoverage,
} from './federated-vocabulary.js';
import { buildVocabulary, Vocabulary } from './vocabulary.js';

const crypto = nodeSecAggCrypto();

/** Clients with Zipf-like word use: word k of `words` is drawn with weight 1 / (k + 1). */
function zipfClients(n: number, tokensEach: number, words: readonly string[], seed: number): string[][] {
  const rng = new Rng(seed);
  const weights = words.map((_, k) => 1 / (k + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const draw = () => {
    let u = rng.uniform() * total;
    for (let k = 0; k < words.length; k++) if ((u -= weights[k]) < 0) return words[k];
    return words[words.length - 1];
  };
  return Array.from({ length: n }, () => Array.from({ length: tokensEach }, draw));
}

const WORDS = Array.from({ length: 60 }, (_, k) => `w${k}`);

test('without noise, the federated vocabulary is the central one over the candidates', async () => {
  const clients = zipfClients(8, 400, WORDS, 1);
  // Every token a candidate: exactly what buildVocabulary makes from everyone's text.
  const all = await federatedVocabulary(clients, { candidates: WORDS, maxSize: 24, crypto });
  assert.deepEqual(all.vocabulary.tokens, buildVocabulary(clients, { maxSize: 24 }).tokens);
  // Tokens outside the public list are never counted: the central vocabulary of the text without them.
  const candidates = WORDS.filter((_, k) => k % 3 !== 0);
  const some = await federatedVocabulary(clients, { candidates, maxSize: 24, crypto });
  const listed = new Set(candidates);
  assert.deepEqual(
    some.vocabulary.tokens,
    buildVocabulary(
      clients.map((c) => c.filter((t) => listed.has(t))),
      { maxSize: 24 },
    ).tokens,
  );
  // The totals are the plain counts.
  const w1 = clients.flat().filter((t) => t === 'w1').length;
  assert.equal(some.totals[candidates.indexOf('w1')], w1);
});

test('a client dropping out of the secure sum: the vocabulary of the survivors', async () => {
  const clients = zipfClients(5, 300, WORDS, 2);
  // Client 0 alone uses 'rare' often enough to rank; when it drops, 'rare' must not appear.
  clients[0].push(...Array<string>(200).fill('rare'));
  const candidates = [...WORDS, 'rare'];
  const r = await federatedVocabulary(clients, {
    candidates,
    maxSize: 20,
    crypto,
    secagg: { dropouts: { afterShareKeys: [0] }, seed: 1 },
  });
  assert.deepEqual([...r.survivors], [1, 2, 3, 4]);
  assert.deepEqual(r.vocabulary.tokens, buildVocabulary(clients.slice(1), { maxSize: 20 }).tokens);
  assert.ok(!r.vocabulary.has('rare'));
  const kept = await federatedVocabulary(clients, { candidates, maxSize: 20, crypto });
  assert.ok(kept.vocabulary.has('rare'));
});

test('a client bounds its counts: each word cut, then its most frequent words keep the budget', () => {
  const index = candidateIndex(['a', 'b', 'c', 'd', 'e']);
  const tokens = [...'aaaaa', ...'bbbb', ...'ccc', ...'dd', 'e', 'x', 'x'];
  assert.deepEqual(
    [...clientCandidateCounts(tokens, index, { maxCountPerWord: Infinity, maxTotalCount: Infinity })],
    [5, 4, 3, 2, 1],
  );
  assert.deepEqual(
    [...clientCandidateCounts(tokens, index, { maxCountPerWord: 3, maxTotalCount: Infinity })],
    [3, 3, 3, 2, 1],
  );
  // Budget 10 after the cut at 3: a, b, c keep 3 each, d gets the last 1, e nothing.
  assert.deepEqual(
    [...clientCandidateCounts(tokens, index, { maxCountPerWord: 3, maxTotalCount: 10 })],
    [3, 3, 3, 1, 0],
  );
  // Presence counting: each of the 2 most frequent words once.
  assert.deepEqual(
    [...clientCandidateCounts(tokens, index, { maxCountPerWord: 1, maxTotalCount: 2 })],
    [1, 1, 0, 0, 0],
  );
});

test('the sensitivity is the largest L2 norm a bounded count vector can have (brute force)', () => {
  // Every integer vector with entries in [0, C] and sum <= T, over d coordinates.
  const bruteForce = (C: number, T: number, d: number): number => {
    let best = 0;
    const walk = (k: number, left: number, sq: number) => {
      if (k === d) return void (best = Math.max(best, sq));
      for (let c = 0; c <= Math.min(C, left); c++) walk(k + 1, left - c, sq + c * c);
    };
    walk(0, T, 0);
    return Math.sqrt(best);
  };
  for (const [C, T, d] of [
    [3, 10, 5],
    [1, 4, 6],
    [4, 4, 3],
    [2, 7, 3],
    [5, 3, 4],
    [3, 20, 4],
  ])
    assert.ok(
      Math.abs(contributionSensitivity({ maxCountPerWord: C, maxTotalCount: T }, d) - bruteForce(C, T, d)) <
        1e-12,
      `C=${C} T=${T} d=${d}`,
    );
});

/** The exact (epsilon, delta) curve of the Gaussian mechanism (Balle & Wang 2018, Theorem 8). */
function gaussianDelta(eps: number, z: number): number {
  const phi = (x: number) => 0.5 * erfc(-x / Math.SQRT2);
  return phi(1 / (2 * z) - eps * z) - Math.exp(eps) * phi(-1 / (2 * z) - eps * z);
}

test('with dp, every total gets N(0, (z S)^2) noise and epsilon is that of one Gaussian release', async () => {
  const words = Array.from({ length: 3000 }, (_, k) => `v${k}`);
  const clients = zipfClients(4, 500, words.slice(0, 50), 3);
  const bound = { maxCountPerWord: 4, maxTotalCount: 100 };
  const exact = await federatedVocabulary(clients, { candidates: words, maxSize: 40, crypto, ...bound });
  const z = 0.8;
  const delta = 1e-5;
  const noisy = await federatedVocabulary(clients, {
    candidates: words,
    maxSize: 40,
    crypto,
    ...bound,
    minCount: 1e-9,
    dp: { noiseMultiplier: z, delta, noise: seededGaussian(11) },
  });
  const S = Math.sqrt(25 * 16);
  assert.equal(noisy.privacy!.sensitivity, S);
  assert.equal(noisy.privacy!.noiseStd, z * S);
  // The differences are the noise: mean about 0 and standard deviation about z S over 3000 candidates.
  const diffs = [...noisy.totals].map((t, i) => t - exact.totals[i]);
  const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (diffs.length - 1));
  assert.ok(Math.abs(mean) < (4 * (z * S)) / Math.sqrt(diffs.length), `mean ${mean}`);
  assert.ok(Math.abs(sd / (z * S) - 1) < 0.05, `sd ${sd} vs ${z * S}`);
  // epsilon is a valid bound (at least the exact one for this delta) and not far above it.
  const eps = noisy.privacy!.epsilon;
  assert.ok(gaussianDelta(eps, z) <= delta * (1 + 1e-9), `delta at epsilon ${eps}: ${gaussianDelta(eps, z)}`);
  assert.ok(gaussianDelta(eps * 0.8, z) > delta, `epsilon ${eps} is loose by more than 25%`);
});

test('with dp and many clients, the frequent words come through the noise', async () => {
  const clients = zipfClients(150, 60, WORDS, 4);
  const candidates = [...WORDS, ...Array.from({ length: 2000 }, (_, k) => `never${k}`)];
  const r = await federatedVocabulary(clients, {
    candidates,
    maxSize: 14,
    crypto,
    maxCountPerWord: 1,
    maxTotalCount: 10,
    // Above the noise: 4.5 standard deviations, so no never-used candidate should pass among 2000.
    minCount: 4.5 * 1 * Math.sqrt(10),
    dp: { noiseMultiplier: 1, delta: 1e-4, noise: seededGaussian(5) },
  });
  // Every client uses the commonest words; the top 10 by presence are w0..w9 in the central count.
  const presence = buildVocabulary(
    clients.map((c) => [...new Set(c)]),
    { maxSize: 14 },
  ).tokens.slice(4);
  const got = r.vocabulary.tokens.slice(4);
  assert.ok(
    got.every((t) => t.startsWith('w')),
    got.join(' '),
  );
  const shared = got.filter((t) => presence.includes(t)).length;
  assert.ok(
    shared >= 8,
    `${shared} of ${got.length} in common with the noiseless choice: ${got} vs ${presence}`,
  );
});

test('federatedVocabulary refuses what it cannot do, saying why', async () => {
  const clients = [['a'], ['b']];
  await assert.rejects(
    federatedVocabulary(clients, { candidates: ['a'], maxSize: 8, dp: { noiseMultiplier: 1, delta: 1e-5 } }),
    /dp needs maxCountPerWord and maxTotalCount/,
  );
  await assert.rejects(
    federatedVocabulary([['a']], { candidates: ['a'], maxSize: 8 }),
    /needs at least 2 clients, got 1/,
  );
  await assert.rejects(
    federatedVocabulary(clients, { candidates: ['a', 'b', 'a'], maxSize: 8 }),
    /candidate "a" appears twice, at 0 and 2/,
  );
  await assert.rejects(
    federatedVocabulary(clients, { candidates: ['a', '<unk>'], maxSize: 8 }),
    /candidate 1 is the reserved token <unk>/,
  );
  await assert.rejects(federatedVocabulary(clients, { candidates: ['a'], maxSize: 3 }), /maxSize must be/);
});

test('vocabularyCoverage counts the occurrences a vocabulary has', () => {
  const v = new Vocabulary(['<pad>', '<unk>', '<bos>', '<eos>', 'the', ',']);
  const text = [['the', 'cat', ',', 'the', 'dog', '1990']];
  assert.deepEqual(vocabularyCoverage(v, text), { covered: 3, total: 6, share: 0.5 });
  assert.deepEqual(vocabularyCoverage(v, text, { wordsOnly: true }), { covered: 2, total: 4, share: 0.5 });
});

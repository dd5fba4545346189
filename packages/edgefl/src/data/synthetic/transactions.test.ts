/**
 * The transaction generator makes what its documentation says: seeded, under 1% fraud at the rate
 * asked, each bank's fraud only of its own patterns, and each pattern with the traits it is
 * described by (closed-form checks on the features).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FRAUD_PATTERNS,
  MERCHANT_CATEGORIES,
  TRANSACTION_FEATURES,
  syntheticTransactions,
  type BankSpec,
} from './transactions.js';

const banks: BankSpec[] = [
  { name: 'north', customers: 300, patterns: ['card testing', 'account takeover'] },
  { name: 'south', customers: 300, patterns: ['skimmed card abroad', 'money mule'] },
  { name: 'quiet', customers: 50, patterns: [] },
];

test('seeded: the same seed gives the same transactions, another seed others', () => {
  const a = syntheticTransactions({ banks, seed: 1, days: 20 });
  const b = syntheticTransactions({ banks, seed: 1, days: 20 });
  const c = syntheticTransactions({ banks, seed: 2, days: 20 });
  assert.deepEqual(a[0].dataset.features, b[0].dataset.features);
  assert.notDeepEqual(a[0].dataset.features, c[0].dataset.features);
});

test('fraud is rare, at the rate asked, and only of the bank’s own patterns', () => {
  const [north, south, quiet] = syntheticTransactions({ banks, seed: 3 });
  for (const bank of [north, south]) {
    const n = bank.dataset.length;
    const frauds = (bank.dataset.labels as Int32Array).reduce((s, y) => s + y, 0);
    assert.ok(n > 10_000, `${bank.name}: ${n} transactions`);
    assert.ok(Math.abs(frauds / n - 0.005) < 0.001, `${bank.name}: fraud rate ${frauds / n}`);
    const seen = new Set([...bank.pattern].filter((p) => p >= 0).map((p) => FRAUD_PATTERNS[p]));
    assert.deepEqual([...seen].sort(), [...bank.patterns].sort());
    bank.pattern.forEach((p, i) => assert.equal(bank.dataset.labels[i], p >= 0 ? 1 : 0));
  }
  assert.equal(
    (quiet.dataset.labels as Int32Array).reduce((s, y) => s + y, 0),
    0,
  );
});

test('every feature is finite, the category one-hot, and each pattern has its described traits', () => {
  const all = syntheticTransactions({
    banks: [{ name: 'all', customers: 400, patterns: [...FRAUD_PATTERNS], fraudRate: 0.02 }],
    seed: 4,
  })[0];
  const F = TRANSACTION_FEATURES.length;
  const x = all.dataset.features as Float32Array;
  const col = (name: string) => TRANSACTION_FEATURES.indexOf(name);
  const category = (i: number) => {
    const hot = MERCHANT_CATEGORIES.map((_, c) => x[i * F + 9 + c]);
    assert.equal(
      hot.reduce((a, b) => a + b, 0),
      1,
      `row ${i}: one category`,
    );
    return MERCHANT_CATEGORIES[hot.indexOf(1)];
  };
  assert.ok(x.every(Number.isFinite));
  for (let i = 0; i < all.dataset.length; i++) {
    const c = category(i);
    const p = all.pattern[i];
    if (p < 0) continue;
    const v = (name: string) => x[i * F + col(name)];
    switch (FRAUD_PATTERNS[p]) {
      case 'card testing':
        assert.equal(v('online'), 1);
        assert.ok(v('log amount') < Math.log1p(4.5));
        break;
      case 'account takeover':
        assert.ok(v('log amount / usual') >= Math.log(8) - 1e-5);
        assert.ok(v('log km from home') >= Math.log1p(200) - 1e-5);
        break;
      case 'skimmed card abroad':
        assert.equal(v('abroad'), 1);
        assert.equal(v('online'), 0);
        assert.ok(c === 'electronics' || c === 'jewellery', c);
        break;
      case 'money mule':
        assert.equal(c, 'money transfer');
        break;
    }
  }
});

test('settings that cannot make a bank are refused, naming the bank and the setting', () => {
  assert.throws(() => syntheticTransactions({ banks: [], seed: 1 }), /at least one bank/);
  assert.throws(
    () => syntheticTransactions({ banks: [{ name: 'x', customers: 0, patterns: [] }], seed: 1 }),
    /bank 'x': customers must be a positive integer/,
  );
  assert.throws(
    () =>
      syntheticTransactions({
        banks: [{ name: 'x', customers: 5, patterns: ['phishing' as never] }],
        seed: 1,
      }),
    /bank 'x': unknown fraud pattern 'phishing'/,
  );
});

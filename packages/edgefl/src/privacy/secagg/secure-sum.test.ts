import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';
import { portableSecAggCrypto } from './crypto-suite.js';
import { SecAggError } from './errors.js';
import { EXACT_SUM_LIMIT, secureSum, secureSumBits, secureSumSync } from './secure-sum.js';

const nodeCrypto = nodeSecAggCrypto();

function counts(n: number, length: number, maxValue: number, seed: number): Uint32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const v = Uint32Array.from({ length }, () => rng.int(maxValue + 1));
    // The ends of the range, where an off-by-one in the encoding would show first.
    v[0] = 0;
    v[1] = maxValue;
    return v;
  });
}

function plainSum(vectors: readonly ArrayLike<number>[], who: readonly number[]): number[] {
  const out = new Array<number>(vectors[0].length).fill(0);
  for (const i of who) for (let j = 0; j < out.length; j++) out[j] += vectors[i][j];
  return out;
}

test('secure sum of integer counts equals the plain sum exactly (node and portable crypto)', async () => {
  const vectors = counts(7, 600, 5000, 1);
  const all = [0, 1, 2, 3, 4, 5, 6];
  const viaNode = secureSumSync(vectors, { maxValue: 5000, crypto: nodeCrypto, seed: 3 });
  assert.deepEqual([...viaNode.sum], plainSum(vectors, all));
  assert.deepEqual([...viaNode.survivors], all);
  const viaPortable = await secureSum(vectors, { maxValue: 5000, crypto: portableSecAggCrypto(), seed: 3 });
  assert.deepEqual([...viaPortable.sum], plainSum(vectors, all));
  // The server saw masked vectors only: every client sent as many bytes as the vector takes.
  assert.ok(viaNode.report.bytes.upPerClient >= 600 * 4, `${viaNode.report.bytes.upPerClient} bytes up`);
});

test('secure sum at the edge of the exact range: every client at the largest allowed value', () => {
  const n = 4;
  // 4 clients x (2^22 - 1) is just under 2^24: the largest values the float32 decoding holds exactly.
  const maxValue = 2 ** 22 - 1;
  assert.equal(secureSumBits(maxValue, n), 22);
  const vectors = Array.from({ length: n }, (_, i) => Float64Array.from([maxValue, maxValue - i, 0, 1]));
  const r = secureSumSync(vectors, { maxValue, crypto: nodeCrypto, seed: 1 });
  assert.deepEqual([...r.sum], [4 * maxValue, 4 * maxValue - 6, 0, 4]);
  // One more bit would not decode exactly: refused, naming the cap that would work.
  assert.throws(
    () => secureSumSync(vectors, { maxValue: maxValue + 1, crypto: nodeCrypto }),
    (e: unknown) =>
      e instanceof SecAggError &&
      /4 clients with values up to 4194304 .* at most 2\^24 = 16777216; cap each value at 4194303/.test(
        e.message,
      ),
  );
  assert.equal(EXACT_SUM_LIMIT, 16777216);
});

test('a client dropping after ShareKeys: the sum is the survivors’ sum, its masks removed', () => {
  const vectors = counts(6, 300, 100, 2);
  const r = secureSumSync(vectors, {
    maxValue: 100,
    crypto: nodeCrypto,
    seed: 5,
    dropouts: { afterShareKeys: [2] },
  });
  assert.deepEqual([...r.survivors], [0, 1, 3, 4, 5]);
  assert.deepEqual([...r.recoveredDropouts], [2]);
  assert.deepEqual([...r.sum], plainSum(vectors, [0, 1, 3, 4, 5]));
  // And not the sum with the dropped client, which differs wherever its counts are not 0.
  assert.notDeepEqual([...r.sum], plainSum(vectors, [0, 1, 2, 3, 4, 5]));
});

test('a client dropping after sending its masked input still counts', () => {
  const vectors = counts(5, 50, 10, 3);
  const r = secureSumSync(vectors, {
    maxValue: 10,
    crypto: nodeCrypto,
    dropouts: { afterMaskedInput: [4] },
  });
  assert.deepEqual([...r.sum], plainSum(vectors, [0, 1, 2, 3, 4]));
});

test('secure sum refuses inputs it cannot add exactly, naming the client and the index', () => {
  const ok = [Uint32Array.from([1, 2, 3]), Uint32Array.from([4, 5, 6])];
  const refused = (vectors: ArrayLike<number>[], pattern: RegExp, maxValue = 10) =>
    assert.throws(
      () => secureSumSync(vectors, { maxValue, crypto: nodeCrypto }),
      (e: unknown) => e instanceof SecAggError && pattern.test(e.message),
    );
  refused([ok[0], [4, 5.5, 6]], /client 1's value at index 1 is 5.5, not an integer in \[0, 10\]/);
  refused([[-1, 0, 0], ok[1]], /client 0's value at index 0 is -1/);
  refused([ok[0], [4, 5, 11]], /client 1's value at index 2 is 11/);
  refused([ok[0], [4, 5]], /client 1's vector has length 2, the first has 3/);
  refused([ok[0]], /needs at least 2 clients, got 1/);
  refused(ok, /maxValue must be an integer >= 1, got 0/, 0);
});

/**
 * The worker-thread runner against the single-threaded one: same sum (within the bound), same
 * survivors, same recovered dropouts, same byte counts and the same errors, with dropouts at every
 * stage — and no thread left behind, whether the round succeeds or fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from 'edgefl';
import { nodeSecAggCrypto } from './crypto-node.js';
import { SecAggAbortError, SecAggError } from 'edgefl/internal/privacy/secagg/errors';
import {
  runSecAggInProcess,
  type DropoutSchedule,
  type InProcessOptions,
} from 'edgefl/internal/privacy/secagg/in-process';
import { runSecAggInWorkers, SecAggClientThreads } from './in-workers.js';

const crypto = nodeSecAggCrypto();
const N = 12;
const LENGTH = 3000;
const RANGE = 1;

function inputs(n: number, length: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length }, () => rng.normal() * 0.6));
}

const vectors = inputs(N, LENGTH, 7);
const base: Omit<InProcessOptions, 'dropouts'> = { vectors, range: RANGE, neighbours: 7, seed: 11, crypto };

/**
 * Every test and hook here has a time limit: a round that waits for a thread's reply that never
 * comes must fail with its name, not hang the whole suite (it once did, once, under CI load).
 */
const LIMIT = { timeout: 120_000 };

let threads: SecAggClientThreads;
before(async () => {
  threads = await SecAggClientThreads.start(2);
}, LIMIT);
after(async () => {
  await threads.close();
}, LIMIT);

/** The exact clipped sum of `survivors`' inputs. */
function plainSum(survivors: readonly number[]): Float64Array {
  const out = new Float64Array(LENGTH);
  for (const id of survivors)
    for (let i = 0; i < LENGTH; i++) out[i] += Math.max(-RANGE, Math.min(RANGE, vectors[id][i]));
  return out;
}

async function assertSameRound(dropouts: DropoutSchedule, neighbours = base.neighbours): Promise<void> {
  const single = await runSecAggInProcess({ ...base, neighbours, dropouts });
  const parallel = await threads.run({ ...base, neighbours, dropouts });
  assert.deepEqual(parallel.survivors, single.survivors);
  assert.deepEqual(parallel.recoveredDropouts, single.recoveredDropouts);
  assert.deepEqual(parallel.excluded, single.excluded);
  assert.equal(parallel.errorBound, single.errorBound);
  assert.deepEqual(parallel.bytes, single.bytes);
  const exact = plainSum(single.survivors);
  for (let i = 0; i < LENGTH; i++) {
    // Both decode the same quantized sum ('nearest' rounding is deterministic): equal, and within the bound.
    assert.equal(parallel.sum[i], single.sum[i], `index ${i}`);
    assert.ok(Math.abs(parallel.sum[i] - exact[i]) <= parallel.errorBound, `index ${i} outside the bound`);
  }
  assert.equal(parallel.threads.clientThreads, 2);
  assert.deepEqual(parallel.threads.clientsPerThread, [N / 2, N / 2]);
  assert.ok(parallel.timing.clientMs > 0 && parallel.timing.serverMs > 0);
  assert.ok(parallel.timing.totalMs >= parallel.timing.serverMs);
}

test('no dropouts: the client threads give the single-threaded result', LIMIT, async () => {
  await assertSameRound({});
});

for (const [stage, ids] of [
  ['beforeAdvertise', [2]],
  ['afterAdvertise', [3, 8]],
  ['afterShareKeys', [1, 6]],
  ['afterMaskedInput', [4, 9]],
] as const) {
  test(`dropouts ${stage}: same result on client threads`, LIMIT, async () => {
    await assertSameRound({ [stage]: ids });
  });
}

test('dropouts at every stage in one round: same result on client threads', LIMIT, async () => {
  await assertSameRound(
    {
      beforeAdvertise: [0],
      afterAdvertise: [5],
      afterShareKeys: [7],
      afterMaskedInput: [10],
      // Classic SecAgg (complete graph): four dropouts in one neighbourhood of 7 would leave too few shares.
    },
    11,
  );
});

test('an abort below the threshold gives the same error as the single-threaded runner', LIMIT, async () => {
  for (const dropouts of [
    { beforeAdvertise: [0, 1, 2, 3, 4, 5, 6, 7, 8] },
    { afterShareKeys: [0, 1, 2, 3, 4, 5, 6, 7, 8] },
    { afterMaskedInput: [0, 1, 2, 3, 4, 5, 6, 7, 8] },
  ]) {
    const single = await runSecAggInProcess({ ...base, dropouts }).then(
      () => assert.fail('the single-threaded round should abort'),
      (e: unknown) => e,
    );
    assert.ok(single instanceof SecAggAbortError);
    await assert.rejects(threads.run({ ...base, dropouts }), (e: unknown) => {
      assert.ok(e instanceof SecAggAbortError);
      assert.equal(e.code, single.code);
      assert.equal(e.stage, single.stage);
      assert.equal(e.message, single.message);
      return true;
    });
  }
});

test(
  "a client's own error crosses back from its thread with its class, code and message",
  LIMIT,
  async () => {
    const bad = vectors.map((v) => v.slice());
    bad[5][17] = NaN;
    bad[8][3] = NaN; // a later client: the first one in round order is the one reported
    const single = await runSecAggInProcess({ ...base, vectors: bad }).then(
      () => assert.fail('the single-threaded round should fail'),
      (e: unknown) => e,
    );
    assert.ok(single instanceof SecAggError);
    await assert.rejects(threads.run({ ...base, vectors: bad }), (e: unknown) => {
      assert.ok(e instanceof SecAggError && !(e instanceof SecAggAbortError));
      assert.equal(e.code, 'invalid-input');
      assert.equal(e.message, single.message);
      assert.match(e.message, /index 17/); // client 5's, not client 8's
      return true;
    });
    // The threads are still usable after a failed round.
    await assertSameRound({ afterShareKeys: [2] });
  },
);

test('bad options are refused before any thread starts', LIMIT, async () => {
  await assert.rejects(
    runSecAggInWorkers({ ...base, clientThreads: 2, dropouts: { afterShareKeys: [99] } }),
    /dropout of unknown client 99/,
  );
  await assert.rejects(
    runSecAggInWorkers({ ...base, clientThreads: 0 }),
    /clientThreads must be an integer >= 1/,
  );
  await assert.rejects(
    threads.run({ ...base, encode: false } as InProcessOptions),
    /encode: false is not possible on client threads/,
  );
});

// A child process that does not call process.exit: it ends only if every thread was closed.
const CHILD = `
import { runSecAggInWorkers } from ${JSON.stringify(fileURLToPath(new URL('./in-workers.ts', import.meta.url)))};
const vectors = Array.from({ length: 6 }, (_, c) => Float32Array.from({ length: 100 }, (_, i) => Math.sin(i + c) * 0.5));
const ok = await runSecAggInWorkers({ vectors, range: 1, neighbours: 3, seed: 1, clientThreads: 2 });
console.log('survivors', ok.survivors.join(','));
const failed = await runSecAggInWorkers({ vectors, range: 1, neighbours: 3, seed: 1, clientThreads: 2, dropouts: { afterShareKeys: [0, 1, 2, 3, 4] } }).catch((e) => e.code);
console.log('failed', failed);
`;

test(
  'runSecAggInWorkers closes its threads after a round and after an abort (the process exits)',
  LIMIT,
  () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(
      child.signal,
      null,
      `the child did not exit by itself (threads left open?): ${child.stderr}`,
    );
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /survivors 0,1,2,3,4,5/);
    assert.match(child.stdout, /failed too-few-clients/);
  },
);

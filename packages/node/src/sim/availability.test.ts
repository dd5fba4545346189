import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinRound, lateJoinAvailability } from './availability.js';
import { RoundEngine, type FitExecutor, FedAvg } from 'edgefl';

const ids = Array.from({ length: 10_000 }, (_, k) => String(k));
const clients = ids.map((id) => ({ id, numExamples: 1 }));

test('late joiners: the fraction is the share of late clients, their rounds are uniform over 2..byRound', () => {
  const late = { fraction: 0.3, byRound: 6 };
  const rounds = ids.map((id) => joinRound(7, id, late));
  const lateCount = rounds.filter((r) => r > 1).length;
  // Binomial(10000, 0.3): standard deviation 45.8; 4 of them is a test that essentially never flakes.
  assert.ok(Math.abs(lateCount - 3000) < 4 * 45.8, `${lateCount} late clients`);
  // Each of rounds 2..6 holds a fifth of the late clients: Binomial(~3000, 0.2), sd ~22.
  for (let r = 2; r <= 6; r++) {
    const n = rounds.filter((x) => x === r).length;
    assert.ok(Math.abs(n - lateCount / 5) < 4 * 22, `round ${r}: ${n} joiners`);
  }
  assert.ok(rounds.every((r) => Number.isInteger(r) && r >= 1 && r <= 6));
  // A function of (seed, id) only; another seed draws another set.
  assert.deepEqual(
    ids.map((id) => joinRound(7, id, late)),
    rounds,
  );
  const other = ids.map((id) => joinRound(8, id, late));
  assert.ok(other.some((r, i) => r !== rounds[i]));
  // No late clients: everyone is there from round 1.
  assert.ok(ids.every((id) => joinRound(7, id, { fraction: 0, byRound: 6 }) === 1));
});

test('late joiners: the federation only grows, and is complete by byRound', () => {
  const at = lateJoinAvailability(3, { fraction: 0.5, byRound: 4 });
  let previous = new Set<string>();
  for (let round = 1; round <= 5; round++) {
    const present = new Set(at(round, clients).map((c) => c.id));
    for (const id of previous) assert.ok(present.has(id), `client ${id} left in round ${round}`);
    if (round === 1) assert.ok(present.size > 4700 && present.size < 5300, `${present.size} at first`);
    if (round >= 4) assert.equal(present.size, clients.length);
    previous = present;
  }
});

test('late joiners: bad settings are refused with the setting named', () => {
  assert.throws(() => lateJoinAvailability(1, { fraction: 1, byRound: 4 }), /fraction must be in \[0, 1\)/);
  assert.throws(() => lateJoinAvailability(1, { fraction: -0.1, byRound: 4 }), /fraction/);
  assert.throws(
    () => lateJoinAvailability(1, { fraction: 0.2, byRound: 1 }),
    /byRound must be an integer ≥ 2/,
  );
  assert.throws(() => lateJoinAvailability(1, { fraction: 0.2, byRound: 2.5 }), /byRound/);
});

test('the engine asks only clients that have joined, and skips (records) a round with too few of them', async () => {
  const small = clients.slice(0, 40);
  const late = { fraction: 0.6, byRound: 3 };
  const asked: string[][] = [];
  const executor: FitExecutor = {
    async run(round, global, tasks, onOutcome) {
      asked[round] = tasks.map((t) => t.client.id);
      for (const t of tasks)
        onOutcome({
          clientId: t.client.id,
          ok: true,
          upload: { kind: 'delta', delta: new Float32Array(global.length).fill(1) },
          numExamples: 1,
          seconds: 0,
          bytesUp: 0,
          bytesDown: 0,
        });
    },
  };
  // Every client present is asked (fractionFit 1).
  const engineOver = (minAvailableClients?: number) =>
    new RoundEngine({
      strategy: new FedAvg(),
      clients: small,
      executor,
      fitConfig: { localEpochs: 1, batchSize: 1, lr: 0.1 },
      fractionFit: 1,
      seed: 2,
      minAvailableClients,
      availableAt: lateJoinAvailability(9, late),
    });
  const engine = engineOver();
  const global = new Float32Array(3);
  for (let round = 1; round <= 3; round++) {
    const { report } = await engine.runRound(round, global);
    const joined = small.filter((c) => joinRound(9, c.id, late) <= round).map((c) => c.id);
    assert.equal(report.available, joined.length);
    assert.deepEqual([...asked[round]].sort(), [...joined].sort(), `round ${round}`);
  }
  assert.ok(asked[1].length < small.length && asked[3].length === small.length);

  const strict = engineOver(40);
  const first = await strict.runRound(1, global);
  assert.equal(first.report.updated, false);
  assert.match(first.report.skippedReason ?? '', /clients available, the round needs 40/);
  assert.equal(first.global, global, 'the global model is untouched');
  assert.equal((await strict.runRound(3, global)).report.updated, true);
});

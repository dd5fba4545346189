import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundEngine } from './engine.js';
import type { EvaluateOutcome, FitExecutor } from './executor.js';
import { FedAvg } from './strategies/fedavg.js';
import { withDifferentialPrivacy } from '../privacy/differential-privacy.js';

const clients = Array.from({ length: 10 }, (_, k) => ({ id: `c${k}`, numExamples: 5 }));
const fitConfig = { localEpochs: 1, batchSize: 1, lr: 0.1 };

/** An executor whose clients train to +1 and report fixed evaluation figures. */
function scripted(report: (clientId: string) => EvaluateOutcome): FitExecutor & { fitted: string[][] } {
  const fitted: string[][] = [];
  return {
    fitted,
    async run(round, global, tasks, onOutcome) {
      fitted[round] = tasks.map((t) => t.client.id);
      for (const t of tasks)
        onOutcome({
          ok: true,
          clientId: t.client.id,
          upload: { kind: 'delta', delta: new Float32Array(global.length).fill(1) },
          numExamples: 5,
          seconds: 0,
          bytesUp: 0,
          bytesDown: 0,
        });
    },
    async evaluate(_round, _global, tasks, onOutcome) {
      for (const t of tasks) onOutcome(report(t.client.id));
    },
  };
}

test('federated evaluation: the example-weighted means of the clients’ figures, broken reports left out with their reason', async () => {
  // Client k reports loss k on 10·(k+1) examples, accuracy k/10; three clients report nonsense.
  const figures = (id: string): EvaluateOutcome => {
    const k = Number(id.slice(1));
    if (k === 7) return { ok: true, clientId: id, numExamples: 10, loss: NaN, accuracy: 0.5, seconds: 0 };
    if (k === 8) return { ok: true, clientId: id, numExamples: 10, loss: 1, accuracy: 1.5, seconds: 0 };
    if (k === 9) return { ok: false, clientId: id, reason: 'no test data' };
    return { ok: true, clientId: id, numExamples: 10 * (k + 1), loss: k, accuracy: k / 10, seconds: 0 };
  };
  const engine = new RoundEngine({
    strategy: new FedAvg(),
    clients,
    executor: scripted(figures),
    fitConfig,
    fractionFit: 0.3,
    federatedEvaluation: { fraction: 1 },
    seed: 1,
  });
  const { report } = await engine.runRound(1, new Float32Array(2));
  const fe = report.federatedEvaluation!;
  // Clients 0..6: Σ 10(k+1)·k / Σ 10(k+1) = (Σ k² + k) / (Σ k + 1) over k = 0..6 = 112 / 28 = 4.
  assert.equal(fe.clients, 7);
  assert.equal(fe.examples, 280);
  assert.ok(Math.abs(fe.loss - 4) < 1e-12, `loss ${fe.loss}`);
  assert.ok(Math.abs(fe.accuracy! - 0.4) < 1e-12, `accuracy ${fe.accuracy}`);
  assert.deepEqual(
    fe.failed.map((f) => f.clientId),
    ['c7', 'c8', 'c9'],
  );
  assert.match(fe.failed[0].reason, /loss of NaN/);
  assert.match(fe.failed[1].reason, /accuracy of 1.5, outside \[0, 1\]/);
  assert.equal(fe.failed[2].reason, 'no test data');
});

test('federated evaluation samples among the clients present, on a stream of its own: the fits are the same with it on or off', async () => {
  const asked: string[] = [];
  const withEval = scripted((id) => {
    asked.push(id);
    return { ok: true, clientId: id, numExamples: 1, loss: 0.5, seconds: 0 };
  });
  const without = scripted(() => assert.fail('not asked'));
  const make = (executor: FitExecutor, on: boolean) =>
    new RoundEngine({
      strategy: new FedAvg(),
      clients,
      executor,
      fitConfig,
      fractionFit: 0.3,
      seed: 4,
      availableAt: (_round, all) => all.slice(0, 6),
      ...(on ? { federatedEvaluation: { fraction: 0.5, when: (r: number) => r % 2 === 0 } } : {}),
    });
  const a = make(withEval, true);
  const b = make(without, false);
  let reports = 0;
  for (let round = 1; round <= 4; round++) {
    const ra = await a.runRound(round, new Float32Array(2));
    await b.runRound(round, new Float32Array(2));
    assert.equal(ra.report.federatedEvaluation === undefined, round % 2 === 1, `round ${round}`);
    if (ra.report.federatedEvaluation) {
      assert.equal(ra.report.federatedEvaluation.clients, 3, 'half of the 6 present');
      reports++;
    }
  }
  assert.equal(reports, 2);
  assert.deepEqual(withEval.fitted, without.fitted);
  assert.ok(
    asked.every((id) => Number(id.slice(1)) < 6),
    'only clients present evaluate',
  );
});

test('federated evaluation: refused without an executor that can evaluate, with differential privacy, or with a bad fraction', () => {
  const noEval: FitExecutor = { run: async () => {} };
  assert.throws(
    () =>
      new RoundEngine({
        strategy: new FedAvg(),
        clients,
        executor: noEval,
        fitConfig,
        federatedEvaluation: { fraction: 0.5 },
      }),
    /needs an executor whose clients can evaluate/,
  );
  const dp = withDifferentialPrivacy(new FedAvg(), { noiseMultiplier: 1, clipNorm: 1 });
  assert.throws(
    () =>
      new RoundEngine({
        strategy: dp,
        clients,
        executor: scripted(() => assert.fail()),
        fitConfig,
        federatedEvaluation: { fraction: 0.5 },
      }),
    /differential privacy does not cover/,
  );
  assert.throws(
    () =>
      new RoundEngine({
        strategy: new FedAvg(),
        clients,
        executor: scripted(() => assert.fail()),
        fitConfig,
        federatedEvaluation: { fraction: 0 },
      }),
    /fraction must be in \(0, 1\]/,
  );
});

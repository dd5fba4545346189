/**
 * Every instruction of the fit config that reaches the clients, through the worker pool: each must
 * arrive in the workers and give exactly the upload the in-process executor gives for the same
 * seed — a worker runs the same client pipeline, so anything else means an instruction was lost,
 * or broke (as FedProx's proximal term once did in the workers, where the global model lives in
 * shared memory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from './pool.js';
import {
  RoundEngine,
  type FitExecutor,
  type FitOutcome,
  type FitConfig,
  type Strategy,
  serverSide,
  LocalExecutor,
  FedAvg,
  FedProx,
  withDifferentialPrivacy,
  SubsetDataset,
  dense,
  relu,
  sequential,
  sgd,
  initialParameters,
  Trainer,
  OnnxTeacher,
  exportInferenceModel,
} from 'edgefl';
import { nodeRuntime } from '../runtime/node.js';
import { uploadPayload, type Upload } from 'edgefl/internal/fl/upload';
import { blobs } from '../../../../test/helpers/synthetic.js';

const spec = sequential([dense(8), relu(), dense(3)], { inputShape: [4], seed: 1 });
const parameterCount = initialParameters(spec).values.length;
const data = blobs(180, 4, 3, 5);
const parts = Array.from({ length: 6 }, (_, k) => Uint32Array.from({ length: 30 }, (_, i) => k * 30 + i));
const clients = parts.map((p, k) => ({ id: `client-${k}`, numExamples: p.length }));
const indicesOf = (id: string) => parts[Number(id.split('-')[1])];
const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: sgd({ lr: 0.1 }) };
const base: FitConfig = { localEpochs: 1, batchSize: 10, lr: 0.1 };
const SEED = 9;
const ROUNDS = 2;
/** The teacher every client holds for the distillation case: another (untrained) classifier of the data. */
const teacherSpec = sequential([dense(16), relu(), dense(3)], { inputShape: [4], seed: 2 });
const teacherBytes = exportInferenceModel(teacherSpec, initialParameters(teacherSpec));

interface Case {
  name: string;
  strategy: () => Strategy;
  fitConfig: FitConfig | ((round: number) => FitConfig);
  /** The codec the server decodes, when the clients encode. */
  codec?: string;
  /** The clients keep state between rounds (top-k's residual): the case needs executors of its own. */
  keepsState?: boolean;
  /** What shows the instruction took effect (beyond differing from the plain run). */
  check?: (outcome: Extract<FitOutcome, { ok: true }>) => void;
}

const dpStrategy = (adaptive: boolean) => () =>
  withDifferentialPrivacy(new FedAvg(), {
    noiseMultiplier: 0.5,
    clipNorm: 0.05,
    noise: 'distributed',
    adaptiveClipping: adaptive ? { targetQuantile: 0.5 } : undefined,
    noiseSeed: 4,
  });

const plain: Case = { name: 'plain local SGD', strategy: () => new FedAvg(), fitConfig: base };

const cases: Case[] = [
  {
    name: "FedProx's proximalMu, set by the strategy",
    strategy: () => new FedProx({ proximalMu: 0.5 }),
    fitConfig: base,
  },
  {
    name: 'the run-level proximalMu, under FedAvg',
    strategy: () => new FedAvg(),
    fitConfig: { ...base, proximalMu: 0.5 },
  },
  {
    name: 'localSteps instead of localEpochs',
    strategy: () => new FedAvg(),
    fitConfig: { batchSize: 10, lr: 0.1, localSteps: 2 },
    check: (o) => assert.equal(o.metrics?.steps, 2),
  },
  {
    name: 'two local epochs',
    strategy: () => new FedAvg(),
    fitConfig: { ...base, localEpochs: 2 },
    check: (o) => assert.equal(o.metrics?.steps, 6),
  },
  {
    name: 'a decaying client learning rate',
    strategy: () => new FedAvg(),
    fitConfig: (round) => ({ ...base, lr: 0.1 * 0.5 ** (round - 1) }),
  },
  {
    name: 'local DP-SGD (dpSgd)',
    strategy: () => new FedAvg(),
    fitConfig: { ...base, dpSgd: { noiseMultiplier: 1, clipNorm: 0.5, seeded: true } },
    check: (o) => assert.ok(o.metrics?.dpSgdClippedFraction !== undefined, 'DP-SGD metrics'),
  },
  {
    name: 'client-side clip and noise (dp)',
    strategy: dpStrategy(false),
    fitConfig: base,
  },
  {
    name: 'client-side clip and noise with the adaptive-clipping indicator (dp)',
    strategy: dpStrategy(true),
    fitConfig: base,
    check: (o) => assert.equal(auxiliaryOf(o.upload)?.length, 1),
  },
  ...['float16', 'qsgd8', 'topk:0.25'].map((codec): Case => ({
    name: `codec ${codec}`,
    strategy: () => new FedAvg(),
    fitConfig: { ...base, codec },
    codec,
    check: (o) => assert.equal(o.upload.kind, 'encoded'),
  })),
  {
    name: 'distillation from the teacher each client holds (distillation)',
    strategy: () => new FedAvg(),
    fitConfig: { ...base, distillation: { temperature: 2, alpha: 0.7 } },
  },
  {
    name: 'clip and noise, then encode (dp and codec)',
    strategy: dpStrategy(true),
    fitConfig: { ...base, codec: 'topk:0.25' },
    codec: 'topk:0.25',
    keepsState: true,
    check: (o) => assert.ok(o.upload.kind === 'encoded' && o.upload.auxiliary?.length === 1),
  },
];

/** Each round's uploads as the clients sent them (before the server decodes), by client id. */
type Sent = Map<string, Extract<FitOutcome, { ok: true }>>[];

/** Runs `ROUNDS` rounds of `c` over `transport`; returns what the clients sent and the final model. */
async function runCase(c: Case, transport: FitExecutor): Promise<{ sent: Sent; global: Float32Array }> {
  const sent: Sent = [];
  const recording: FitExecutor = {
    run: (round, global, tasks, onOutcome) =>
      transport.run(round, global, tasks, (o) => {
        if (!o.ok) assert.fail(`${c.name}, round ${round}: client ${o.clientId} ${o.kind}: ${o.reason}`);
        (sent[round - 1] ??= new Map()).set(o.clientId, o);
        onOutcome(o);
      }),
  };
  const engine = new RoundEngine({
    strategy: c.strategy(),
    clients,
    executor: serverSide(recording, { codec: c.codec, parameters: parameterCount, seed: SEED }),
    fitConfig: c.fitConfig,
    // Every client every round, so state kept between rounds (top-k's residual) is used.
    fractionFit: 1,
    seed: 4,
  });
  let global = initialParameters(spec).values;
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await engine.runRound(round, global);
    assert.ok(r.report.updated, `${c.name}, round ${round}: ${r.report.skippedReason}`);
    global = r.global;
  }
  return { sent, global };
}

/** The upload's payload as bytes, for a bit-for-bit comparison. */
function payload(u: Upload): Uint8Array {
  const a = uploadPayload(u);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The auxiliary values an unmasked upload carries (a masked one carries them inside its input). */
function auxiliaryOf(u: Upload): readonly number[] | undefined {
  return u.kind === 'secure' ? undefined : u.auxiliary;
}

test('every fit instruction reaches the clients through the worker pool, and each client uploads exactly what it uploads in process', async () => {
  // One intra-op thread, as in the workers: the same computation, so the same bits.
  const trainer = await Trainer.create(spec, {
    ...trainerOptions,
    runtime: nodeRuntime({ intraOpNumThreads: 1 }),
  });
  // Every case starts from clients without state: a fresh in-process executor each time, and a
  // pool of its own for a case whose clients keep state (a pool takes a while to start).
  const teacher = await OnnxTeacher.create(teacherBytes, { runtime: nodeRuntime({ intraOpNumThreads: 1 }) });
  const inProcess = (c: Case) =>
    runCase(
      c,
      new LocalExecutor(trainer, (id) => new SubsetDataset(data, indicesOf(id)), SEED, undefined, {
        teacher,
      }),
    );
  const newPool = () =>
    new WorkerPool({
      spec,
      trainer: trainerOptions,
      dataset: data,
      indicesOf,
      workers: 2,
      seed: SEED,
      teacher: teacherBytes,
    });
  const shared = newPool();
  const viaPool = async (c: Case) => {
    if (!c.keepsState) return runCase(c, shared);
    const own = newPool();
    try {
      return await runCase(c, own);
    } finally {
      await own.close();
    }
  };
  try {
    const reference = await viaPool(plain);
    for (const c of [plain, ...cases]) {
      const pooled = c === plain ? reference : await viaPool(c);
      const local = await inProcess(c);
      for (let r = 0; r < ROUNDS; r++) {
        assert.equal(pooled.sent[r].size, clients.length, `${c.name}, round ${r + 1}`);
        for (const [id, o] of pooled.sent[r]) {
          const where = `${c.name}, round ${r + 1}, ${id}`;
          const same = local.sent[r].get(id);
          assert.ok(same, `${where}: only in the pool`);
          assert.equal(o.upload.kind, same.upload.kind, where);
          assert.deepEqual(payload(o.upload), payload(same.upload), `${where}: the upload`);
          assert.deepEqual(auxiliaryOf(o.upload), auxiliaryOf(same.upload), `${where}: auxiliary values`);
          assert.equal(o.numExamples, same.numExamples, where);
          assert.equal(o.metrics?.steps, same.metrics?.steps, where);
          c.check?.(o);
        }
      }
      assert.deepEqual(pooled.global, local.global, `${c.name}: the model after ${ROUNDS} rounds`);
      if (c === plain) continue;
      // The instruction changed what the clients did: not the plain run's uploads. (A decaying
      // learning rate starts at the plain one: only its second round differs.)
      const differs = pooled.sent.some((round, r) =>
        [...round].some(([id, o]) => {
          const p = reference.sent[r].get(id)!.upload;
          return o.upload.kind !== p.kind || !sameBytes(payload(o.upload), payload(p));
        }),
      );
      assert.ok(differs, `${c.name}: the clients uploaded what they upload without it`);
    }
  } finally {
    await shared.close();
  }
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

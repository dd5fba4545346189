import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerPool } from './pool.js';
import {
  serverSide,
  type ClientFaults,
  RoundEngine,
  clientSeed,
  LocalExecutor,
  type FitOutcome,
  type FitTask,
  FedAvg,
  SubsetDataset,
  dense,
  relu,
  sequential,
  sgd,
  initialParameters,
  Trainer,
  codecByName,
  topKCodec,
  Rng,
} from 'edgefl';
import { codecRng, decodeClientUpdate, encodeClientUpdate } from 'edgefl/internal/compress/client-codec';
import { runSimulation, type SimulationConfig } from './simulate.js';
import { nodeRuntime } from '../runtime/node.js';
import { blobs, blobsTrainTest } from '../../../../test/helpers/synthetic.js';

const runtime = nodeRuntime();
const spec = sequential([dense(8), relu(), dense(3)], { inputShape: [4], seed: 1, name: 'tiny' });
const n = initialParameters(spec).values.length; // 4·8 + 8 + 8·3 + 3 = 67
const data = blobs(240, 4, 3, 5);
const parts = Array.from({ length: 8 }, (_, k) => Uint32Array.from({ length: 30 }, (_, i) => k * 30 + i));
const clients = parts.map((p, k) => ({ id: `client-${k}`, numExamples: p.length }));
const indicesOf = (id: string) => parts[Number(id.split('-')[1])];
const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: sgd({ lr: 0.1 }) };
const fitConfig = { localEpochs: 1, batchSize: 10, lr: 0.1 };
const tasks: FitTask[] = clients.map((client) => ({ client, config: fitConfig }));
const SEED = 9;

/**
 * A worker pool whose clients encode with `codec`, behind the server's decoding and `faults`: the
 * executor a simulation with that codec runs. `raw` is the pool itself (for its kept client states).
 */
function pool(codec?: string, faults?: ClientFaults) {
  const raw = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf,
    workers: 2,
    seed: SEED,
  });
  const parameters = initialParameters(spec).values.length;
  const served = serverSide(raw, { codec, parameters, faults, seed: SEED });
  return {
    raw,
    codecStateOf: (id: string) => raw.codecStateOf(id),
    get codecStateBytes() {
      return raw.codecStateBytes;
    },
    run: (round: number, global: Float32Array, t: readonly FitTask[], on: (o: FitOutcome) => void) =>
      served.run(
        round,
        global,
        t.map((x) => ({ ...x, config: { ...x.config, codec } })),
        on,
      ),
    close: () => raw.close(),
  };
}

/** Every client's outcome of one round, by client id. */
async function runRound(
  p: ReturnType<typeof pool>,
  round: number,
  global: Float32Array,
): Promise<Map<string, FitOutcome>> {
  const out = new Map<string, FitOutcome>();
  await p.run(round, global, tasks, (o) => out.set(o.clientId, o));
  return out;
}

function deltaOf(o: FitOutcome | undefined): Float32Array {
  assert.ok(o?.ok, `expected an update, got ${JSON.stringify(o)}`);
  assert.equal(o.upload.kind, 'delta');
  return o.upload.delta;
}

/** The raw deltas the same clients compute in this process (the pool's workers compute the same). */
async function rawDeltas(round: number, global: Float32Array): Promise<Map<string, Float32Array>> {
  const trainer = await Trainer.create(spec, { ...trainerOptions, runtime });
  const local = new LocalExecutor(trainer, (id) => new SubsetDataset(data, indicesOf(id)), SEED);
  const out = new Map<string, Float32Array>();
  await local.run(round, global, tasks, (o) => out.set(o.clientId, deltaOf(o)));
  await trainer.dispose();
  return out;
}

test('each codec in a simulation: bytesUp is the encoded size of every aggregated update', async () => {
  const config: SimulationConfig = {
    rounds: 2,
    clients: 8,
    fraction: 0.5,
    partition: 'iid',
    localEpochs: 1,
    batchSize: 10,
    lr: 0.1,
    strategy: 'fedavg',
    seed: 5,
    workers: 2,
    evalEvery: 2,
  };
  const sim = { name: 'blobs', spec, ...blobsTrainTest(240, 90, 4, 3, 1) };
  // Sizes for 67 values: 8-byte header; float16 half of float32's payload; qsgd8 a 4-byte block size,
  // one min/max pair (one block of 512) and a byte a value; topk:0.1 sends k = 7 values of 4 bytes
  // and 7 one-byte index gaps after a 4-byte count.
  const sizes: [string | undefined, number][] = [
    [undefined, 4 * n],
    ['float32', 8 + 4 * n],
    ['float16', 8 + 2 * n],
    ['qsgd8', 8 + 4 + 8 + n],
    ['topk:0.1', 8 + 4 + 7 * 4 + 7],
  ];
  for (const [codec, size] of sizes) {
    const r = await runSimulation({ ...config, codec }, sim, mkdtempSync(join(tmpdir(), 'edgefl-codec-')), {
      log: () => {},
    });
    for (const rep of r.rounds) {
      assert.equal(rep.aggregated, 4, `${codec}: round ${rep.round} aggregated ${rep.aggregated}`);
      assert.equal(rep.bytesUp, 4 * size, `${codec}: round ${rep.round}`);
      assert.equal(rep.bytesDown, 4 * 4 * n, 'the global model still goes down as float32');
    }
    assert.ok(Number.isFinite(r.finalLoss), `${codec}: the decoded updates give a usable model`);
  }
  await assert.rejects(
    runSimulation({ ...config, codec: 'float8' }, sim, mkdtempSync(join(tmpdir(), 'edgefl-codec-'))),
    /unknown codec 'float8'/,
  );
});

test('the server aggregates the decoded updates: float32 is lossless, float16 within half precision', async () => {
  const g0 = initialParameters(spec).values;
  const raw = await rawDeltas(1, g0);
  for (const [codec, tolerance] of [
    ['float32', 0],
    ['float16', 2 ** -11],
  ] as const) {
    const p = pool(codec);
    try {
      const outcomes = await runRound(p, 1, g0);
      for (const [id, expected] of raw) {
        const got = deltaOf(outcomes.get(id));
        for (let i = 0; i < n; i++)
          assert.ok(
            Math.abs(got[i] - expected[i]) <= tolerance * Math.abs(expected[i]) + 1e-7,
            `${codec} ${id}[${i}]: ${got[i]} vs ${expected[i]}`,
          );
      }
    } finally {
      await p.close();
    }
  }
});

test("top-k keeps each client's residual across rounds, whichever worker runs it", async () => {
  const p = pool('topk:0.1');
  try {
    const g0 = initialParameters(spec).values;
    const codec = topKCodec({ fraction: 0.1 });
    const round1 = await runRound(p, 1, g0);
    const raw1 = await rawDeltas(1, g0);
    // Round 1: no residual yet; the pool keeps what each client did not send.
    const residuals = new Map<string, Float32Array>();
    for (const c of clients) {
      const expected = codec.encode(raw1.get(c.id)!);
      assert.deepEqual(deltaOf(round1.get(c.id)), codec.decode(expected.bytes, n));
      const kept = p.codecStateOf(c.id)?.residual;
      assert.deepEqual(kept, expected.state?.residual, `${c.id}: residual after round 1`);
      residuals.set(c.id, kept!.slice()); // the pool's copy moves to a worker next round
    }
    assert.equal(p.codecStateBytes, clients.length * 4 * n);
    // Round 2 from a new global model: each upload is top-k of (delta + the round-1 residual).
    const g1 = g0.map((v, i) => v + 0.01 * Math.sin(i));
    const round2 = await runRound(p, 2, g1);
    const raw2 = await rawDeltas(2, g1);
    let differsWithoutResidual = 0;
    for (const c of clients) {
      const state = { codec: 'topk', residual: residuals.get(c.id)! };
      const withResidual = codec.decode(codec.encode(raw2.get(c.id)!, { state }).bytes, n);
      const without = codec.decode(codec.encode(raw2.get(c.id)!).bytes, n);
      assert.deepEqual(deltaOf(round2.get(c.id)), withResidual, `${c.id}: round 2`);
      if (without.some((v, i) => v !== withResidual[i])) differsWithoutResidual++;
    }
    assert.ok(differsWithoutResidual > 0, 'the residual changes what is sent');
  } finally {
    await p.close();
  }
});

test('qsgd8 rounding is seeded by the client seed: reproducible, and what the client itself would send', async () => {
  const g0 = initialParameters(spec).values;
  const [a, b] = [pool('qsgd8'), pool('qsgd8')];
  try {
    const [ra, rb] = [await runRound(a, 1, g0), await runRound(b, 1, g0)];
    const raw = await rawDeltas(1, g0);
    const codec = codecByName('qsgd8');
    for (const c of clients) {
      assert.deepEqual(deltaOf(ra.get(c.id)), deltaOf(rb.get(c.id)), `${c.id}: same seed, same rounding`);
      const own = encodeClientUpdate(codec, raw.get(c.id)!, clientSeed(SEED, 1, c.id));
      assert.deepEqual(deltaOf(ra.get(c.id)), codec.decode(own.bytes, n));
    }
    // Another round gives another seed, hence other roundings of the same delta.
    const d = raw.get('client-0')!;
    const codes = (seed: number) => encodeClientUpdate(codec, d, seed).bytes;
    assert.notDeepEqual(codes(clientSeed(SEED, 1, 'client-0')), codes(clientSeed(SEED, 2, 'client-0')));
  } finally {
    await a.close();
    await b.close();
  }
});

test('an upload damaged in transit is refused with the decoder’s reason; the round goes on', async () => {
  const g0 = initialParameters(spec).values;
  const p = pool('float16', { corruptRate: 0.5 });
  const plain = pool(undefined, { corruptRate: 1 });
  try {
    const engine = (executor: ReturnType<typeof pool>) =>
      new RoundEngine({ strategy: new FedAvg(), clients, executor, fitConfig, seed: 2 });
    const r = await engine(p).runRound(1, g0);
    const failed = r.report.problems.filter((x) => x.kind === 'failed');
    assert.ok(failed.length > 0 && failed.length < clients.length, `some damaged: ${failed.length}`);
    for (const f of failed)
      assert.match(
        f.reason,
        /^could not decode its float16 update \(\d+ bytes\): float16: .*(truncated|shorter than the 8-byte header)/,
      );
    assert.equal(r.report.aggregated + failed.length, clients.length);
    assert.equal(r.report.updated, true, 'the intact updates still make the round');
    // The same seed damages the same clients.
    const again = await engine(p).runRound(1, g0);
    assert.deepEqual(
      again.report.problems.map((x) => x.clientId).sort(),
      failed.map((x) => x.clientId).sort(),
    );
    // Without a codec a shortened delta reaches the engine, whose length check refuses it.
    const raw = await engine(plain).runRound(1, g0);
    assert.equal(raw.report.aggregated, 0);
    assert.ok(raw.report.problems.every((x) => x.kind === 'excluded'));
    assert.equal(raw.report.updated, false);
  } finally {
    await p.close();
    await plain.close();
  }
});

test('client-codec helpers: decode failures become reasons, the codec stream is not the training stream', () => {
  const codec = codecByName('topk:0.5');
  const bytes = encodeClientUpdate(codec, new Float32Array([1, -2, 3, 0]), 7).bytes;
  assert.deepEqual(decodeClientUpdate(codec, bytes, 4), { ok: true, delta: new Float32Array([0, -2, 3, 0]) });
  const wrong = decodeClientUpdate(codec, bytes, 5);
  assert.deepEqual(wrong, {
    ok: false,
    reason: `could not decode its topk:0.5 update (${bytes.length} bytes): topk: the update holds 4 values, expected 5`,
  });
  const foreign = decodeClientUpdate(codecByName('float16'), bytes, 4);
  assert.match(foreign.ok ? '' : foreign.reason, /encoded by topk, not float16/);
  assert.notEqual(codecRng(7).nextUint32(), new Rng(7).nextUint32());
  assert.equal(codecRng(7).nextUint32(), codecRng(7).nextUint32());
});

/**
 * One client pipeline, whatever runs it: the same federated run — differential privacy with
 * distributed noise and adaptive clipping, an update codec, and secure aggregation with clients
 * vanishing inside the protocol, all on — through the in-process executor and through the worker
 * pool gives the same global model, bit for bit. Every source of randomness is a function of
 * (seed, round, client), the secure sum is exact integer arithmetic whatever order the masked
 * inputs arrive in, and the inner strategy receives one mean update, so nothing may differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from './pool.js';
import {
  RoundEngine,
  type FitExecutor,
  serverSide,
  LocalExecutor,
  SubsetDataset,
  dense,
  relu,
  sequential,
  sgd,
  initialParameters,
  Trainer,
} from 'edgefl';
import { strategyStack } from '../federation/strategy-stack.js';
import { parseSettings, simulationSettings } from '../federation/settings.js';
import { nodeRuntime } from '../runtime/node.js';
import { nodeSecAggCrypto } from '../privacy/secagg/crypto-node.js';
import { blobs } from '../../../../test/helpers/synthetic.js';

const spec = sequential([dense(8), relu(), dense(3)], { inputShape: [4], seed: 1 });
const data = blobs(480, 4, 3, 5);
const parts = Array.from({ length: 16 }, (_, k) => Uint32Array.from({ length: 30 }, (_, i) => k * 30 + i));
const clients = parts.map((p, k) => ({ id: `client-${k}`, numExamples: p.length }));
const indicesOf = (id: string) => parts[Number(id.split('-')[1])];
const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: sgd({ lr: 0.1 }) };
const SEED = 4;
const settings = parseSettings(
  simulationSettings,
  {
    clients: 16,
    fraction: 0.75,
    seed: SEED,
    localSteps: 3,
    batchSize: 10,
    lr: 0.1,
    codec: 'qsgd8',
    dp: { noiseMultiplier: 0.5, clipNorm: 1, noise: 'distributed', targetQuantile: 0.5 },
    secureAggregation: { dropoutAfterShareKeys: 0.15 },
  },
  'test settings',
);

/** Three rounds of the settings' run on `transport`; the global model after each. */
async function run(transport: FitExecutor): Promise<Float32Array[]> {
  const { strategy } = strategyStack(settings, clients.length, { secaggCrypto: nodeSecAggCrypto() });
  const parameters = initialParameters(spec).values;
  const engine = new RoundEngine({
    strategy,
    clients,
    executor: serverSide(transport, {
      codec: settings.codec,
      parameters: parameters.length,
      faults: { protocolDropouts: { afterShareKeys: settings.secureAggregation!.dropoutAfterShareKeys } },
      seed: SEED,
    }),
    fitConfig: { localSteps: settings.localSteps, batchSize: 10, lr: 0.1, codec: settings.codec },
    fractionFit: settings.fraction,
    seed: SEED,
  });
  const globals: Float32Array[] = [];
  let global = parameters;
  for (let round = 1; round <= 3; round++) {
    const { global: next, report } = await engine.runRound(round, global);
    assert.ok(report.updated, `round ${round}: ${report.skippedReason}`);
    assert.ok(report.statistics?.secureAggregation && report.statistics.dp, 'both layers ran');
    globals.push(next);
    global = next;
  }
  return globals;
}

test('DP, a codec and secure aggregation together: the in-process executor and the worker pool give the same model, bit for bit', async () => {
  const trainer = await Trainer.create(spec, { ...trainerOptions, runtime: nodeRuntime() });
  const local = new LocalExecutor(trainer, (id) => new SubsetDataset(data, indicesOf(id)), SEED, undefined, {
    secaggCrypto: nodeSecAggCrypto(),
  });
  const pool = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: data,
    indicesOf,
    workers: 2,
    seed: SEED,
  });
  try {
    const inProcess = await run(local);
    const inWorkers = await run(pool);
    for (let r = 0; r < 3; r++) assert.deepEqual(inWorkers[r], inProcess[r], `round ${r + 1}`);
    // And the run moved: three different models.
    assert.notDeepEqual(inProcess[0], inProcess[2]);
  } finally {
    await pool.close();
    await trainer.dispose();
  }
});

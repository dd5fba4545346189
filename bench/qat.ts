/**
 * Quantization-aware fine-tuning on a model post-training int8 breaks: the FedAvg paper's MNIST 2NN
 * (784-200-200-10), trained here, with one hidden unit scaled 1000× (its incoming weights and bias
 * ×1000, its outgoing weights ÷1000: the same float function, see test/helpers/qat-fixtures.ts).
 * Static int8 per tensor then leaves the other 199 units of that layer a level or two; fine-tuning
 * with fake quantization, centrally and as the local training of FedAvg rounds, is measured
 * against it. Test accuracy on all 10,000 MNIST test images, each int8 model run by onnxruntime-node
 * with its default optimizations (fused integer kernels).
 *
 *   npm run bench:qat [-- --epochs 2 --steps 2000 --rounds 10 --clients 10 --local-steps 100 --unit 3 --retrain --dry-run]
 *
 * The float 2NN is kept in bench/results/qat-mlp.onnx, so a second run starts from the same model
 * (--retrain trains it again). Writes the "Edge optimization: quantization-aware fine-tuning"
 * section of BENCHMARKS.md and bench/results/qat.json; --dry-run runs a tiny version and writes
 * nothing.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FedAvg,
  LocalExecutor,
  RoundEngine,
  SubsetDataset,
  Trainer,
  adam,
  builtInModel,
  classifierAccuracy,
  exportInferenceModel,
  exportModel,
  importModel,
  prepareQuantizationAwareTraining,
  quantizeTrained,
  readEdgeflModel,
  sgd,
  type ModelSpec,
  type ParameterSet,
  type QuantizationAwarePlan,
} from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { loadMnist } from '../packages/cli/src/data/mnist.js';
import { batchesOf } from '../packages/cli/src/model-inputs.js';
import { outlierMlp } from '../test/helpers/qat-fixtures.js';
import { trainedModel } from './trained-model.js';
import { machineLine, updateBenchmarksSection, writeResultJson, helpOnRequest } from './report.js';

helpOnRequest(import.meta.url);

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '2' },
    steps: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '10' },
    'local-steps': { type: 'string', default: '100' },
    unit: { type: 'string', default: '3' },
    retrain: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  },
});
const dry = args['dry-run'];
const positive = (flag: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got '${v}'`);
  return n;
};
const EPOCHS = positive('epochs', args.epochs);
const STEPS = dry ? 100 : positive('steps', args.steps);
const ROUNDS = dry ? 2 : positive('rounds', args.rounds);
const CLIENTS = dry ? 3 : positive('clients', args.clients);
const LOCAL_STEPS = dry ? 20 : positive('local-steps', args['local-steps']);
const UNIT = Number(args.unit);
if (!Number.isInteger(UNIT) || UNIT < 0 || UNIT >= 200)
  throw new Error(`--unit must be a hidden unit 0..199, got '${args.unit}'`);
const CALIBRATION = dry ? 64 : 512;
/**
 * Adam's learning rate by the fraction of fine-tuning done: large first, so that weights rounded to
 * zero grow past half a step, then smaller to settle (a step decay, per phase centrally, per round federated).
 */
const SCHEDULE = [
  { until: 0.25, lr: 1e-2 },
  { until: 0.5, lr: 3e-3 },
  { until: 1, lr: 1e-3 },
] as const;
const lrAt = (fraction: number) =>
  SCHEDULE.find((p) => fraction < p.until)?.lr ?? SCHEDULE[SCHEDULE.length - 1].lr;
const TEST_EXAMPLES = dry ? 1000 : 10_000;
const BATCH = 32;

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const CACHE = join(RESULTS, 'qat-mlp.onnx');
const runtime = nodeRuntime();
const [train, test] = await Promise.all([
  loadMnist({ split: 'train', flatten: true }),
  loadMnist({ split: 'test', flatten: true }),
]);
const seconds = (since: number) => (performance.now() - since) / 1000;

function floatModel(): Promise<Uint8Array> {
  return trainedModel({
    cache: CACHE,
    retrain: args.retrain,
    dry,
    drySteps: 300,
    label: 'the 2NN',
    spec: builtInModel('mlp', { inputShape: [784], classes: 10, seed: 1 }),
    trainer: { loss: 'softmaxCrossEntropy', optimizer: sgd({ lr: 0.05 }), runtime },
    data: train,
    fit: { batchSize: BATCH, epochs: EPOCHS, seed: 1 },
  });
}

const accuracy = async (bytes: Uint8Array) =>
  (await classifierAccuracy(bytes, runtime, test, TEST_EXAMPLES)).accuracy;
const int8Accuracy = (plan: QuantizationAwarePlan, p: ParameterSet | Float32Array) =>
  accuracy(exportModel(quantizeTrained(plan, p).model));

/** Fine-tunes `spec` (float or fake-quantized) from the outlier model's parameters on the whole training split. */
async function fineTune(spec: ModelSpec, start: ParameterSet): Promise<ParameterSet> {
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: adam({ lr: SCHEDULE[0].lr }),
    parameters: start,
    runtime,
  });
  try {
    let done = 0;
    for (const phase of SCHEDULE) {
      const steps = Math.round(phase.until * STEPS) - done;
      if (steps > 0) await trainer.fit(train, { batchSize: BATCH, steps, seed: 2 + done, lr: phase.lr });
      done += steps;
    }
    return trainer.getParameters();
  } finally {
    await trainer.dispose();
  }
}

/** FedAvg rounds in process: every client trains the fake-quantized spec on its own shard of the training split. */
async function federated(plan: QuantizationAwarePlan): Promise<Float32Array> {
  const trainer = await Trainer.create(plan.spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: adam({ lr: SCHEDULE[0].lr }),
    parameters: plan.parameters,
    runtime,
  });
  const per = Math.floor(train.length / CLIENTS);
  const shards = Array.from({ length: CLIENTS }, (_, k) =>
    Uint32Array.from({ length: per }, (_, i) => k * per + i),
  );
  const engine = new RoundEngine({
    strategy: new FedAvg(),
    clients: shards.map((s, k) => ({ id: String(k), numExamples: s.length })),
    executor: new LocalExecutor(trainer, (id) => new SubsetDataset(train, shards[Number(id)]), 1),
    fitConfig: (round) => ({ localSteps: LOCAL_STEPS, batchSize: BATCH, lr: lrAt((round - 1) / ROUNDS) }),
    fractionFit: 1,
    seed: 3,
  });
  let global = plan.parameters.values;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await engine.runRound(round, global);
      if (!r.report.updated)
        throw new Error(`round ${round} did not update the model: ${r.report.skippedReason}`);
      global = r.global;
      console.log(
        `  round ${round}/${ROUNDS}: per-tensor int8 ${(100 * (await int8Accuracy(plan, global))).toFixed(2)}%`,
      );
    }
    return global;
  } finally {
    await trainer.dispose();
  }
}

const trained = readEdgeflModel(importModel(await floatModel()));
const model = { spec: trained.spec, parameters: outlierMlp(trained.parameters, UNIT) };
const calibration = () => batchesOf(train, 0, CALIBRATION, [784]);
const perTensor = await prepareQuantizationAwareTraining(model, {
  runtime,
  calibration: calibration(),
  perChannel: false,
});
const perChannel = await prepareQuantizationAwareTraining(model, {
  runtime,
  calibration: calibration(),
  perChannel: true,
});

interface Row {
  name: string;
  form: string;
  accuracy: number;
  seconds?: number;
}
const rows: Row[] = [];
const floatAccuracy = await accuracy(exportInferenceModel(model.spec, model.parameters));
rows.push({ name: 'the trained 2NN with the outlier unit', form: 'float32', accuracy: floatAccuracy });
rows.push({
  name: 'post-training static int8, per tensor',
  form: 'int8',
  accuracy: await int8Accuracy(perTensor, model.parameters),
});
rows.push({
  name: 'post-training static int8, per channel',
  form: 'int8',
  accuracy: await int8Accuracy(perChannel, model.parameters),
});

console.log(`fine-tuning in float for ${STEPS} steps (the reference: what the extra training alone does)...`);
let started = performance.now();
const floatTuned = await fineTune(model.spec, model.parameters);
const floatSeconds = seconds(started);
rows.push({
  name: `fine-tuned ${STEPS} steps without fake quantization`,
  form: 'float32',
  accuracy: await accuracy(exportInferenceModel(model.spec, floatTuned)),
  seconds: floatSeconds,
});
rows.push({
  name: '… then static int8, per tensor',
  form: 'int8',
  accuracy: await int8Accuracy(perTensor, floatTuned),
});

console.log(`quantization-aware fine-tuning, central, ${STEPS} steps...`);
started = performance.now();
const central = await fineTune(perTensor.spec, perTensor.parameters);
rows.push({
  name: `QAT central (${STEPS} steps) → static int8, per tensor`,
  form: 'int8',
  accuracy: await int8Accuracy(perTensor, central),
  seconds: seconds(started),
});

console.log(
  `quantization-aware fine-tuning, federated: FedAvg, ${CLIENTS} clients, ${ROUNDS} rounds of ${LOCAL_STEPS} local steps...`,
);
started = performance.now();
const global = await federated(perTensor);
rows.push({
  name: `QAT federated (FedAvg, ${CLIENTS} clients, ${ROUNDS} rounds × ${LOCAL_STEPS} local steps) → static int8, per tensor`,
  form: 'int8',
  accuracy: await int8Accuracy(perTensor, global),
  seconds: seconds(started),
});

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
const table = [
  '| model | form | test accuracy | vs float | training time |',
  '|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.form} | ${pct(r.accuracy)} | ${r === rows[0] ? '—' : `${signed(100 * (r.accuracy - floatAccuracy))} points`} | ${r.seconds === undefined ? '—' : `${r.seconds.toFixed(1)} s`} |`,
  ),
].join('\n');
console.log(table);
const [, ptq, , , floatTunedInt8, qatCentral, qatFederated] = rows;
const body = `Command: \`npm run bench:qat\` — ${machineLine()}.

The FedAvg paper's 2NN trained here on MNIST (SGD, batch ${BATCH}, ${EPOCHS} epochs; kept in bench/results so reruns start
from the same model), then hidden unit ${UNIT} of its first layer scaled 1000× — its incoming weights and bias ×1000, its
outgoing weights ÷1000, so the float model computes the same function. One uint8 scale for the whole hidden tensor and
one int8 scale for the whole weight then leave the other 199 units a level or two. Calibration on ${CALIBRATION} training
images (MinMax); fine-tuning with Adam (batch ${BATCH}; lr 0.01 for the first quarter of the steps or rounds, 0.003 for
the second, 0.001 for the second half) on the training split, from the outlier model's parameters, with activation ranges fixed by the
calibration and weight scales following the weights; the federated run
shares the training split into ${CLIENTS} shards of ${Math.floor(train.length / CLIENTS).toLocaleString('en')} images, one per client, and every client trains the
fake-quantized model (the spec that travels). Accuracy on ${TEST_EXAMPLES.toLocaleString('en')} test images.

${table}

Target (issue): QAT brings int8 back to within 0.3 points of float where post-training int8 lost more. Post-training
per-tensor int8 is at **${signed(100 * (ptq.accuracy - floatAccuracy))} points**; after QAT, int8 is at **${signed(100 * (qatCentral.accuracy - floatAccuracy))} points**
(central) and **${signed(100 * (qatFederated.accuracy - floatAccuracy))} points** (federated). The same fine-tuning without fake quantization
separates what the extra training alone does: its per-tensor int8 is at ${signed(100 * (floatTunedInt8.accuracy - floatAccuracy))} points, and its float model at
${signed(100 * (rows[3].accuracy - floatAccuracy))} — so, against a float model given the same training, QAT's int8 is at ${signed(100 * (qatCentral.accuracy - rows[3].accuracy))} points
(central): the training helps both, and fake quantization closes ${(100 * (1 - (rows[3].accuracy - qatCentral.accuracy) / (rows[3].accuracy - floatTunedInt8.accuracy))).toFixed(0)}% of what remains of int8's
gap (${signed(100 * (floatTunedInt8.accuracy - rows[3].accuracy))} points without it).

The activation ranges stay where calibration put them, and per-channel int8 (one weight scale per unit) shows how much
of the loss is the hidden activation's stretched range: ${signed(100 * (rows[2].accuracy - floatAccuracy))} points here. When that range is what breaks
(a unit active on most images, e.g. \`--unit\` the most active one), training cannot widen the other units' share of the
256 levels and fine-tuning recovers only part of the loss: learned ranges (LSQ, PACT) are not implemented.
`;
if (!dry) {
  updateBenchmarksSection('qat', 'Edge optimization: quantization-aware fine-tuning (bench:qat)', body);
  writeResultJson('qat', {
    rows,
    settings: {
      epochs: EPOCHS,
      steps: STEPS,
      rounds: ROUNDS,
      clients: CLIENTS,
      localSteps: LOCAL_STEPS,
      unit: UNIT,
      schedule: SCHEDULE,
    },
  });
} else console.log(body);
process.exit(0);

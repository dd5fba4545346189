/**
 * Quantization-aware fine-tuning: the fake-quantized model means what the static int8 model will
 * mean (run side by side by ONNX Runtime), and on a model post-training int8 breaks — the MLP
 * with an outlier hidden unit, per-tensor int8 — fine-tuning with fake quantization brings the int8
 * model back to the float model's accuracy, centrally and as the local training of FedAvg rounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportModel, importModel } from '../onnx/edit/io.js';
import { exportInferenceModel } from '../model/export.js';
import { initialParameters } from '../model/build.js';
import {
  causalSelfAttention,
  conv2d,
  dense,
  fakeQuantize,
  flatten,
  maxPool2d,
  relu,
  residual,
  sequential,
} from '../model/layers.js';
import { adam } from '../autodiff/optimizers.js';
import { SubsetDataset } from '../data/dataset.js';
import { Trainer } from '../runtime/trainer.js';
import { RoundEngine } from '../fl/engine.js';
import { FedAvg } from '../fl/strategies/fedavg.js';
import { LocalExecutor } from '../federation/local-executor.js';
import { Rng } from '../util/rng.js';
import { readEdgeflModel } from '../model/edgefl-onnx.js';
import { prepareQuantizationAwareTraining, quantizationAwareFineTune, quantizeTrained } from './qat.js';
import {
  argmax,
  agreement,
  mnistSplit,
  runLogits,
  runtime,
  trainedModel,
} from '../../../../test/helpers/quantize-fixtures.js';
import { outlierMlp } from '../../../../test/helpers/qat-fixtures.js';

/** Logits of a model run by ONNX Runtime as written (no fusion into integer kernels). */
async function logitsAsWritten(bytes: Uint8Array, data: Float32Array, dims: readonly number[]) {
  const session = await runtime.InferenceSession.create(bytes, {
    ...runtime.defaultSessionOptions,
    graphOptimizationLevel: 'disabled',
    logSeverityLevel: 3,
  });
  try {
    const out = await session.run({ input: new runtime.Tensor('float32', data, dims) }, ['logits']);
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

function largestDifference(a: Float32Array, b: Float32Array): { difference: number; magnitude: number } {
  let difference = 0;
  let magnitude = 0;
  for (let i = 0; i < a.length; i++) {
    difference = Math.max(difference, Math.abs(a[i] - b[i]));
    magnitude = Math.max(magnitude, Math.abs(b[i]));
  }
  return { difference, magnitude };
}

test('the fake-quantized model computes what the static int8 model computes (a CNN with a residual block)', async () => {
  const spec = sequential(
    [
      conv2d({ filters: 4, kernel: 3, padding: 'same' }),
      relu(),
      maxPool2d(2),
      residual([conv2d({ filters: 4, kernel: 3, padding: 'same' })]),
      relu(),
      flatten(),
      dense(16),
      relu(),
      dense(10),
    ],
    { inputShape: [1, 12, 12], seed: 3 },
  );
  const parameters = initialParameters(spec);
  const rng = new Rng(11);
  const images = (n: number) => Float32Array.from({ length: n * 144 }, () => rng.uniform());
  const calibration = [images(16), images(16), images(16)];
  const data = images(64);
  const dims = [64, 1, 12, 12];
  for (const perChannel of [true, false]) {
    const plan = await prepareQuantizationAwareTraining(
      { spec, parameters },
      { runtime, calibration, perChannel },
    );
    assert.deepEqual(
      plan.layers.map((l) => [l.path, l.output !== undefined]),
      [
        ['0', false],
        ['3.0', true], // its output feeds the residual Add: static int8 quantizes it on its own
        ['6', false],
        ['8', false],
      ],
    );
    // The block's input is read by its skip connection too: quantized around the whole block.
    assert.equal(plan.spec.layers[3].type, 'fakeQuantize');
    const fakeQuantized = await logitsAsWritten(exportInferenceModel(plan.spec, parameters), data, dims);
    const int8 = await logitsAsWritten(exportModel(quantizeTrained(plan, parameters).model), data, dims);
    const { difference, magnitude } = largestDifference(fakeQuantized, int8);
    assert.ok(
      difference <= 1e-5 * magnitude,
      `perChannel ${perChannel}: logits differ by ${difference} (of ${magnitude})`,
    );
    // And not merely because quantization changed nothing: the float model's logits differ.
    const float = await logitsAsWritten(exportInferenceModel(spec, parameters), data, dims);
    assert.ok(largestDifference(float, int8).difference > 100 * difference);
  }
});

test(
  'central: fine-tuning with fake quantization brings per-tensor int8 of the outlier MLP back to float accuracy',
  { timeout: 300_000 },
  async (t) => {
    const f = await trainedModel('mlp');
    const base = readEdgeflModel(importModel(f.float));
    const model = { spec: base.spec, parameters: outlierMlp(base.parameters) };
    const { data, labels, count } = f.heldOut;
    const dims = [count, ...f.inputShape];
    const accuracy = async (bytes: Uint8Array) =>
      agreement(argmax(await runLogits(bytes, data, dims), 10), labels);
    const float = await accuracy(exportInferenceModel(model.spec, model.parameters));
    assert.ok(Math.abs(float - f.accuracy) <= 0.002, 'the outlier unit changes nothing in float');

    const train = await mnistSplit('train');
    const r = await quantizationAwareFineTune(model, {
      runtime,
      calibration: f.calibration,
      perChannel: false,
      data: new SubsetDataset(
        train,
        Uint32Array.from({ length: 8000 }, (_, i) => i),
      ),
      steps: 600,
      batchSize: 32,
      optimizer: adam({ lr: 3e-3 }),
      seed: 1,
    });
    const postTraining = await accuracy(exportModel(quantizeTrained(r.plan, model.parameters).model));
    const fineTuned = exportModel(r.quantized.model);
    const qat = await accuracy(fineTuned);
    t.diagnostic(
      `held-out accuracy: float ${float}, post-training int8 ${postTraining}, after QAT int8 ${qat}`,
    );
    assert.ok(float - postTraining > 0.3, `post-training int8 lost only ${float - postTraining}`);
    assert.ok(qat >= float - 0.003, `int8 after QAT ${qat} vs float ${float}`);
    // What trained is what ships: the fake-quantized model and the int8 one agree.
    const asTrained = await runLogits(exportInferenceModel(r.plan.spec, r.parameters), data, dims);
    const { difference, magnitude } = largestDifference(asTrained, await runLogits(fineTuned, data, dims));
    assert.ok(difference <= 1e-4 * magnitude, `logits differ by ${difference} (of ${magnitude})`);
  },
);

test(
  'federated: FedAvg rounds whose clients train the fake-quantized spec recover the outlier MLP too',
  { timeout: 300_000 },
  async (t) => {
    const f = await trainedModel('mlp');
    const base = readEdgeflModel(importModel(f.float));
    const model = { spec: base.spec, parameters: outlierMlp(base.parameters) };
    const plan = await prepareQuantizationAwareTraining(model, {
      runtime,
      calibration: f.calibration,
      perChannel: false,
    });
    // The spec that travels to the clients carries the fake quantization; nothing else changes.
    const trainer = await Trainer.create(JSON.parse(JSON.stringify(plan.spec)), {
      loss: 'softmaxCrossEntropy',
      optimizer: adam({ lr: 3e-3 }),
      parameters: plan.parameters,
      runtime,
    });
    const train = await mnistSplit('train');
    const shards = Array.from({ length: 4 }, (_, k) =>
      Uint32Array.from({ length: 2000 }, (_, i) => k * 2000 + i),
    );
    const engine = new RoundEngine({
      strategy: new FedAvg(),
      clients: shards.map((s, k) => ({ id: String(k), numExamples: s.length })),
      executor: new LocalExecutor(trainer, (id) => new SubsetDataset(train, shards[Number(id)]), 1),
      fitConfig: { localSteps: 100, batchSize: 32, lr: 3e-3 },
      fractionFit: 1,
      seed: 3,
    });
    let global = plan.parameters.values;
    try {
      for (let round = 1; round <= 3; round++) {
        const r = await engine.runRound(round, global);
        assert.ok(r.report.updated, r.report.skippedReason);
        global = r.global;
      }
    } finally {
      await trainer.dispose();
    }
    const { data, labels, count } = f.heldOut;
    const accuracy = async (bytes: Uint8Array) =>
      agreement(argmax(await runLogits(bytes, data, [count, ...f.inputShape]), 10), labels);
    const float = await accuracy(exportInferenceModel(model.spec, model.parameters));
    const postTraining = await accuracy(exportModel(quantizeTrained(plan, plan.parameters).model));
    const federated = await accuracy(exportModel(quantizeTrained(plan, global).model));
    t.diagnostic(
      `held-out accuracy: float ${float}, post-training int8 ${postTraining}, after 3 federated QAT rounds int8 ${federated}`,
    );
    assert.ok(float - postTraining > 0.3);
    assert.ok(federated >= float - 0.003, `int8 after federated QAT ${federated} vs float ${float}`);
  },
);

test('what cannot be fine-tuned with fake quantization is refused, saying why', async () => {
  const spec = sequential([flatten(), dense(3)], { inputShape: [4] });
  const parameters = initialParameters(spec);
  const calibration = [new Float32Array(8).fill(0.5)];
  const broken = importModel(exportInferenceModel(spec, parameters), 'broken.onnx');
  broken.setMetadata('edgefl.model', '{');
  await assert.rejects(
    prepareQuantizationAwareTraining(broken, { runtime, calibration }),
    /broken.onnx: metadata 'edgefl.model' is not JSON/,
  );
  await assert.rejects(
    prepareQuantizationAwareTraining(
      {
        spec: { ...spec, layers: [flatten(), fakeQuantize({ layer: dense(3), input: { low: 0, high: 1 } })] },
        parameters,
      },
      { runtime, calibration },
    ),
    /already has fakeQuantize layers/,
  );
  // An attention block's projections are Gemms static int8 would quantize, but not layers fake quantization wraps.
  const attention = sequential([causalSelfAttention(2), flatten(), dense(3)], { inputShape: [4, 8] });
  await assert.rejects(
    prepareQuantizationAwareTraining(
      { spec: attention, parameters: initialParameters(attention) },
      { runtime, calibration: [new Float32Array(64).fill(0.5)] },
    ),
    /weight 'causalSelfAttention_0\.qkv\.weight'\) would be quantized by static int8, but fake quantization wraps only dense and conv2d layers: leave it float \(keepFloat: \['Gemm_\d+'\]\)/,
  );
  await assert.rejects(
    quantizationAwareFineTune({ spec, parameters }, { runtime, calibration, data: [], steps: 0 }),
    /steps must be a positive integer, got 0/,
  );
});

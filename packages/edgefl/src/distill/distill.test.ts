/**
 * Distillation end to end on small data: the student's training step against the plain Trainer
 * (alpha 0 is cross-entropy on the hard labels), the teacher's term (alpha 1 follows the teacher
 * even against the labels), the teacher's logits against ONNX Runtime run directly, and distill().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeRuntime } from '@edgefl/node';
import { ArrayDataset, type Dataset } from '../data/dataset.js';
import { dense, relu, sequential } from '../model/layers.js';
import { exportInferenceModel } from '../model/export.js';
import { sgd } from '../autodiff/optimizers.js';
import { Trainer } from '../runtime/trainer.js';
import { Graph } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { encodeModel } from '../onnx/proto.js';
import { DistillationTrainer } from './trainer.js';
import { OnnxTeacher, withTeacherLogits } from './teacher.js';
import { distill } from './distill.js';
import { studentModel } from './student.js';
import { blobsTrainTest } from '../../../../test/helpers/synthetic.js';
import { checkOnnxModel } from '../../../../test/helpers/onnx-checker.js';

const runtime = nodeRuntime();
const { train, test: heldOut } = blobsTrainTest(600, 300, 8, 4, 5, 0.45);
const student = sequential([dense(6), relu(), dense(4)], { inputShape: [8], seed: 3 });

/** A teacher trained here with the plain Trainer: a wider MLP, exported as edgefl exports any model. */
async function trainedTeacher(): Promise<Uint8Array> {
  const spec = sequential([dense(64), relu(), dense(64), relu(), dense(4)], { inputShape: [8], seed: 1 });
  const t = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: sgd({ lr: 0.05 }),
    runtime,
  });
  await t.fit(train, { batchSize: 32, epochs: 10, seed: 1 });
  const bytes = exportInferenceModel(spec, t.getParameters());
  await t.dispose();
  return bytes;
}
const teacherBytes = trainedTeacher();

test('alpha 0 trains exactly as the plain Trainer on the hard labels (same steps, same seed)', async () => {
  const optimizer = sgd({ lr: 0.1, momentum: 0.9 });
  const plain = await Trainer.create(student, { loss: 'softmaxCrossEntropy', optimizer, runtime });
  const ours = await DistillationTrainer.create(student, { optimizer, alpha: 0, runtime });
  // Logits the loss must ignore at alpha 0.
  const noise = Float32Array.from({ length: train.length * 4 }, (_, i) => Math.sin(i) * 5);
  const a = await plain.fit(train, { batchSize: 16, steps: 60, seed: 9 });
  const b = await ours.fit(withTeacherLogits(train, noise, 4), { batchSize: 16, steps: 60, seed: 9 });
  const p = plain.getParameters().values;
  const q = ours.getParameters().values;
  let worst = 0;
  for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]));
  assert.ok(worst < 1e-5, `largest parameter difference ${worst}`);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5 && a.accuracy === b.accuracy, `${a.loss} ${b.loss}`);
  await plain.dispose();
  await ours.dispose();
});

test('alpha 1 follows the teacher, alpha 0 the labels, when the two disagree', async () => {
  const teacher = await OnnxTeacher.create(await teacherBytes, { runtime });
  const logits = await teacher.logits(train);
  // Every hard label moved to the next class: only the teacher still tells the truth.
  const shifted = new ArrayDataset({
    features: train.features,
    labels: Int32Array.from(train.labels as Int32Array, (y) => (y + 1) % 4),
    featureShape: [8],
  });
  const agreementWithTruth = async (alpha: number) => {
    const t = await DistillationTrainer.create(student, {
      optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
      alpha,
      temperature: 2,
      runtime,
    });
    await t.fit(withTeacherLogits(shifted, logits, 4), { batchSize: 32, epochs: 8, seed: 1 });
    const plain = await Trainer.create(student, {
      loss: 'softmaxCrossEntropy',
      optimizer: sgd({ lr: 0.1 }),
      parameters: t.getParameters(),
      runtime,
    });
    const acc = (await plain.evaluate(heldOut)).accuracy!;
    await t.dispose();
    await plain.dispose();
    return acc;
  };
  const followsTeacher = await agreementWithTruth(1);
  const followsLabels = await agreementWithTruth(0);
  assert.ok(followsTeacher > 0.9, `alpha 1: held-out accuracy ${followsTeacher}`);
  assert.ok(followsLabels < 0.1, `alpha 0: held-out accuracy ${followsLabels}`);
  await teacher.release();
});

test("the teacher's logits are its 'logits' output as ONNX Runtime computes it; a softmax-only teacher gives their log-probabilities", async () => {
  const bytes = await teacherBytes;
  const teacher = await OnnxTeacher.create(bytes, { runtime, batchSize: 100 });
  assert.equal(teacher.outputName, 'logits');
  assert.equal(teacher.classes, 4);
  assert.equal(teacher.parameters, 8 * 64 + 64 + 64 * 64 + 64 + 64 * 4 + 4);
  const ours = await teacher.logits(heldOut);
  const session = await runtime.InferenceSession.create(bytes, runtime.defaultSessionOptions);
  const direct = (
    await session.run({ input: new runtime.Tensor('float32', heldOut.features as Float32Array, [300, 8]) })
  ).logits.data as Float32Array;
  assert.deepEqual(Array.from(ours), Array.from(direct));

  // The same scores behind a Softmax, as the only output.
  const g = new Graph('probs');
  const x = g.input('x', 'float32', ['batch', 4]);
  g.output(op.softmax(x, -1), 'p');
  const probsOnly = await OnnxTeacher.create(encodeModel(g), { runtime });
  assert.ok(probsOnly.probabilities);
  const asFeatures: Dataset = new ArrayDataset({
    features: direct.slice(),
    labels: heldOut.labels,
    featureShape: [4],
  });
  const logProbs = await probsOnly.logits(asFeatures);
  for (let i = 0; i < 300; i++) {
    const row = direct.subarray(i * 4, i * 4 + 4);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    for (let c = 0; c < 4; c++) assert.ok(Math.abs(logProbs[i * 4 + c] - (row[c] - lse)) < 1e-4);
  }
  await teacher.release();
  await probsOnly.release();
  await session.release();
});

test('a teacher that cannot score the data is refused by name', async () => {
  await assert.rejects(
    OnnxTeacher.create(new Uint8Array([1, 2, 3, 4]), { runtime, name: 'junk.onnx' }),
    /junk\.onnx/,
  );
  const teacher = await OnnxTeacher.create(await teacherBytes, { runtime, name: 't.onnx' });
  const wide = new ArrayDataset({
    features: new Float32Array(20),
    labels: new Int32Array(2),
    featureShape: [10],
  });
  await assert.rejects(
    teacher.logits(wide),
    /t\.onnx's input 'input' takes \[batch, 8\]; the data's examples are \[10\]/,
  );
  assert.throws(
    () => withTeacherLogits(train, new Float32Array(train.length * 3), 3),
    /the data has 4 classes, the teacher scores 3/,
  );
  await teacher.release();
  const threeClasses = sequential([dense(3)], { inputShape: [8], seed: 1 });
  await assert.rejects(
    distill({ teacher: await teacherBytes, student: threeClasses, data: train, runtime }),
    /the student scores 3 classes, the teacher 4/,
  );
});

test('distill(): a student 10x smaller learns from the teacher and comes back as a checked .onnx with its figures', async () => {
  const bytes = await teacherBytes;
  const r = await distill({
    teacher: bytes,
    student: studentModel('mlp:6', { inputShape: [8], classes: 4, seed: 3 }),
    data: train,
    test: heldOut,
    epochs: 10,
    runtime,
  });
  assert.equal(r.temperature, 4);
  assert.equal(r.alpha, 0.9);
  assert.equal(r.studentParameters, 8 * 6 + 6 + 6 * 4 + 4);
  assert.ok(r.teacherParameters! / r.studentParameters > 10);
  assert.equal(r.fits.length, 10);
  assert.ok(r.teacherAccuracy! > 0.9, `teacher ${r.teacherAccuracy}`);
  assert.ok(
    r.studentAccuracy! > r.teacherAccuracy! - 0.05,
    `student ${r.studentAccuracy}, teacher ${r.teacherAccuracy}`,
  );
  await checkOnnxModel(r.onnx);
  assert.equal(r.parameters.size, r.studentParameters);
});

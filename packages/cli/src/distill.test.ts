import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dense, exportInferenceModel, flatten, importModel, initialParameters, sequential } from 'edgefl';
import { runCommand } from '../../../test/helpers/cli.js';
import { checkOnnxModel } from '../../../test/helpers/onnx-checker.js';
import { trainedModel } from '../../../test/helpers/quantize-fixtures.js';
import { registerDistillCommand } from './distill.js';

const distill = (...args: string[]) => runCommand(registerDistillCommand, ['distill', ...args]);

test(
  'edgefl distill: a student 30x smaller than the trained MNIST MLP, from its logits, written as a checked .onnx',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefl-distill-'));
    const teacher = join(dir, 'teacher.onnx');
    writeFileSync(teacher, (await trainedModel('mlp')).float);
    const out = join(dir, 'student.onnx');
    const lines = (
      await distill(
        '--teacher',
        teacher,
        '--student',
        'mlp:8',
        '--dataset',
        'mnist',
        '--limit',
        '3000',
        '--steps',
        '300',
        '--temperature',
        '3',
        '--out',
        out,
      )
    ).join('\n');
    // The teacher is the FedAvg 2NN: 784-200-200-10; the student 784-8-10.
    assert.match(lines, /parameters: teacher 199,210, student 6,370 \(31\.3x smaller\)/);
    assert.match(lines, /T 3, alpha 0\.9/);
    const m = /test accuracy on 3000 examples: teacher (\d+\.\d+)%, student (\d+\.\d+)%/.exec(lines);
    assert.ok(m, lines);
    const [teacherAcc, studentAcc] = [Number(m[1]), Number(m[2])];
    assert.ok(teacherAcc > 80 && studentAcc > 75, lines);
    const bytes = readFileSync(out);
    await checkOnnxModel(bytes);
    const written = importModel(bytes);
    assert.deepEqual(
      written.outputs.map((o) => o.name),
      ['logits', 'probabilities'],
    );

    // A convolutional student, a few steps: the spec's shape is what gets built and written.
    const cnnOut = join(dir, 'cnn.onnx');
    const cnn = (
      await distill(
        '--teacher',
        teacher,
        '--student',
        'cnn:4,8,16',
        '--limit',
        '500',
        '--steps',
        '20',
        '--out',
        cnnOut,
      )
    ).join('\n');
    // conv 4·25+4, conv 8·4·25+8, dense 392·16+16, dense 16·10+10
    assert.match(cnn, /student 7,370 \(27\.0x smaller\)/);
    assert.equal(importModel(readFileSync(cnnOut)).nodes('Conv').length, 2);
  },
);

test('edgefl distill: a missing or non-ONNX teacher, a bad student spec, a teacher of other classes are refused by name, writing nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-distill-bad-'));
  const out = join(dir, 'student.onnx');
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'not a model');
  const threeClasses = join(dir, 'three.onnx');
  const spec = sequential([flatten(), dense(3)], { inputShape: [1, 28, 28], seed: 1 });
  writeFileSync(threeClasses, exportInferenceModel(spec, initialParameters(spec)));
  const missing = join(dir, 'nope.onnx');

  await assert.rejects(
    distill('--teacher', missing, '--student', 'mlp:8', '--out', out),
    /--teacher .*nope\.onnx: no such file/,
  );
  await assert.rejects(
    distill('--teacher', junk, '--student', 'mlp:8', '--out', out),
    /--teacher .*junk\.onnx/,
  );
  await assert.rejects(
    distill('--teacher', threeClasses, '--student', 'mlp:8', '--out', out),
    /--teacher .*three\.onnx scores 3 classes \(output 'logits'\); mnist has 10/,
  );
  await assert.rejects(
    distill('--teacher', threeClasses, '--student', 'mlp:8,x', '--out', out),
    /--student 'mlp:8,x': 'x' is not a positive integer/,
  );
  await assert.rejects(
    distill('--teacher', threeClasses, '--student', 'rnn:8', '--out', out),
    /--student 'rnn:8': unknown form; expected mlp:/,
  );
  await assert.rejects(
    distill('--teacher', threeClasses, '--student', 'cnn:8,16', '--out', out),
    /a cnn student has 3 sizes/,
  );
  await assert.rejects(
    distill('--teacher', threeClasses, '--student', join(dir, 'none.json'), '--out', out),
    /--student .*none\.json: no such file/,
  );
  await assert.rejects(
    distill('--teacher', threeClasses, '--student', 'mlp:8', '--out', threeClasses),
    /would be overwritten/,
  );
  await assert.rejects(
    distill('--teacher', threeClasses, '--student', 'mlp:8', '--alpha', '2', '--out', out),
    /--alpha must be a number >= 0 <= 1, got '2'/,
  );
  assert.ok(!existsSync(out));
});

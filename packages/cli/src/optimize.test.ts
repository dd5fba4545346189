import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInModel, exportInferenceModel, importModel, initialParameters } from 'edgefl';
import { runCommand } from '../../../test/helpers/cli.js';
import { checkOnnxModel } from '../../../test/helpers/onnx-checker.js';
import { registerOptimizeCommand } from './optimize.js';

const optimize = (...args: string[]) => runCommand(registerOptimizeCommand, ['optimize', ...args]);

test(
  'edgefl optimize: static and dynamic int8 of the MNIST CNN, each node reported with the integer kernel that runs it',
  { timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefl-optimize-'));
    const spec = builtInModel('cnn', { inputShape: [1, 28, 28], classes: 10, seed: 1 });
    const float = exportInferenceModel(spec, initialParameters(spec));
    const input = join(dir, 'cnn.onnx');
    writeFileSync(input, float);

    const staticOut = join(dir, 'cnn-int8.onnx');
    const s = (
      await optimize(
        input,
        '--int8',
        'static',
        '--calibrate',
        'mnist:64',
        '--method',
        'percentile',
        '--out',
        staticOut,
      )
    ).join('\n');
    assert.match(s, /calibrating on the first 64 mnist training examples \(percentile\)/);
    // The speed guard ran (on by default): both latencies are reported. Which nodes it keeps float
    // depends on this machine's timings, so the test only holds it to its account: each of the four
    // nodes runs as an integer kernel or was kept float for speed, and every node left in int8 fused.
    assert.match(s, /batch-1 latency on onnxruntime-node \d+\.\d+ ms float, \d+\.\d+ ms now/);
    const fused = (s.match(/runs as (QLinearConv|QGemm)/g) ?? []).length;
    const keptForSpeed = (s.match(/kept float: \w+: speed:/g) ?? []).length;
    assert.equal(fused + keptForSpeed, 4, s);
    assert.match(s, new RegExp(`${fused} of ${fused} quantized nodes run as integer kernels here`));
    const int8 = readFileSync(staticOut);
    assert.ok(float.length / int8.length >= 3.5, `${float.length} / ${int8.length}`);
    await checkOnnxModel(int8);
    assert.ok(importModel(int8).nodes('QuantizeLinear').length > 0);

    const dynamicOut = join(dir, 'cnn-dyn.onnx');
    const d = (
      await optimize(
        input,
        '--int8',
        'dynamic',
        '--per-tensor',
        '--validate',
        'mnist:300',
        '--max-loss',
        '100',
        // The accuracy guard alone: the speed guard's choices depend on this machine's timings.
        '--no-speed-guard',
        '--out',
        dynamicOut,
      )
    ).join('\n');
    // The accuracy guard scored both models on held-out training examples (a bound of 100 points
    // keeps every node in int8).
    assert.match(d, /validating on the last 300 mnist training examples/);
    assert.match(d, /accuracy \d+\.\d\d% float, \d+\.\d\d% now/);
    assert.doesNotMatch(d, /kept float/);
    assert.match(d, /per-tensor weights -> runs as DynamicQuantizeMatMul/);
    assert.match(d, /left float: Conv node 'Conv_1'/);
    await checkOnnxModel(readFileSync(dynamicOut));

    // What cannot be done is refused, naming the problem, and nothing is written.
    const nothing = join(dir, 'nothing.onnx');
    await assert.rejects(
      optimize(input, '--int8', 'static', '--out', nothing),
      /--int8 static needs --calibrate/,
    );
    await assert.rejects(
      optimize(input, '--int8', 'int4', '--out', nothing),
      /--int8: expected static or dynamic, got 'int4'/,
    );
    await assert.rejects(
      optimize(input, '--int8', 'dynamic', '--max-loss', '0.3', '--out', nothing),
      /--max-loss needs --validate/,
    );
    await assert.rejects(
      optimize(input, '--int8', 'dynamic', '--runtime', 'gpu', '--out', nothing),
      /--runtime: expected native or wasm, got 'gpu'/,
    );
    await assert.rejects(
      optimize(input, '--int8', 'dynamic', '--validate', 'mnist:10', '--max-loss', 'some', '--out', nothing),
      /--max-loss: expected accuracy points >= 0/,
    );
    await assert.rejects(
      optimize(input, '--int8', 'static', '--calibrate', 'mnist', '--out', nothing),
      /--calibrate: expected <dataset>:<examples>/,
    );
    await assert.rejects(
      optimize(join(dir, 'missing.onnx'), '--int8', 'dynamic', '--out', nothing),
      /missing\.onnx: no such file/,
    );
    writeFileSync(join(dir, 'text.onnx'), 'not a model');
    await assert.rejects(
      optimize(join(dir, 'text.onnx'), '--int8', 'dynamic', '--out', nothing),
      /is not an ONNX model/,
    );
    // A model whose input does not take MNIST's examples: calibration names the input and the shapes.
    const other = builtInModel('mlp', { inputShape: [100], classes: 10, seed: 1 });
    writeFileSync(join(dir, 'mlp100.onnx'), exportInferenceModel(other, initialParameters(other)));
    await assert.rejects(
      optimize(join(dir, 'mlp100.onnx'), '--int8', 'static', '--calibrate', 'mnist:32', '--out', nothing),
      (e: Error) => /input/.test(e.message) && /100/.test(e.message),
    );
    assert.equal(existsSync(nothing), false);
    // The output may not be the input (it would be replaced), nor a folder.
    await assert.rejects(
      optimize(input, '--int8', 'dynamic', '--out', input),
      /is the input .*: it would be overwritten/,
    );
    assert.deepEqual(readFileSync(input), Buffer.from(float));
    await assert.rejects(
      optimize(input, '--int8', 'dynamic', '--out', dir),
      /is a folder; give the path of the file/,
    );
  },
);

test('edgefl optimize --int4: a transformer gets 4-bit weights, an int8 embedding, and each matrix runs as MatMulNBits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-optimize-int4-'));
  const spec = builtInModel('transformer', {
    inputShape: [16],
    classes: 500,
    vocabSize: 500,
    dim: 64,
    blocks: 1,
    heads: 2,
    seed: 1,
  });
  const float = exportInferenceModel(spec, initialParameters(spec));
  const input = join(dir, 'lm.onnx');
  writeFileSync(input, float);
  const out = join(dir, 'lm-int4.onnx');
  // A model this small is not faster in 4 bits (the speed guard would return it float): the guard
  // is off here, and bench:optimize-lm measures a real one.
  const lines = (await optimize(input, '--int4', '--block', '32', '--no-speed-guard', '--out', out)).join(
    '\n',
  );
  assert.equal((lines.match(/4-bit weights in blocks of 32 -> runs as MatMulNBits/g) ?? []).length, 5, lines);
  assert.match(lines, /embedding table '.*' \[500, 64\] stored as int8 rows/);
  assert.match(lines, /5 of 5 quantized nodes run as 4-bit kernels here/);
  const int4 = readFileSync(out);
  await checkOnnxModel(int4);
  assert.ok(float.length / int4.length >= 3, `${float.length} / ${int4.length}`);

  const nothing = join(dir, 'nothing.onnx');
  await assert.rejects(
    optimize(input, '--out', nothing),
    /say how to quantize: --int8 static, --int8 dynamic or --int4/,
  );
  await assert.rejects(
    optimize(input, '--int4', '--int8', 'dynamic', '--out', nothing),
    /--int8 and --int4: choose one/,
  );
  await assert.rejects(
    optimize(input, '--int4', '--block', '24', '--out', nothing),
    /--block: expected a power of two/,
  );
  await assert.rejects(
    optimize(input, '--int4', '--accuracy-level', '9', '--out', nothing),
    /--accuracy-level: expected 0, 1, 2, 3 or 4, got '9'/,
  );
  await assert.rejects(
    optimize(input, '--int8', 'dynamic', '--symmetric', '--out', nothing),
    /--symmetric applies to --int4 only/,
  );
  await assert.rejects(
    optimize(input, '--int4', '--calibrate', 'mnist:32', '--out', nothing),
    /--calibrate is for --int8 static/,
  );
  assert.equal(existsSync(nothing), false);
});

test('edgefl optimize --clean: GELU fused with the same outputs, alone or before --int4', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-optimize-clean-'));
  const spec = builtInModel('transformer', {
    inputShape: [16],
    classes: 200,
    vocabSize: 200,
    dim: 32,
    blocks: 2,
    heads: 2,
    seed: 1,
  });
  const input = join(dir, 'lm.onnx');
  writeFileSync(input, exportInferenceModel(spec, initialParameters(spec)));
  const out = join(dir, 'lm-clean.onnx');
  const lines = (await optimize(input, '--clean', '--out', out)).join('\n');
  assert.match(lines, /fuse-gelu: 2 changes/);
  assert.match(lines, /same outputs on example inputs/);
  const cleaned = importModel(readFileSync(out));
  assert.equal(cleaned.nodes('Gelu', 'com.microsoft').length, 2);
  assert.equal(cleaned.nodes('Erf').length, 0);
  await checkOnnxModel(readFileSync(out));

  const both = join(dir, 'lm-clean-int4.onnx');
  const q = (await optimize(input, '--clean', '--int4', '--no-speed-guard', '--out', both)).join('\n');
  assert.match(q, /fuse-gelu: 2 changes[\s\S]*runs as MatMulNBits/);
  assert.equal(importModel(readFileSync(both)).nodes('Gelu', 'com.microsoft').length, 2);
  await assert.rejects(
    optimize(input, '--clean', '--calibrate', 'mnist:8', '--out', join(dir, 'no.onnx')),
    /--calibrate applies to --int8 or --int4, not to cleaning alone/,
  );
  assert.equal(existsSync(join(dir, 'no.onnx')), false);
});

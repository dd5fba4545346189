import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  builtInModel,
  exportInferenceModel,
  exportModel,
  importModel,
  initialParameters,
  readEdgeflModel,
} from 'edgefl';
import { trainedModel } from '../../../test/helpers/quantize-fixtures.js';
import { runCommand } from '../../../test/helpers/cli.js';
import { checkOnnxModel } from '../../../test/helpers/onnx-checker.js';
import { registerOptimizeCommand } from './optimize.js';

const optimize = (...args: string[]) => runCommand(registerOptimizeCommand, ['optimize', ...args]);

const zeros = (data: ArrayLike<number>) => {
  let z = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) z++;
  return z / data.length;
};

test(
  'edgefl optimize --prune --structured --finetune: units removed, weights zeroed gradually, accuracy reported; refusals write nothing',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefl-prune-'));
    // The trained MNIST MLP (86% after 400 steps); it takes flat [784] inputs, MNIST's are [1, 28, 28].
    const input = join(dir, 'mlp.onnx');
    writeFileSync(input, (await trainedModel('mlp')).float);

    const small = join(dir, 'small.onnx');
    const lines = (
      await optimize(
        input,
        '--prune',
        '0.8',
        '--structured',
        '0.5',
        '--finetune',
        'mnist',
        '--steps',
        '40',
        '--out',
        small,
      )
    ).join('\n');
    assert.match(
      lines,
      /Gemm_\d+ \(Gemm, dense_1\.weight\): removed 100 of 200 units \(inputs cut in Gemm_\d+\)/,
    );
    assert.equal((lines.match(/removed 100 of 200 units/g) ?? []).length, 2, lines);
    assert.match(lines, /left whole: .*reach the graph output 'logits'/);
    assert.match(lines, /fine-tuned 40 steps on mnist while pruning gradually to 80\.0% \(per layer/);
    assert.equal((lines.match(/: 80\.0% of [\d,]+ weights zeroed/g) ?? []).length, 3, lines);
    assert.match(
      lines,
      /size \d+ KiB -> \d+ KiB \(gzip \d+ KiB -> \d+ KiB\); mnist test accuracy \d+\.\d% -> \d+\.\d%/,
    );
    const accuracyOf = (text: string) => Number(/-> (\d+\.\d)%$/m.exec(text)![1]);
    // The same pruning at once, without fine-tuning, loses far more: what the 40 steps bought.
    const oneShotOut = join(dir, 'one-shot.onnx');
    const once = (
      await optimize(input, '--prune', '0.8', '--structured', '0.5', '--eval', 'mnist', '--out', oneShotOut)
    ).join('\n');
    assert.ok(
      accuracyOf(lines) >= 80 && accuracyOf(lines) > accuracyOf(once) + 5,
      `test accuracy ${accuracyOf(lines)}% fine-tuned, ${accuracyOf(once)}% at once`,
    );

    const bytes = new Uint8Array(readFileSync(small));
    await checkOnnxModel(bytes);
    const read = readEdgeflModel(importModel(bytes));
    assert.deepEqual(
      read.spec.layers.flatMap((l) => (l.type === 'dense' ? [l.units] : [])),
      [100, 100, 10],
    );
    for (const name of ['dense_1.weight', 'dense_3.weight', 'dense_5.weight'])
      assert.ok(
        zeros(read.parameters.view(name)) >= 0.8,
        `${name}: ${zeros(read.parameters.view(name))} zero`,
      );

    // One-shot (no fine-tuning) on a model that is not edgefl's: global threshold, and the honest note.
    const foreign = join(dir, 'foreign.onnx');
    const m = importModel(new Uint8Array(readFileSync(input)));
    m.deleteMetadata('edgefl.model');
    writeFileSync(foreign, exportModel(m));
    const sparse = join(dir, 'sparse.onnx');
    const oneShot = (
      await optimize(foreign, '--prune', '0.5', '--prune-scope', 'global', '--out', sparse)
    ).join('\n');
    assert.match(
      oneShot,
      /zeroed 50\.0% of the weights by magnitude \(one global threshold; no fine-tuning\)/,
    );
    assert.match(oneShot, /no test accuracy \(give --eval <dataset>\)/);
    assert.match(oneShot, /ONNX Runtime runs the model no faster/);
    const s = importModel(new Uint8Array(readFileSync(sparse)));
    const all = ['dense_1.weight', 'dense_3.weight', 'dense_5.weight'].map(
      (n) => s.initializer(n)!.data as Float32Array,
    );
    const total = all.reduce((n, a) => n + a.length, 0);
    assert.equal(Math.round(all.reduce((n, a) => n + zeros(a) * a.length, 0)), Math.round(0.5 * total));

    // Refused, naming the problem, and nothing written.
    const nothing = join(dir, 'nothing.onnx');
    await assert.rejects(
      optimize(foreign, '--prune', '0.8', '--finetune', 'mnist', '--out', nothing),
      /foreign\.onnx has no 'edgefl\.model' metadata: it was not exported by edgefl/,
    );
    await assert.rejects(
      optimize(input, '--prune', '1.5', '--out', nothing),
      /--prune: expected a fraction in \[0, 1\) such as 0\.5, got '1\.5'/,
    );
    await assert.rejects(
      optimize(input, '--prune', '0.5', '--steps', '10', '--out', nothing),
      /--steps applies to --finetune/,
    );
    await assert.rejects(
      optimize(input, '--structured', '0.5', '--finetune', 'cifar', '--out', nothing),
      /--finetune: unknown dataset 'cifar'/,
    );
    await assert.rejects(
      optimize(input, '--prune', '0.5', '--calibrate', 'mnist:64', '--out', nothing),
      /--calibrate applies to --int8 or --int4/,
    );
    await assert.rejects(
      optimize(input, '--out', nothing),
      /say how to quantize: --int8 static, --int8 dynamic or --int4; or how to prune: --prune <sparsity>, --structured <fraction>/,
    );
    assert.equal(existsSync(nothing), false);
  },
);

test(
  'edgefl optimize --structured with --int8: the pruned model is what gets quantized',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefl-prune-int8-'));
    const spec = builtInModel('mlp', { inputShape: [1, 28, 28], classes: 10, seed: 1 });
    const input = join(dir, 'mlp.onnx');
    writeFileSync(input, exportInferenceModel(spec, initialParameters(spec)));
    const out = join(dir, 'small-int8.onnx');
    const lines = (
      await optimize(input, '--structured', '0.5', '--int8', 'dynamic', '--no-speed-guard', '--out', out)
    ).join('\n');
    assert.match(lines, /removed 100 of 200 units/);
    assert.match(lines, /runs as DynamicQuantizeMatMul/);
    const q = importModel(new Uint8Array(readFileSync(out)));
    assert.ok(q.nodes('DynamicQuantizeLinear').length > 0);
    // The first hidden layer's int8 weight has 100 rows left.
    const weights = q
      .initializerNames()
      .map((n) => q.initializerProto(n)!)
      .filter((t) => t.dataType === 3 && t.dims.length === 2);
    assert.ok(
      weights.some((t) => t.dims.map(Number).join() === '784,100'),
      weights.map((t) => t.dims.join('x')).join(' '),
    );
  },
);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { nodeRuntime } from '@edgefl/node';
import { runCommand } from '../../../test/helpers/cli.js';
import { registerBenchCommand } from './bench.js';
import { untrainedCnn, staticInt8 } from '../../../test/helpers/int8-cnn.js';

test(
  'edgefl bench: one table of size, latency and accuracy, each model against the first, as Markdown and a chart',
  { timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefl-bench-'));
    const float = untrainedCnn();
    const int8 = await staticInt8(nodeRuntime(), float);
    writeFileSync(join(dir, 'float.onnx'), float);
    writeFileSync(join(dir, 'int8.onnx'), int8);
    const out = join(dir, 'report');
    const lines = await runCommand(registerBenchCommand, [
      'bench',
      join(dir, 'float.onnx'),
      join(dir, 'int8.onnx'),
      '--dataset',
      'mnist',
      '--examples',
      '300',
      '--runs',
      '20',
      '--out',
      out,
    ]);
    const md = readFileSync(join(out, 'bench.md'), 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| float.onnx') || l.startsWith('| int8.onnx'));
    assert.equal(rows.length, 2, md);
    const cells = (row: string) => row.split('|').map((c) => c.trim());
    const header = cells(md.split('\n').find((l) => l.startsWith('| model'))!);
    const col = (name: string) => header.indexOf(name);
    const [f, q] = rows.map(cells);
    // The first model is the reference: every ratio is 1.
    assert.equal(f[col('size ÷ first')], '1.00×');
    assert.equal(f[col('accuracy − first')], '0.00 points');
    // The int8 file is about a quarter of the float one, and its ratio is what the files say.
    assert.equal(q[col('size ÷ first')], `${(int8.length / float.length).toFixed(2)}×`);
    assert.ok(int8.length / float.length < 0.3);
    assert.match(q[col('accuracy')], /^\d+\.\d\d%$/);
    assert.ok(col('p50 (batch 1, 1 thread)') > 0 && col('p95 (batch 32, 2 threads)') > 0, header.join(' | '));
    for (const f of ['bench.svg', 'bench.png']) assert.ok(existsSync(join(out, f)), f);
    assert.match(
      lines.join('\n'),
      /\[2\/2\] \(onnxruntime-node\) int8\.onnx: timing 2 settings × 20 calls, accuracy on 300 examples/,
    );
    // A missing file is named before anything is timed.
    await assert.rejects(
      runCommand(registerBenchCommand, ['bench', join(dir, 'float.onnx'), join(dir, 'nope.onnx')]),
      /nope\.onnx: no such file/,
    );
    await assert.rejects(
      runCommand(registerBenchCommand, ['bench', join(dir, 'float.onnx'), '--runtime', 'gpu']),
      /--runtime: expected native or wasm, got 'gpu'/,
    );
    await assert.rejects(
      runCommand(registerBenchCommand, ['bench', join(dir, 'float.onnx'), '--out', join(dir, 'float.onnx')]),
      /--out .*float\.onnx is a file; give a folder/,
    );
    await assert.rejects(
      runCommand(registerBenchCommand, ['bench', join(dir, 'float.onnx'), '--runs', '0']),
      /--runs: expected a positive integer, got '0'/,
    );
  },
);

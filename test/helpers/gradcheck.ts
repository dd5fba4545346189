/**
 * Finite-difference check of the autodiff: builds f(inputs) into a graph, reduces it to a scalar
 * L = sum(f * R) with a fixed random R, and compares the compiled gradient of L with central
 * differences (L(x + eps v) - L(x - eps v)) / 2 eps along random directions v and along single
 * coordinates, all evaluated by ONNX Runtime.
 */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, type Value, encodeModel, gradients, Rng } from 'edgefl';
import * as op from 'edgefl/internal/onnx/ops';
import type { DType } from 'edgefl/internal/onnx/types';
import { checkOnnxModel } from './onnx-checker.js';

export interface InputSpec {
  shape: number[];
  dtype?: DType;
  /** Values; default: uniform in [-1, 1). */
  data?: Float32Array | Int32Array | BigInt64Array;
  /** Whether to check the gradient w.r.t. this input (default: float inputs are checked). */
  differentiable?: boolean;
}

export interface GradCheckOptions {
  inputs: Record<string, InputSpec>;
  build: (inputs: Record<string, Value>) => Value;
  seed?: number;
  eps?: number;
  rtol?: number;
  atol?: number;
  directions?: number;
  coordinates?: number;
  /** Run the official ONNX checker on the training graph (default true). */
  onnxCheck?: boolean;
  opset?: number;
}

export async function gradcheck(o: GradCheckOptions): Promise<{ maxRelError: number }> {
  const rng = new Rng(o.seed ?? 1);
  const g = new Graph('gradcheck');
  const values: Record<string, Value> = {};
  const data: Record<string, Float32Array | Int32Array | BigInt64Array> = {};
  for (const [name, spec] of Object.entries(o.inputs)) {
    const dtype = spec.dtype ?? 'float32';
    values[name] = g.input(name, dtype, spec.shape);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    data[name] = spec.data ?? Float32Array.from({ length: n }, () => 2 * rng.uniform() - 1);
  }
  const y = o.build(values);
  const r = op.constant(g, {
    dtype: 'float32',
    dims: y.shape as number[],
    data: Float32Array.from({ length: (y.shape as number[]).reduce((a, b) => a * b, 1) }, () => rng.normal()),
  });
  const loss = op.reduceSum(op.mul(y, r), [], false);
  const wrtNames = Object.keys(o.inputs).filter(
    (k) => o.inputs[k].differentiable ?? (o.inputs[k].dtype ?? 'float32') === 'float32',
  );
  const grads = gradients(
    loss,
    wrtNames.map((k) => values[k]),
  );
  g.output(loss, 'loss');
  grads.forEach((d, i) => g.output(d, `grad_${wrtNames[i]}`));
  const bytes = encodeModel(g, { opset: o.opset });
  if (o.onnxCheck ?? true) await checkOnnxModel(bytes);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });

  const run = async (overrides: Record<string, Float32Array> = {}) => {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, spec] of Object.entries(o.inputs)) {
      const d = overrides[name] ?? data[name];
      feeds[name] = new ort.Tensor(spec.dtype ?? 'float32', d as Float32Array, spec.shape);
    }
    return session.run(feeds);
  };
  const base = await run();
  const eps = o.eps ?? 1e-2;
  const rtol = o.rtol ?? 2e-2;
  const atol = o.atol ?? 2e-3;
  let maxRelError = 0;
  const lossAt = async (name: string, v: Float32Array, sign: number) => {
    const x = data[name] as Float32Array;
    const moved = Float32Array.from(x, (xi, i) => xi + sign * eps * v[i]);
    return (await run({ [name]: moved })).loss.data[0] as number;
  };
  for (const name of wrtNames) {
    const grad = base[`grad_${name}`].data as Float32Array;
    const x = data[name] as Float32Array;
    assert.equal(
      grad.length,
      x.length,
      `gradient of ${name} has ${grad.length} values for ${x.length} inputs`,
    );
    const dirs: Float32Array[] = [];
    for (let k = 0; k < (o.directions ?? 3); k++) dirs.push(Float32Array.from(x, () => rng.normal()));
    for (let k = 0; k < Math.min(o.coordinates ?? 3, x.length); k++) {
      const e = new Float32Array(x.length);
      e[rng.int(x.length)] = 1;
      dirs.push(e);
    }
    for (const v of dirs) {
      const fd = ((await lossAt(name, v, 1)) - (await lossAt(name, v, -1))) / (2 * eps);
      let an = 0;
      for (let i = 0; i < v.length; i++) an += grad[i] * v[i];
      const err = Math.abs(fd - an);
      const scale = Math.max(Math.abs(fd), Math.abs(an));
      maxRelError = Math.max(maxRelError, err / Math.max(scale, 1e-12));
      assert.ok(
        err <= atol + rtol * scale,
        `d/d${name}: analytic ${an} vs finite difference ${fd} (error ${err})`,
      );
    }
  }
  return { maxRelError };
}

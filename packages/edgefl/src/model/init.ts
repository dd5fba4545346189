/** Seeded weight initializers (standard schemes; fan-in/out as PyTorch computes them). */
import { Rng } from '../util/rng.js';
import type { Initializer } from './layers.js';

export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  // Weights are stored [out, in, ...kernel] (PyTorch/ONNX layout).
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function initialize(
  target: Float32Array,
  shape: readonly number[],
  init: Initializer,
  rng: Rng,
  fanInOverride?: number,
): void {
  const { fanIn: fi, fanOut } = fans(shape);
  const fanIn = fanInOverride ?? fi;
  const uniform = (a: number) => {
    for (let i = 0; i < target.length; i++) target[i] = (2 * rng.uniform() - 1) * a;
  };
  const normal = (std: number) => {
    for (let i = 0; i < target.length; i++) target[i] = rng.normal() * std;
  };
  if (init === 'zeros') target.fill(0);
  else if (init === 'ones') target.fill(1);
  else if (init === 'pytorch') uniform(1 / Math.sqrt(fanIn));
  else if (init === 'glorotUniform') uniform(Math.sqrt(6 / (fanIn + fanOut)));
  else if (init === 'heUniform') uniform(Math.sqrt(6 / fanIn));
  else if (init === 'heNormal') normal(Math.sqrt(2 / fanIn));
  else if ('normal' in init) normal(init.normal);
  else uniform(init.uniform);
}

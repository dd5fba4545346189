/**
 * Codecs by their command-line names: float32, float16, qsgd8, topk:FRACTION (e.g. topk:0.01).
 */
import type { UpdateCodec } from './codec.js';
import { float16Codec } from './float16.js';
import { float32Codec } from './float32.js';
import { qsgd8Codec } from './qsgd8.js';
import { topKCodec } from './topk.js';

const FORMS = "float32, float16, qsgd8 or topk:F with F in (0, 1] (e.g. 'topk:0.01')";

export function codecByName(spec: string): UpdateCodec {
  if (typeof spec !== 'string') throw new TypeError(`codecByName: expected a string, got ${typeof spec}`);
  const name = spec.trim();
  switch (name) {
    case 'float32':
      return float32Codec();
    case 'float16':
      return float16Codec();
    case 'qsgd8':
      return qsgd8Codec();
  }
  if (name.startsWith('topk:')) {
    const arg = name.slice(5);
    const fraction = Number(arg);
    if (arg.trim() === '' || !(fraction > 0 && fraction <= 1))
      throw new Error(`codec '${spec}': the top-k fraction must be a number in (0, 1], got '${arg}'`);
    return topKCodec({ fraction });
  }
  throw new Error(`unknown codec '${spec}'; expected ${FORMS}`);
}

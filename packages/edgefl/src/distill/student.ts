/**
 * Small students by a short name, for the command line and the benchmark:
 *   mlp:64          one hidden dense layer of 64 (ReLU)
 *   mlp:128,64      two hidden layers
 *   cnn:8,16,64     two 5×5 convolutions of 8 and 16 filters (each followed by ReLU and 2×2 max
 *                   pooling), a dense layer of 64, then the classes — the FedAvg CNN's shape, narrower
 */
import {
  conv2d,
  dense,
  flatten,
  maxPool2d,
  relu,
  sequential,
  type LayerSpec,
  type ModelSpec,
} from '../model/layers.js';

export const STUDENT_FORMS =
  'mlp:<units,...> (e.g. mlp:64) or cnn:<filters>,<filters>,<units> (e.g. cnn:8,16,64)';

export function studentModel(
  text: string,
  o: { inputShape: readonly number[]; classes: number; seed?: number },
): ModelSpec {
  const m = /^(mlp|cnn):(.+)$/.exec(text.trim());
  const bad = (why: string) => new Error(`student '${text}': ${why}; expected ${STUDENT_FORMS}`);
  if (!m) throw bad('unknown form');
  const [, kind, list] = m;
  const sizes = list.split(',').map((s) => s.trim());
  const numbers = sizes.map(Number);
  const wrong = sizes.find((s, i) => !/^\d+$/.test(s) || !(numbers[i] >= 1));
  if (wrong !== undefined) throw bad(`'${wrong}' is not a positive integer`);
  const name = `${kind}-${numbers.join('-')}`;
  if (kind === 'mlp') {
    const hidden = numbers.flatMap((units): LayerSpec[] => [dense(units), relu()]);
    return sequential([flatten(), ...hidden, dense(o.classes)], {
      inputShape: o.inputShape,
      seed: o.seed,
      name,
    });
  }
  if (numbers.length !== 3)
    throw bad(`a cnn student has 3 sizes (two convolutions and a dense layer), got ${numbers.length}`);
  if (o.inputShape.length !== 3)
    throw bad(
      `a cnn student reads images [channels, height, width], the data's examples are [${o.inputShape.join(', ')}]`,
    );
  const [f1, f2, units] = numbers;
  return sequential(
    [
      conv2d({ filters: f1, kernel: 5, padding: 'same' }),
      relu(),
      maxPool2d(2),
      conv2d({ filters: f2, kernel: 5, padding: 'same' }),
      relu(),
      maxPool2d(2),
      flatten(),
      dense(units),
      relu(),
      dense(o.classes),
    ],
    { inputShape: o.inputShape, seed: o.seed, name },
  );
}

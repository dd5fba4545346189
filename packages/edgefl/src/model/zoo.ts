/**
 * Built-in architectures, by name (the CLI's --model). The MNIST ones are those of the FedAvg
 * paper (McMahan et al. 2017): "2NN" (784-200-200-10) and the CNN (two 5x5 convolutions with 32 and
 * 64 channels, each followed by 2x2 max pooling, a 512-unit dense layer and a softmax output).
 */
import {
  conv2d,
  dense,
  embedding,
  flatten,
  layerNorm,
  maxPool2d,
  positionalEmbedding,
  relu,
  sequential,
  transformerBlock,
  type LayerSpec,
  type ModelSpec,
} from './layers.js';

export interface ZooOptions {
  inputShape: readonly number[];
  classes: number;
  seed?: number;
  /** Vocabulary size and model width for the text models. */
  vocabSize?: number;
  dim?: number;
  heads?: number;
  blocks?: number;
}

type Builder = (o: ZooOptions) => ModelSpec;

const zoo: Record<string, { describe: string; build: Builder }> = {
  logreg: {
    describe: 'multinomial logistic regression (one dense layer)',
    build: (o) =>
      sequential([flatten(), dense(o.classes)], { inputShape: o.inputShape, seed: o.seed, name: 'logreg' }),
  },
  mlp: {
    describe: "the FedAvg paper's 2NN: 784-200-200-10 with ReLU",
    build: (o) =>
      sequential([flatten(), dense(200), relu(), dense(200), relu(), dense(o.classes)], {
        inputShape: o.inputShape,
        seed: o.seed,
        name: 'mlp',
      }),
  },
  cnn: {
    describe: "the FedAvg paper's CNN: conv5x5 32 - pool - conv5x5 64 - pool - fc 512 - fc 10",
    build: (o) => {
      const layers: LayerSpec[] = [
        conv2d({ filters: 32, kernel: 5, padding: 'same' }),
        relu(),
        maxPool2d(2),
        conv2d({ filters: 64, kernel: 5, padding: 'same' }),
        relu(),
        maxPool2d(2),
        flatten(),
        dense(512),
        relu(),
        dense(o.classes),
      ];
      return sequential(layers, { inputShape: o.inputShape, seed: o.seed, name: 'cnn' });
    },
  },
  transformer: {
    describe: 'a small causal transformer for next-token prediction (embedding, positions, pre-norm blocks)',
    build: (o) => {
      const vocab = o.vocabSize ?? o.classes;
      const dim = o.dim ?? 64;
      const blocks = Array.from({ length: o.blocks ?? 2 }, () =>
        transformerBlock({ dim, heads: o.heads ?? 4 }),
      ).flat();
      return sequential(
        [
          embedding(vocab, dim, { normal: 0.02 }),
          positionalEmbedding(o.inputShape[0]),
          ...blocks,
          layerNorm(),
          dense(vocab),
        ],
        {
          inputShape: o.inputShape,
          inputType: 'int32',
          seed: o.seed,
          name: 'transformer',
        },
      );
    },
  },
};

export function builtInModels(): { name: string; describe: string }[] {
  return Object.entries(zoo).map(([name, z]) => ({ name, describe: z.describe }));
}

export function builtInModel(name: string, o: ZooOptions): ModelSpec {
  const z = zoo[name];
  if (!z)
    throw new Error(
      `unknown model '${name}'; built-in models: ${Object.keys(zoo).join(', ')} (or a path to a model .json file)`,
    );
  return z.build(o);
}

/**
 * TensorFlow.js as a training peer: the same MLP and CNN, loss and optimizer as edgefl's training
 * benchmark, timed on tfjs's pure-JS `cpu` backend and on `@tensorflow/tfjs-backend-wasm`.
 *
 * tfjs keeps global state (registered backends, the engine, variables), so one process should run one
 * configuration; `run-tfjs.ts` runs this file in a child process per configuration.
 *
 *   npx tsx bench/peers/tfjs.ts --backend wasm --model mlp --batch 10 [--steps N] [--max-seconds S]
 *
 * prints one JSON line (a PeerResult).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';

import { PEER_CLASSES, PEER_LEARNING_RATE, type PeerModel, type PeerResult } from './result.js';

export type TfjsBackend = 'cpu' | 'wasm';

export interface TfjsBenchOptions {
  backend: TfjsBackend;
  model: PeerModel;
  batch: number;
  /** Timed steps after warm-up; defaults depend on the model. */
  steps?: number;
  /** Stop timing after this many seconds even if fewer steps finished (the rate is over those). */
  maxSeconds?: number;
}

const DEFAULT_STEPS: Record<PeerModel, number> = { mlp: 200, cnn: 20 };
// The first steps compile kernels and size the memory pools; one step is enough for the CNN, whose
// steps take seconds on the cpu backend.
const WARMUP_STEPS: Record<PeerModel, number> = { mlp: 5, cnn: 1 };
const DEFAULT_MAX_SECONDS = 10;

/** MNIST-shaped inputs: 784 features for the MLP, 28x28x1 (NHWC, tfjs's layout) for the CNN. */
function inputShape(model: PeerModel): number[] {
  return model === 'mlp' ? [784] : [28, 28, 1];
}

/** The models of the FedAvg paper (McMahan et al. 2017), ending in logits: the loss applies softmax. */
function buildModel(model: PeerModel): tf.Sequential {
  const layers: tf.layers.Layer[] =
    model === 'mlp'
      ? [
          tf.layers.dense({ inputShape: inputShape(model), units: 200, activation: 'relu' }),
          tf.layers.dense({ units: 200, activation: 'relu' }),
          tf.layers.dense({ units: PEER_CLASSES }),
        ]
      : [
          tf.layers.conv2d({
            inputShape: inputShape(model),
            filters: 32,
            kernelSize: 5,
            padding: 'same',
            activation: 'relu',
          }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 512, activation: 'relu' }),
          tf.layers.dense({ units: PEER_CLASSES }),
        ];
  return tf.sequential({ layers });
}

/**
 * Makes the wasm backend the current one, loading its .wasm binaries from the installed package
 * (never from a CDN) and reporting which flavour (plain, SIMD, threaded SIMD) tfjs picked.
 */
async function useWasmBackend(): Promise<{ flavour: string; version: string }> {
  const wasmFile = createRequire(import.meta.url).resolve(
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
  );
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // setWasmPaths takes a prefix to which the binary names are appended, so it must end with a separator.
  wasm.setWasmPaths(path.dirname(wasmFile) + path.sep);
  await setBackendOrThrow('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const flavour = simd ? (threads ? 'threaded-simd' : 'simd') : 'plain';
  return { flavour, version: wasm.version_wasm };
}

async function setBackendOrThrow(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}

export async function benchTfjs(options: TfjsBenchOptions): Promise<PeerResult> {
  const { backend, model, batch } = options;
  const steps = options.steps ?? DEFAULT_STEPS[model];
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  const result: PeerResult = {
    peer: 'tfjs',
    backend,
    version: tf.version_core,
    model,
    batch,
    samplesPerSec: null,
    msPerStep: null,
  };

  try {
    if (backend === 'wasm') {
      const { flavour, version } = await useWasmBackend();
      result.backend = `wasm (${flavour})`;
      result.version = version;
    } else {
      await setBackendOrThrow('cpu');
    }

    const net = buildModel(model);
    const optimizer = tf.train.sgd(PEER_LEARNING_RATE);
    // One fixed random batch: the peers time the training step, not data loading.
    const x = tf.randomUniform([batch, ...inputShape(model)], 0, 1, 'float32', 1);
    const labels = tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % PEER_CLASSES),
      'int32',
    );
    const oneHot = tf.oneHot(labels, PEER_CLASSES);

    const step = (): void => {
      const cost = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(oneHot, net.apply(x, { training: true }) as tf.Tensor),
        true,
      );
      // Reading the loss makes each step finish before the clock is read, whatever the backend.
      cost?.dataSync();
      cost?.dispose();
    };

    const warmupStart = performance.now();
    for (let i = 0; i < WARMUP_STEPS[model]; i++) step();
    const warmupMs = performance.now() - warmupStart;

    // The cpu backend needs tens of seconds per CNN step: when warm-up alone used up the time budget,
    // its single step is the measurement (first-call overhead is small next to such a step).
    if (warmupMs >= maxSeconds * 1000) {
      const warmupSteps = WARMUP_STEPS[model];
      result.msPerStep = warmupMs / warmupSteps;
      result.samplesPerSec = (warmupSteps * batch * 1000) / warmupMs;
      result.note = `warm-up alone took ${(warmupMs / 1000).toFixed(1)} s: rate from ${warmupSteps} warm-up step(s)`;
      return result;
    }

    let done = 0;
    const start = performance.now();
    let elapsedMs = 0;
    while (done < steps && elapsedMs < maxSeconds * 1000) {
      step();
      done++;
      elapsedMs = performance.now() - start;
    }
    result.msPerStep = elapsedMs / done;
    result.samplesPerSec = (done * batch * 1000) / elapsedMs;
    if (done < steps) result.note = `stopped after ${maxSeconds} s: ${done} of ${steps} steps timed`;
  } catch (error) {
    // A backend without a kernel (tfjs-wasm has no Conv2DBackpropFilter) fails here: report it as a row.
    result.samplesPerSec = null;
    result.msPerStep = null;
    result.note = `failed: ${firstLine(error)}`;
  }
  return result;
}

function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      model: { type: 'string', default: 'mlp' },
      batch: { type: 'string', default: '10' },
      steps: { type: 'string' },
      'max-seconds': { type: 'string' },
    },
  });
  const backend = values.backend;
  const model = values.model;
  if (backend !== 'cpu' && backend !== 'wasm')
    throw new Error(`--backend must be cpu or wasm, got "${backend}"`);
  if (model !== 'mlp' && model !== 'cnn') throw new Error(`--model must be mlp or cnn, got "${model}"`);
  const result = await benchTfjs({
    backend,
    model,
    batch: positiveNumber('batch', values.batch) ?? 10,
    steps: positiveNumber('steps', values.steps),
    maxSeconds: positiveNumber('max-seconds', values['max-seconds']),
  });
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

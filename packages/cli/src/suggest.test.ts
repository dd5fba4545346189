import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  adam,
  BOS_ID,
  builtInModel,
  exportInferenceModel,
  importModel,
  initialParameters,
  PAD_ID,
  nextTokenCorpus,
  tokenize,
  Trainer,
  type Vocabulary,
} from 'edgefl';
import { nodeRuntime } from '@edgefl/node';
import { runCommand } from '../../../test/helpers/cli.js';
import { registerOptimizeCommand } from './optimize.js';
import { registerSuggestCommand } from './suggest.js';

const SEQ = 8;
const suggest = (...args: string[]) => runCommand(registerSuggestCommand, ['suggest', ...args]);

/** A tiny next-word model trained for a few steps on a repeated preamble, exported with its vocabulary. */
async function tinyModel(): Promise<{ bytes: Uint8Array; vocabulary: Vocabulary }> {
  const text =
    'we the people of the united states , in order to form a more perfect union , establish justice ' +
    'insure domestic tranquility , provide for the common defence . ';
  // 29 tokens a repetition, prime to the window of 8, so every word is seen at every position of a
  // window. The preamble's 26 distinct tokens and the reserved 4: the words of the closing line, seen once, become <unk>.
  const closing = 'do ordain and establish this constitution .';
  const corpus = nextTokenCorpus(new Map([['a', [text.repeat(30) + closing]]]), {
    seqLen: SEQ,
    vocabSize: 30,
  });
  assert.ok(!corpus.vocabulary.has('ordain') && corpus.vocabulary.has('we'));
  const size = corpus.vocabulary.size;
  const spec = builtInModel('transformer', {
    inputShape: [SEQ],
    classes: size,
    vocabSize: size,
    dim: 32,
    blocks: 1,
    heads: 2,
    seed: 1,
  });
  const trainer = await Trainer.create(spec, {
    loss: 'softmaxCrossEntropy',
    optimizer: adam({ lr: 1e-2 }),
    runtime: nodeRuntime(),
  });
  await trainer.fit(corpus.dataset, { batchSize: 16, steps: 120, seed: 1 });
  const bytes = exportInferenceModel(spec, trainer.getParameters(), { labels: corpus.dataset.classes });
  await trainer.dispose();
  return { bytes, vocabulary: corpus.vocabulary };
}

/**
 * The reference: the .onnx run directly with onnxruntime-node, the context at positions 0..k and the
 * rest <pad>, then the most likely word tokens at position k with their softmax probabilities.
 */
async function reference(file: string, vocabulary: Vocabulary, context: number[], top: number) {
  const row = await scoresAt(file, vocabulary.size, context, PAD_ID);
  const max = Math.max(...row);
  const z = row.reduce((s, v) => s + Math.exp(v - max), 0);
  return row
    .map((v, id) => ({ id, p: Math.exp(v - max) / z }))
    .filter(({ id }) => id >= 4 && /[a-z]/.test(vocabulary.tokens[id]))
    .sort((a, b) => b.p - a.p)
    .slice(0, top)
    .map(({ id, p }) => `${vocabulary.tokens[id]} ${(100 * p).toFixed(1)}%`);
}

/** The model's scores for the token after `context`, placed at positions 0..k, the rest `fill`. */
async function scoresAt(file: string, V: number, context: number[], fill: number): Promise<number[]> {
  const ids = Int32Array.from({ length: SEQ }, (_, i) => (i < context.length ? context[i] : fill));
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ input: new ort.Tensor('int32', ids, [1, SEQ]) });
  await session.release();
  return Array.from((out.logits.data as Float32Array).subarray((context.length - 1) * V, context.length * V));
}

/** The printed suggestions as "word p%". */
const printed = (lines: string[]) =>
  lines.filter((l) => /^ {2}\d+\. /.test(l)).map((l) => l.trim().replace(/^\d+\. (\S+)\s+/, '$1 '));

test(
  'edgefl suggest: the model’s own top words, on the float model and its int8 and 4-bit forms',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefl-suggest-'));
    const { bytes, vocabulary } = await tinyModel();
    const float = join(dir, 'lm.onnx');
    writeFileSync(float, bytes);
    const int8 = join(dir, 'lm-int8.onnx');
    const int4 = join(dir, 'lm-int4.onnx');
    const optimize = (...args: string[]) =>
      runCommand(registerOptimizeCommand, ['optimize', float, ...args, '--no-speed-guard']);
    await optimize('--int8', 'dynamic', '--out', int8);
    await optimize('--int4', '--out', int4);
    // The optimizers keep the vocabulary, and really quantized.
    for (const f of [int8, int4])
      assert.equal(importModel(readFileSync(f)).metadata('edgefl.labels'), JSON.stringify(vocabulary.tokens));
    assert.ok(importModel(readFileSync(int8)).nodes('DynamicQuantizeLinear').length > 0);
    assert.ok(importModel(readFileSync(int4)).nodes('MatMulNBits', 'com.microsoft').length > 0);

    const prompt = 'We the People of the';
    const context = Array.from(vocabulary.encode(tokenize(prompt)));
    for (const file of [float, int8, int4]) {
      const lines = await suggest('--model', file, prompt, '--runs', '5', '--warmup', '1');
      assert.deepEqual(printed(lines), await reference(file, vocabulary, context, 3), lines.join('\n'));
      assert.match(lines.join('\n'), /text: we the people of the {2}\(5 tokens, 5 in the vocabulary\)/);
      assert.match(
        lines.join('\n'),
        /latency: \d+\.\d+ ms median \(p95 \d+\.\d+ ms\) over 5 predictions after 1 warm-up, batch 1, 1 thread, onnxruntime-node/,
      );
      // A few steps on the preamble are enough to learn its next word.
      assert.equal(printed(lines)[0].split(' ')[0], 'united', file);
    }
    // The causal mask keeps what follows the context out of the float model's prediction: any fill
    // gives the same. (Dynamic int8 quantizes activations with one scale over the whole window, so
    // there the fill moves the probabilities a little; <pad> is what suggest feeds every model.)
    const padded = await scoresAt(float, vocabulary.size, context, PAD_ID);
    const filled = await scoresAt(float, vocabulary.size, context, vocabulary.idOf('the'));
    assert.ok(
      padded.every((v, i) => Math.abs(v - filled[i]) < 1e-5),
      `${padded} vs ${filled}`,
    );

    // --start puts <bos> first; --top; the words may come unquoted.
    const started = await suggest('--model', float, '--start', '--top', '5', '--runs', '2', 'in', 'order');
    assert.deepEqual(
      printed(started),
      await reference(float, vocabulary, [BOS_ID, ...vocabulary.encode(['in', 'order'])], 5),
    );

    // Longer than the window: the last SEQ tokens, and a note.
    const long = 'we the people of the united states , in order to form';
    const cut = await suggest('--model', float, long, '--runs', '2');
    assert.match(cut.join('\n'), /note: the model sees 8 tokens; the first 4 of the text are left out/);
    assert.deepEqual(
      printed(cut),
      await reference(float, vocabulary, Array.from(vocabulary.encode(tokenize(long).slice(-SEQ))), 3),
    );
  },
);

test('edgefl suggest: unknown words are said and still answered; missing vocabulary and empty text refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-suggest-'));
  const { bytes, vocabulary } = await tinyModel();
  const float = join(dir, 'lm.onnx');
  writeFileSync(float, bytes);

  const unknown = await suggest('--model', float, 'qwerty zxcv', '--runs', '2');
  assert.match(
    unknown.join('\n'),
    /\(2 tokens, 0 in the vocabulary\)\nnote: none of the words is in the model's vocabulary/,
  );
  assert.equal(printed(unknown).length, 3);
  assert.deepEqual(printed(unknown), await reference(float, vocabulary, [1, 1], 3));
  const some = await suggest('--model', float, 'we the zebras of', '--runs', '2');
  assert.match(some.join('\n'), /note: not in the vocabulary, fed as <unk>: zebras/);
  // Suggestions never include a reserved token, even when the model rates one highest.
  for (const l of [...unknown, ...some]) assert.doesNotMatch(l, /^ {2}\d+\. <(pad|unk|bos|eos)>/);

  await assert.rejects(suggest('--model', float, '  '), /the text is empty: there is nothing to continue/);
  await assert.rejects(suggest('--model', float), /the text is empty/);
  // A model exported without its vocabulary, and a classifier whose labels are not one.
  const spec = builtInModel('transformer', {
    inputShape: [SEQ],
    classes: 30,
    vocabSize: 30,
    dim: 16,
    blocks: 1,
  });
  const bare = join(dir, 'bare.onnx');
  writeFileSync(bare, exportInferenceModel(spec, initialParameters(spec)));
  await assert.rejects(
    suggest('--model', bare, 'we the'),
    /bare\.onnx has no vocabulary: its metadata lacks 'edgefl\.labels'/,
  );
  const classifier = join(dir, 'digits.onnx');
  const labels = Array.from({ length: 30 }, (_, i) => `class ${i}`);
  writeFileSync(classifier, exportInferenceModel(spec, initialParameters(spec), { labels }));
  await assert.rejects(
    suggest('--model', classifier, 'we the'),
    /digits\.onnx has no vocabulary: its 'edgefl\.labels' metadata is not a token list starting with <pad>, <unk>, <bos>, <eos>/,
  );
  await assert.rejects(
    suggest('--model', join(dir, 'nope.onnx'), 'we'),
    /--model .*nope\.onnx: no such file/,
  );
});

/**
 * `edgefl suggest --model model.onnx "we the people of the"`: the keyboard on the device. Reads the
 * vocabulary the exported next-word model carries, feeds the text the way training saw contexts
 * (data/text/next-word.ts), prints the most likely next words with the model's probabilities, and
 * times the prediction on this machine: the median of many runs after warm-up, batch 1.
 * Works on the float model and on its int8 and 4-bit forms from `edgefl optimize`, which keep the
 * vocabulary.
 */
import type { Command } from 'commander';
import { encodePrompt, importModel, measureLatency, nextWordModel, topSuggestions } from 'edgefl';
import { readInputFile } from '@edgefl/node';
import { runtimeNamed } from './model-inputs.js';
import { intOption } from './options.js';

export interface SuggestOptions {
  /** The next-word model's file. */
  model: string;
  /** The text typed so far. */
  text: string;
  top: number;
  runs: number;
  warmup: number;
  threads: number;
  punctuation?: boolean;
  start?: boolean;
  runtime: string;
}

export function registerSuggestCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('suggest')
    .description(
      'the next words a next-word model (.onnx with its vocabulary) offers after some text, and how fast',
    )
    .argument('[text...]', 'the text typed so far (quote it or not)')
    .requiredOption('--model <file>', 'an exported next-word model, float or optimized')
    .option('--top <n>', 'how many words to offer', intOption('--top', 1), 3)
    .option('--runs <n>', 'timed predictions for the latency', intOption('--runs', 1), 100)
    .option('--warmup <n>', 'untimed predictions first', intOption('--warmup', 0), 10)
    .option(
      '--threads <n>',
      "the runtime's intra-op threads (a phone's keyboard gets one core)",
      intOption('--threads', 1),
      1,
    )
    .option('--punctuation', 'offer punctuation tokens too (by default only words)')
    .option(
      '--start',
      'the text opens a message: feed <bos> first, as training documents began (by default the text is read as a window cut mid-text, the way almost every training window began)',
    )
    .option(
      '--runtime <name>',
      "native (onnxruntime-node) or wasm (onnxruntime-web's WebAssembly build, what a browser runs)",
      'native',
    )
    .action((words: string[], flags: Omit<SuggestOptions, 'text'>) =>
      suggestNextWords({ ...flags, text: words.join(' ') }, out),
    );
}

/**
 * What `edgefl suggest` does, for programs: reads the model file, prints (through `out`) the text as
 * the model sees it, the top next words with their probabilities, and the latency of one prediction.
 */
export async function suggestNextWords(flags: SuggestOptions, out: (line: string) => void): Promise<void> {
  const runtime = runtimeNamed(flags.runtime);
  const bytes = await readInputFile(flags.model, `--model ${flags.model}`);
  const info = nextWordModel(importModel(bytes, flags.model), flags.model);
  const { vocabulary, seqLen } = info;
  const prompt = encodePrompt(flags.text, vocabulary, seqLen, { start: flags.start });

  const ids =
    info.inputType === 'int32'
      ? new runtime.Tensor('int32', prompt.ids, [1, seqLen])
      : new runtime.Tensor('int64', BigInt64Array.from(prompt.ids, BigInt), [1, seqLen]);
  const feeds = { [info.inputName]: ids };
  const session = await runtime.InferenceSession.create(bytes, {
    ...runtime.defaultSessionOptions,
    intraOpNumThreads: flags.threads,
  });
  let scores: Float32Array;
  try {
    const result = await session.run(feeds, [info.logitsName]);
    const logits = result[info.logitsName];
    const size = vocabulary.size;
    if (logits.dims.length !== 3 || logits.dims[1] !== seqLen || logits.dims[2] !== size)
      throw new Error(
        `${flags.model}: output '${info.logitsName}' has shape [${logits.dims.join(', ')}], expected [1, ${seqLen}, ${size}]`,
      );
    const data = logits.data as Float32Array;
    scores = data.slice(prompt.position * size, (prompt.position + 1) * size);
  } finally {
    await session.release();
  }
  const suggestions = topSuggestions(scores, vocabulary, flags.top, { punctuation: flags.punctuation });

  out(`${flags.model}: next-word model, ${vocabulary.size} tokens, context of ${seqLen}`);
  const n = prompt.tokens.length;
  const known = n - prompt.tokens.filter((t) => !vocabulary.has(t)).length;
  out(
    `text: ${flags.start ? '<bos> ' : ''}${prompt.tokens.join(' ')}  (${n} token${n === 1 ? '' : 's'}, ${known} in the vocabulary)`,
  );
  if (known === 0)
    out(
      `note: none of the words is in the model's vocabulary; they are fed as <unk>, so the words below ` +
        `are what the model expects after unknown words`,
    );
  else if (prompt.unknown.length > 0)
    out(`note: not in the vocabulary, fed as <unk>: ${prompt.unknown.join(', ')}`);
  if (prompt.dropped > 0)
    out(`note: the model sees ${seqLen} tokens; the first ${prompt.dropped} of the text are left out`);
  out('next words:');
  const width = Math.max(...suggestions.map((s) => s.token.length));
  suggestions.forEach((s, i) =>
    out(`  ${i + 1}. ${s.token.padEnd(width)}  ${(100 * s.probability).toFixed(1)}%`),
  );

  const latency = await measureLatency(bytes, {
    runtime,
    feeds,
    threads: flags.threads,
    runs: flags.runs,
    warmup: flags.warmup,
  });
  out(
    `latency: ${ms(latency.p50Ms)} ms median (p95 ${ms(latency.p95Ms)} ms) over ${flags.runs} predictions ` +
      `after ${flags.warmup} warm-up, batch 1, ${flags.threads} thread${flags.threads === 1 ? '' : 's'}, ${runtime.name}`,
  );
}

const ms = (x: number) => (x < 1 ? x.toFixed(3) : x.toFixed(2));

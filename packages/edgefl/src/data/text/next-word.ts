/**
 * Next-word prediction on a device with an exported causal language model (exportInferenceModel of a
 * model trained on nextTokenCorpus windows): what a keyboard does between the text typed so far and
 * the words it offers.
 *
 * The model file carries its vocabulary as the class labels every exported classifier carries
 * ('edgefl.labels': the tokens in id order, reserved ones first), since a next-word model is a
 * classifier over the vocabulary at every position; the optimizers keep that metadata.
 *
 * How a prompt is fed. Training cut each client's `<bos> text <eos> <bos> text <eos> ...` stream into
 * back-to-back windows and taught the model, at every position p of a window, the next token from the
 * p + 1 tokens at positions 0..p; the attention is causal, so nothing after p is seen. A short context
 * is therefore one the model has met at the early positions of every window: at the START of the
 * window, which almost always begins mid-text (only a client's first window begins with `<bos>`). So
 * the prompt's tokens go in at positions 0..k, the prediction is read at position k, and the positions
 * after it are filled with `<pad>`, which the causal mask keeps from influencing position k (exactly in
 * the float and 4-bit models; dynamic int8 picks one activation scale over the whole window, so there
 * the fill moves the scores slightly, and `<pad>` keeps them the same from call to call). Left
 * padding would instead put `<pad>` tokens, never seen in training input, into the context. With
 * `start`, a `<bos>` goes first, as a document began in training: for text that opens a message (the
 * model then expects how its training documents opened). A prompt longer than the window keeps its
 * last seqLen tokens.
 */
import type { OnnxModel } from '../../onnx/edit/model.js';
import { tokenize } from './tokenizer.js';
import { BOS_ID, PAD_ID, RESERVED_TOKENS, UNK_ID, Vocabulary } from './vocabulary.js';

export const VOCABULARY_METADATA = 'edgefl.labels';

export interface NextWordModel {
  vocabulary: Vocabulary;
  /** The context length: the model's fixed second input dimension. */
  seqLen: number;
  inputName: string;
  /** ONNX element type of the token ids: int32 or int64. */
  inputType: 'int32' | 'int64';
  /** The output holding the next-token scores, [batch, seqLen, vocabulary]. */
  logitsName: string;
}

const ID_TYPES: Record<number, 'int32' | 'int64' | undefined> = { 6: 'int32', 7: 'int64' };

/** Reads what next-word prediction needs from a model; `source` names it in errors. */
export function nextWordModel(model: OnnxModel, source: string): NextWordModel {
  const json = model.metadata(VOCABULARY_METADATA);
  if (json === undefined)
    throw new Error(
      `${source} has no vocabulary: its metadata lacks '${VOCABULARY_METADATA}', the token list an exported ` +
        `next-word model carries (export it with labels = the corpus vocabulary's tokens)`,
    );
  let tokens: unknown;
  try {
    tokens = JSON.parse(json);
  } catch {
    throw new Error(`${source}: its '${VOCABULARY_METADATA}' metadata is not JSON`);
  }
  if (!Array.isArray(tokens) || !RESERVED_TOKENS.every((t, i) => tokens[i] === t))
    throw new Error(
      `${source} has no vocabulary: its '${VOCABULARY_METADATA}' metadata is not a token list starting with ` +
        `${RESERVED_TOKENS.join(', ')} (is it a classifier rather than a next-word model?)`,
    );
  const vocabulary = new Vocabulary(tokens as string[]);
  const inputs = model.inputs.filter((i) => !model.isInitializer(i.name));
  if (inputs.length !== 1)
    throw new Error(
      `${source}: a next-word model takes one input (token ids), this one takes ${inputs.length}`,
    );
  const input = inputs[0];
  const tensor = input.type?.tensorType;
  const inputType = ID_TYPES[tensor?.elemType ?? 0];
  const dims = tensor?.shape?.dim ?? [];
  const seqLen = dims.length === 2 && dims[1].dimParam === '' ? Number(dims[1].dimValue) : 0;
  if (!inputType || !(seqLen > 0))
    throw new Error(
      `${source}: input '${input.name}' should be int32 or int64 token ids of shape [batch, seqLen] with a fixed ` +
        `seqLen, got element type ${tensor?.elemType ?? 'none'} and ${dims.length} dimensions`,
    );
  const logits = model.outputs.find((o) => o.name === 'logits') ?? model.outputs[0];
  if (!logits) throw new Error(`${source}: the model has no output`);
  return { vocabulary, seqLen, inputName: input.name, inputType, logitsName: logits.name };
}

export interface EncodedPrompt {
  /** seqLen token ids: the context from position 0, then <pad>. */
  ids: Int32Array;
  /** Where the prediction is read: the position of the context's last token. */
  position: number;
  /** The prompt's tokens as the tokenizer read them. */
  tokens: string[];
  /** Those the vocabulary lacks (fed as <unk>), each once, in order. */
  unknown: string[];
  /** Tokens dropped from the front because the prompt is longer than the window. */
  dropped: number;
}

/** The prompt as the model's input, as described in the module comment; refuses a prompt with no tokens. */
export function encodePrompt(
  text: string,
  vocabulary: Vocabulary,
  seqLen: number,
  options: { start?: boolean } = {},
): EncodedPrompt {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw new Error('the text is empty: there is nothing to continue');
  const ids = new Int32Array(seqLen).fill(PAD_ID);
  const encoded = vocabulary.encode(tokens);
  const stream = options.start ? [BOS_ID, ...encoded] : [...encoded];
  const cut = Math.max(0, stream.length - seqLen);
  const context = stream.slice(cut);
  ids.set(context);
  const unknown = [...new Set(tokens.filter((t) => vocabulary.idOf(t) === UNK_ID))];
  return {
    ids,
    position: context.length - 1,
    tokens,
    unknown,
    // The stream's cut entries, less the <bos> among them.
    dropped: options.start ? Math.max(0, cut - 1) : cut,
  };
}

export interface Suggestion {
  token: string;
  /** The model's probability of this token next (softmax over the whole vocabulary). */
  probability: number;
}

/** Tokens with a letter or a digit: the words a keyboard offers (not punctuation). */
export function isWordToken(token: string): boolean {
  return /[\p{L}\p{N}]/u.test(token);
}

/**
 * The `n` most likely next tokens from one position's scores, never a reserved token (<pad>, <unk>,
 * <bos>, <eos>), and only word tokens unless `punctuation`; ties go to the lower id.
 */
export function topSuggestions(
  logits: ArrayLike<number>,
  vocabulary: Vocabulary,
  n: number,
  options: { punctuation?: boolean } = {},
): Suggestion[] {
  if (logits.length !== vocabulary.size)
    throw new Error(`${logits.length} scores for a vocabulary of ${vocabulary.size} tokens`);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const ids: number[] = [];
  for (let id = RESERVED_TOKENS.length; id < vocabulary.size; id++)
    if (options.punctuation || isWordToken(vocabulary.tokens[id])) ids.push(id);
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  return ids.slice(0, n).map((id) => ({
    token: vocabulary.tokens[id],
    probability: Math.exp(logits[id] - max) / sum,
  }));
}

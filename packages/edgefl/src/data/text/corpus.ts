/**
 * Next-token prediction data from documents grouped by client (speaker, user, device): the natural
 * non-IID split of text, where each client's vocabulary and style are its own.
 *
 * All clients' windows live in ONE dataset; each client is an index list into it, so a federated
 * simulation with many clients holds the tokens once (wrap a list in a SubsetDataset to train on it).
 */
import { ArrayDataset } from '../dataset.js';
import { tokenize } from './tokenizer.js';
import { BOS_ID, EOS_ID, buildVocabulary, type Vocabulary } from './vocabulary.js';

export interface NextTokenCorpusOptions {
  /** Tokens per training window (the model's context length). */
  seqLen: number;
  /** Largest vocabulary, reserved tokens included; needed unless `vocabulary` is given. */
  vocabSize?: number;
  /** Leave out tokens seen fewer times (default 1). */
  minCount?: number;
  /**
   * Use this vocabulary instead of building one. Building one from every client's text is a convenience of
   * simulation; in a real deployment the vocabulary should come from public text, since the counts reveal
   * what the clients wrote.
   */
  vocabulary?: Vocabulary;
}

export interface NextTokenCorpus {
  /**
   * Int32 features of shape [seqLen] (token ids) and int32 labels of shape [seqLen], where label t is the
   * token that follows feature t. `classes` are the vocabulary's tokens, so labels are class indices.
   */
  dataset: ArrayDataset;
  /** Each client's window indices into `dataset`, in text order; clients with no full window are left out. */
  byClient: Map<string, Uint32Array>;
  vocabulary: Vocabulary;
}

/**
 * Tokenizes each client's documents, encodes them as `<bos> tokens <eos>` one after another (documents in
 * the order given), and cuts that stream into non-overlapping windows of seqLen + 1 tokens advancing by
 * seqLen: window w's features are stream[w·seqLen .. w·seqLen + seqLen) and its labels the same span shifted
 * by one. A tail shorter than a window is dropped. Windows never mix two clients' text.
 */
export function nextTokenCorpus(
  documents: ReadonlyMap<string, readonly string[]>,
  options: NextTokenCorpusOptions,
): NextTokenCorpus {
  const { seqLen } = options;
  if (!Number.isInteger(seqLen) || seqLen < 1)
    throw new Error(`nextTokenCorpus: seqLen must be a positive integer, got ${seqLen}`);
  if (!options.vocabulary && options.vocabSize === undefined)
    throw new Error('nextTokenCorpus: give either vocabSize (to build a vocabulary) or a vocabulary');

  const tokenized = new Map<string, string[][]>();
  for (const [client, texts] of documents) tokenized.set(client, texts.map(tokenize));
  const vocabulary =
    options.vocabulary ??
    buildVocabulary([...tokenized.values()].flat(), {
      maxSize: options.vocabSize as number,
      minCount: options.minCount,
    });

  const streams = new Map<string, Int32Array>();
  let totalWindows = 0;
  for (const [client, docs] of tokenized) {
    const stream = new Int32Array(docs.reduce((n, d) => n + d.length + 2, 0));
    let p = 0;
    for (const doc of docs) {
      stream[p++] = BOS_ID;
      stream.set(vocabulary.encode(doc), p);
      p += doc.length;
      stream[p++] = EOS_ID;
    }
    streams.set(client, stream);
    totalWindows += windowCount(stream.length, seqLen);
  }

  const features = new Int32Array(totalWindows * seqLen);
  const labels = new Int32Array(totalWindows * seqLen);
  const byClient = new Map<string, Uint32Array>();
  let w = 0;
  for (const [client, stream] of streams) {
    const count = windowCount(stream.length, seqLen);
    if (count === 0) continue;
    const indices = new Uint32Array(count);
    for (let k = 0; k < count; k++, w++) {
      indices[k] = w;
      const start = k * seqLen;
      features.set(stream.subarray(start, start + seqLen), w * seqLen);
      labels.set(stream.subarray(start + 1, start + seqLen + 1), w * seqLen);
    }
    byClient.set(client, indices);
  }

  const dataset = new ArrayDataset({
    features,
    labels,
    featureShape: [seqLen],
    labelShape: [seqLen],
    classes: vocabulary.tokens,
  });
  return { dataset, byClient, vocabulary };
}

/** Windows of seqLen + 1 tokens, stepping by seqLen, that fit in a stream of `length` tokens. */
function windowCount(length: number, seqLen: number): number {
  return length > seqLen ? Math.floor((length - 1) / seqLen) : 0;
}

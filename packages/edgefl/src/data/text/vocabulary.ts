/**
 * A token vocabulary: the mapping between tokens and the integer ids a model's embedding sees.
 *
 * Ids 0..3 are reserved, in this order: `<pad>` (filler that losses can ignore), `<unk>` (any token not in
 * the vocabulary), `<bos>` and `<eos>` (start and end of a document). The tokenizer never produces these
 * strings (`<` is a punctuation token of its own), so they cannot collide with text.
 */

export const PAD = '<pad>';
export const UNK = '<unk>';
export const BOS = '<bos>';
export const EOS = '<eos>';
export const PAD_ID = 0;
export const UNK_ID = 1;
export const BOS_ID = 2;
export const EOS_ID = 3;
export const RESERVED_TOKENS: readonly string[] = [PAD, UNK, BOS, EOS];

/** The serialized form: the tokens in id order. */
export interface VocabularyJSON {
  format: 'edgefl.vocabulary';
  version: 1;
  tokens: string[];
}

export class Vocabulary {
  /** Tokens in id order; the first four are RESERVED_TOKENS. */
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(tokens: readonly string[]) {
    RESERVED_TOKENS.forEach((t, id) => {
      if (tokens[id] !== t)
        throw new Error(
          `Vocabulary: id ${id} must be the reserved token ${t}, got ${JSON.stringify(tokens[id])}`,
        );
    });
    this.ids = new Map();
    tokens.forEach((t, id) => {
      if (typeof t !== 'string') throw new Error(`Vocabulary: token ${id} must be a string, got ${typeof t}`);
      const first = this.ids.get(t);
      if (first !== undefined)
        throw new Error(`Vocabulary: token ${JSON.stringify(t)} appears twice, as ids ${first} and ${id}`);
      this.ids.set(t, id);
    });
    this.tokens = [...tokens];
  }

  /** Number of ids, reserved ones included: the size of an embedding table for this vocabulary. */
  get size(): number {
    return this.tokens.length;
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  /** The id of a token, or UNK_ID when it is not in the vocabulary. */
  idOf(token: string): number {
    return this.ids.get(token) ?? UNK_ID;
  }

  /** The token of an id; throws for an id outside the vocabulary. */
  tokenOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length)
      throw new RangeError(`Vocabulary: id ${id} is not in [0, ${this.tokens.length})`);
    return this.tokens[id];
  }

  /** Token ids of a token sequence; out-of-vocabulary tokens become UNK_ID. */
  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.idOf(tokens[i]);
    return out;
  }

  /** The tokens of a sequence of ids. */
  decode(ids: ArrayLike<number>): string[] {
    const out: string[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = this.tokenOf(ids[i]);
    return out;
  }

  toJSON(): VocabularyJSON {
    return { format: 'edgefl.vocabulary', version: 1, tokens: [...this.tokens] };
  }

  static fromJSON(json: unknown): Vocabulary {
    const j = json as Partial<VocabularyJSON> | null;
    if (typeof j !== 'object' || j === null || j.format !== 'edgefl.vocabulary')
      throw new Error(`Vocabulary.fromJSON: expected an object with format 'edgefl.vocabulary'`);
    if (j.version !== 1)
      throw new Error(`Vocabulary.fromJSON: unsupported version ${JSON.stringify(j.version)}, expected 1`);
    if (!Array.isArray(j.tokens)) throw new Error('Vocabulary.fromJSON: tokens must be an array of strings');
    return new Vocabulary(j.tokens);
  }
}

export interface BuildVocabularyOptions {
  /** Largest vocabulary, the four reserved tokens included (at least 4). */
  maxSize: number;
  /** Tokens seen fewer times than this are left out (default 1). */
  minCount?: number;
}

/**
 * Counts tokens over all streams and keeps the most frequent: ids after the reserved ones go by count,
 * highest first, ties broken by UTF-16 code-unit order of the token — so the same text always gives the
 * same ids, on any machine and whatever the order of the streams.
 */
export function buildVocabulary(
  tokenStreams: Iterable<Iterable<string>>,
  options: BuildVocabularyOptions,
): Vocabulary {
  const { maxSize } = options;
  const minCount = options.minCount ?? 1;
  if (!Number.isInteger(maxSize) || maxSize < RESERVED_TOKENS.length)
    throw new Error(
      `buildVocabulary: maxSize must be an integer >= ${RESERVED_TOKENS.length}, got ${maxSize}`,
    );
  if (!Number.isInteger(minCount) || minCount < 1)
    throw new Error(`buildVocabulary: minCount must be an integer >= 1, got ${minCount}`);

  const counts = new Map<string, number>();
  for (const stream of tokenStreams)
    for (const token of stream) counts.set(token, (counts.get(token) ?? 0) + 1);
  // A stream may already contain reserved tokens (e.g. <bos> markers); they have their fixed ids.
  for (const t of RESERVED_TOKENS) counts.delete(t);

  const ranked = [...counts].filter(([, c]) => c >= minCount);
  ranked.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = ranked.slice(0, maxSize - RESERVED_TOKENS.length).map(([t]) => t);
  return new Vocabulary([...RESERVED_TOKENS, ...kept]);
}

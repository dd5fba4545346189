/**
 * The public candidate tokens a federated vocabulary is chosen from: an English word list, turned into
 * tokens the way the tokenizer would read them, plus the tokens such lists leave out although any
 * English text is full of them. Everything here is fixed in advance and the same for every deployment;
 * nothing comes from any client's text, so the list can be sent to every device in the clear.
 *
 * What a dictionary word list lacks, by the tokenizer's rules (tokenizer.ts):
 * - punctuation: each non-space character outside words is a token of its own (`,` `.` `$` `-`), and
 *   these are among the most frequent tokens of all;
 * - numbers: `1`, `30`, `1990` are words to the tokenizer; here every integer 0..2100 (small numbers
 *   and years) and the ordinals 1st..100th;
 * - contractions, which the tokenizer keeps whole (`don't`, `it's`, `we're`);
 * - the months and days of the week, which word lists leave out as proper nouns.
 * Other proper nouns (countries, people, places) and possessives (`nation's`) stay out: a general list
 * of them would be large and specific to a language community, and a deployment that wants them can
 * pass its own extra list. They are the main gap left: on the State of the Union addresses, a
 * 4,000-token vocabulary chosen this way from `an-array-of-english-words` covers 92.5% of held-out
 * presidents' tokens against 93.2% for one counted centrally from all the text; the difference is
 * mostly `america`, `american(s)`, place names and possessives.
 */
import { tokenize } from './tokenizer.js';

/** Every printable ASCII character that is neither a letter, a digit nor a space: each one token. */
export const PUNCTUATION_TOKENS: readonly string[] = Object.freeze(
  Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => /[^\p{L}\p{N}\s]/u.test(c)),
);

export const CONTRACTION_TOKENS: readonly string[] = Object.freeze(
  (
    "i'm i've i'll i'd you're you've you'll you'd he's he'll he'd she's she'll she'd it's it'll it'd " +
    "we're we've we'll we'd they're they've they'll they'd that's that'll that'd there's there'll " +
    "there'd here's what's what'll what're who's who'll who'd where's when's why's how's let's don't " +
    "doesn't didn't can't couldn't won't wouldn't shouldn't isn't aren't wasn't weren't hasn't haven't " +
    "hadn't mustn't needn't mightn't shan't ain't o'clock y'all"
  ).split(' '),
);

export const CALENDAR_TOKENS: readonly string[] = Object.freeze(
  (
    'january february march april may june july august september october november december ' +
    'monday tuesday wednesday thursday friday saturday sunday'
  ).split(' '),
);

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** The integers 0..2100 and the ordinals 1st..100th. */
export const NUMBER_TOKENS: readonly string[] = Object.freeze([
  ...Array.from({ length: 2101 }, (_, n) => String(n)),
  ...Array.from({ length: 100 }, (_, n) => ordinal(n + 1)),
]);

export interface CandidateOptions {
  /** Add the punctuation, number, contraction and calendar tokens above (default true). */
  standardExtras?: boolean;
  /** More public tokens of the deployment's own (read through the tokenizer like the word list). */
  extra?: Iterable<string>;
}

/**
 * The candidate tokens: each entry of `words` read by the tokenizer (so `Apple` becomes `apple`), kept
 * when it is exactly one token (a hyphenated or spaced entry could never be matched as one), then the
 * extras; each token once, in that order.
 */
export function candidateTokens(words: Iterable<string>, options: CandidateOptions = {}): string[] {
  const seen = new Set<string>();
  const add = (entry: string) => {
    const tokens = tokenize(entry);
    if (tokens.length === 1) seen.add(tokens[0]);
  };
  for (const w of words) {
    if (typeof w !== 'string')
      throw new Error(`candidateTokens: the word list must hold strings, got ${typeof w} (${String(w)})`);
    add(w);
  }
  if (options.standardExtras ?? true)
    for (const t of [...PUNCTUATION_TOKENS, ...NUMBER_TOKENS, ...CONTRACTION_TOKENS, ...CALENDAR_TOKENS])
      add(t);
  for (const t of options.extra ?? []) add(t);
  return [...seen];
}

/**
 * A word-level tokenizer for English prose, small enough to reimplement on any device that must feed the
 * same token ids to a deployed next-word model. The rules, applied in this order:
 *
 * 1. Unicode NFKC normalization (so ligatures, full-width forms and the like become plain letters).
 * 2. Typographic marks become their ASCII forms: the quotes ‘ ’ ‚ ‛ ′ become `'`, “ ” „ ‟ ″ become `"`,
 *    the dashes ‐ ‑ ‒ – — ― − become `-`.
 * 3. Lower-casing (`String.prototype.toLowerCase`, locale-independent).
 * 4. Control characters (Unicode category Cc, which includes tabs and line breaks) count as white space.
 * 5. The text is split, left to right, into the longest match of:
 *    - a **number with separators**: digits, then one or more groups of `.` or `,` followed by digits
 *      (`3,000,000`, `1.5`); a trailing `.` or `,` is not part of it;
 *    - a **word**: a run of letters, combining marks and digits, with single internal apostrophes kept
 *      (`union`, `1790`, `21st`, `don't`, `nation's`); a hyphen always splits (`fellow-citizens` is
 *      `fellow`, `-`, `citizens`), which keeps the vocabulary small;
 *    - otherwise any single non-space character, as a punctuation token (`,` `.` `$` `(` `'` `-`).
 *    White space separates tokens and is never one.
 *
 * Consequences the tests rely on: no token contains white space, every token is already lower-case, and
 * re-tokenizing tokens joined by single spaces gives the same tokens, so `joinTokens` is a canonical text
 * form that round-trips.
 */

const TYPOGRAPHIC: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '\u201b': "'",
  '\u2032': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u201f': '"',
  '\u2033': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2013': '-',
  '\u2014': '-',
  '\u2015': '-',
  '\u2212': '-',
};
const TYPOGRAPHIC_RE = new RegExp(`[${Object.keys(TYPOGRAPHIC).join('')}]`, 'gu');

// The three alternatives of rule 5, in priority order. \p{M} keeps decomposed accents inside words.
const TOKEN_RE = /\p{N}+(?:[.,]\p{N}+)+|[\p{L}\p{M}\p{N}]+(?:'[\p{L}\p{M}\p{N}]+)*|[^\s\p{Cc}]/gu;

/** Applies rules 1–3: the text as the tokenizer sees it before splitting. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(TYPOGRAPHIC_RE, (c) => TYPOGRAPHIC[c])
    .toLowerCase();
}

/** Splits text into tokens by the rules above. */
export function tokenize(text: string): string[] {
  return normalizeText(text).match(TOKEN_RE) ?? [];
}

/** The canonical text of a token sequence: tokens joined by single spaces; `tokenize` inverts it. */
export function joinTokens(tokens: readonly string[]): string {
  return tokens.join(' ');
}

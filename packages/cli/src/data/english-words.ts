/**
 * The public English word list a federated vocabulary's candidates come from: the npm package
 * `an-array-of-english-words` (MIT; about 275,000 lower-case words, one-letter words included, as one
 * JSON array), read from the installed package, never fetched at run time. Any other list can be
 * given as a file: a JSON array of strings, or plain text with one word per line (such as
 * /usr/share/dict/words).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export const ENGLISH_WORDS_PACKAGE = 'an-array-of-english-words';

export interface LoadEnglishWordsOptions {
  /** A word list of your own instead of the package's. */
  file?: string;
}

export async function loadEnglishWords(options: LoadEnglishWordsOptions = {}): Promise<string[]> {
  let path = options.file;
  if (path === undefined) {
    try {
      path = createRequire(import.meta.url).resolve(`${ENGLISH_WORDS_PACKAGE}/index.json`);
    } catch (err) {
      throw new Error(`loadEnglishWords: the npm package ${ENGLISH_WORDS_PACKAGE} is not installed`, {
        cause: err,
      });
    }
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `loadEnglishWords: ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!path.endsWith('.json'))
    return text
      .split(/\r?\n/)
      .map((w) => w.trim())
      .filter((w) => w !== '');
  let words: unknown;
  try {
    words = JSON.parse(text);
  } catch (err) {
    throw new Error(`loadEnglishWords: ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(words) || words.some((w) => typeof w !== 'string'))
    throw new Error(`loadEnglishWords: ${path} must hold a JSON array of strings`);
  return words as string[];
}

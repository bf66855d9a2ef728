/**
 * Porter stems from natural, imported by sub-path: the package root prints dotenv notices on
 * import (breaking JSONL output) and loads database clients we never use.
 */
import PorterStemmer from 'natural/lib/natural/stemmers/porter_stemmer.js';

const MAX_CACHED = 100_000;
/** Mail repeats a small vocabulary, so a cache turns ~2.6 us per stem into a Map lookup. */
const cache = new Map<string, string>();

export function stem(word: string): string {
  let stemmed = cache.get(word);
  if (stemmed === undefined) {
    stemmed = PorterStemmer.stem(word);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(word, stemmed);
  }
  return stemmed;
}

/**
 * A phrase written as one word: `#killmyself`, `killyourself`, or its letters spaced out
 * (`k i l l y o u r s e l f`, which the tokeniser joins into one token). Each phrase of plain words
 * also matches its words run together.
 *
 * Only phrases of two or more plain words or stems (no prefixes or gaps) whose joined spelling is long
 * enough not to be chance, and is not itself an English word in compromise's lexicon: "every one"
 * must not match "everyone".
 */
import nlp from 'compromise';
import type { PatternItem } from './pattern.js';

/** Shorter joins collide with ordinary words and names too often ("noone", "youare"). */
const MIN_GLUED_LENGTH = 8;
/** A phrase whose choices spell more joins than this is a set-built phrase: its joins are left out. */
const MAX_GLUED_PER_PHRASE = 256;

const englishWords = (nlp.model() as { one: { lexicon: Record<string, unknown> } }).one.lexicon;

/** Every joined spelling of a phrase of plain words; empty when the phrase has other parts or too many spellings. */
export function gluedSpellings(items: readonly PatternItem[]): string[] {
  const sequences = literalSequences(items);
  if (sequences === null) return [];
  const glued = new Set<string>();
  for (const words of sequences) {
    if (words.length < 2) continue;
    const joined = words.join('').replace(/'/g, '');
    if (joined.length >= MIN_GLUED_LENGTH && !(joined in englishWords)) glued.add(joined);
  }
  return [...glued];
}

/** The word sequences a phrase spells, or null if it has a part other than words or spells too many. */
function literalSequences(items: readonly PatternItem[]): string[][] | null {
  let sequences: string[][] = [[]];
  for (const item of items) {
    let options: string[][];
    if (item.kind === 'gap') return null;
    // The matcher checks the sentence end of a run-together hit as of any other.
    if (item.kind === 'end') continue;
    if (item.kind === 'token') {
      const { spec } = item;
      // A stem stands for its plain form, which is the form run-together phrases use ("killmyself").
      if (spec.kind === 'stem') options = [[spec.stem]];
      else if (spec.kind === 'word') options = spec.words.filter((w) => !w.startsWith('<')).map((w) => [w]);
      else return null;
      if (options.length === 0) return null;
    } else {
      const expanded: string[][] = [];
      for (const option of item.options) {
        const inner = literalSequences(option);
        if (inner === null) return null;
        expanded.push(...inner);
        if (expanded.length > MAX_GLUED_PER_PHRASE) return null;
      }
      options = expanded;
    }
    const next: string[][] = [];
    for (const sequence of sequences) for (const option of options) next.push([...sequence, ...option]);
    if (next.length > MAX_GLUED_PER_PHRASE) return null;
    sequences = next;
  }
  return sequences;
}

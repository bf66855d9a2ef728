/**
 * Tokeniser over normalised text. natural's tokenizers return bare strings, and evidence needs each
 * token's span, so tokens are cut here with one Unicode-aware regex; natural supplies the stemmer
 * (src/lexicon/stem.ts). Each token carries the spellings a writer may have used to dodge a
 * filter: leetspeak folded (`k1ll`, `$hit`), elongations squeezed (`fuuuuck`), and letters
 * spelled out one by one (`f.u.c.k`, `k i l l`) joined into one token.
 */
import type { Token } from './types.js';

/**
 * A word: letters, digits and the symbols leetspeak puts inside words, with apostrophes inside.
 * Or one pictograph: emoji stand in for words (a knife, an aubergine) and are matched like words.
 */
const TOKEN_PATTERN = /[\p{L}\p{N}@$*!|+](?:[\p{L}\p{N}\p{M}@$*!|+_]|'(?=[\p{L}]))*|\p{Extended_Pictographic}/gu;

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's', '!': 'i', '|': 'i', '+': 't' };
const LEET_CHARS = /[0134578@$!|+]/;
const HAS_LETTER = /\p{L}/u;
const EDGE_SYMBOLS_START = /^[*!|+]+/;
const EDGE_SYMBOLS_END = /[@$*!|+]+$/;
/** A gap that ends a sentence: end punctuation followed by white space, or a blank line. (`f.u.c.k` is no sentence end.) */
const SENTENCE_END = /[.!?;:]["')\]]*\s|\n\n/;
const HAS_LETTER_OR_DIGIT = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;
const ELONGATED = /(.)\1\1/u;
const NO_VARIANTS: readonly string[] = Object.freeze([]);

/** Gap between single letters that still reads as one spelled-out word: `f.u.c.k`, `k i l l`, `s-h-i-t`. */
const SPELLED_GAP = /^[ .\-_*·]{1,2}$/;
const MIN_SPELLED_LETTERS = 3;

function leetFold(word: string, one: 'i' | 'l'): string {
  let out = '';
  for (const ch of word) out += ch === '1' ? one : (LEET[ch] ?? ch);
  return out;
}

function squeeze(word: string, keep: 1 | 2): string {
  return word.replace(/(.)\1{2,}/gu, keep === 1 ? '$1' : '$1$1');
}

/** The other spellings worth looking up for a lower-cased token. */
export function spellingVariants(norm: string): readonly string[] {
  let variants: string[] | null = null;
  const add = (v: string): void => {
    if (v !== norm && v.length > 0 && !(variants ??= []).includes(v)) variants.push(v);
  };
  const bases = [norm];
  if (LEET_CHARS.test(norm) && HAS_LETTER.test(norm)) {
    const folded = leetFold(norm, 'i');
    add(folded);
    bases.push(folded);
    if (norm.includes('1')) add(leetFold(norm, 'l'));
  }
  if (norm.includes("'")) add(norm.replaceAll("'", ''));
  for (const base of bases) {
    if (ELONGATED.test(base)) {
      add(squeeze(base, 2));
      add(squeeze(base, 1));
    }
  }
  return variants ?? NO_VARIANTS;
}

/**
 * Cut `text` (already normalised) into tokens with offsets into `text`. `quoted` is left false:
 * the caller knows where quoted history is in the original text.
 */
export function tokenise(text: string): Token[] {
  const tokens: Token[] = [];
  let sentence = 0;
  let previousEnd = 0;

  for (const match of text.matchAll(TOKEN_PATTERN)) {
    let start = match.index;
    let raw = match[0];
    const leading = EDGE_SYMBOLS_START.exec(raw);
    if (leading && leading[0].length < raw.length) {
      start += leading[0].length;
      raw = raw.slice(leading[0].length);
    }
    const trailing = EDGE_SYMBOLS_END.exec(raw);
    // `$` and `@` may end a leetspeak word (a$$) but not a word that has no letters before them.
    if (trailing && trailing[0].length < raw.length && (/[*!|+]/.test(trailing[0]) || !HAS_LETTER.test(raw))) {
      raw = raw.slice(0, raw.length - trailing[0].length);
    }
    if (!HAS_LETTER_OR_DIGIT.test(raw)) continue;
    const end = start + raw.length;
    if (previousEnd > 0 && SENTENCE_END.test(text.slice(previousEnd, start))) sentence++;
    previousEnd = end;

    const norm = raw.toLowerCase();
    tokens.push({ norm, variants: spellingVariants(norm), start, end, sentence, quoted: false });
  }
  return joinSpelledOutWords(text, tokens);
}

/**
 * Replace runs of single letters separated by tiny gaps (`f.u.c.k`, `k i l l`) with one token.
 * A run keeps to one kind of gap, spaces or punctuation, so `a f.u.c.k` leaves the article alone.
 */
function joinSpelledOutWords(text: string, tokens: Token[]): Token[] {
  const gapKind = (a: Token, b: Token): 'space' | 'mark' | null => {
    const gap = text.slice(a.end, b.start);
    if (!SPELLED_GAP.test(gap)) return null;
    return gap.trim() === '' ? 'space' : 'mark';
  };
  let result: Token[] | null = null;
  let i = 0;
  while (i < tokens.length) {
    let j = i;
    let kind: 'space' | 'mark' | null = null;
    while (j + 1 < tokens.length && isSingleLetter(tokens[j]!) && isSingleLetter(tokens[j + 1]!)) {
      const next = gapKind(tokens[j]!, tokens[j + 1]!);
      if (next === null || (kind !== null && next !== kind)) break;
      kind = next;
      j++;
    }
    if (j - i + 1 >= MIN_SPELLED_LETTERS) {
      result ??= tokens.slice(0, i);
      const run = tokens.slice(i, j + 1);
      const norm = run.map((t) => t.norm).join('');
      const first = run[0]!;
      result.push({ norm, variants: spellingVariants(norm), start: first.start, end: run[run.length - 1]!.end, sentence: first.sentence, quoted: first.quoted });
      i = j + 1;
    } else {
      result?.push(tokens[i]!);
      i++;
    }
  }
  return result ?? tokens;
}

function isSingleLetter(token: Token): boolean {
  return token.end - token.start === 1 && HAS_LETTER.test(token.norm);
}

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
const TOKEN_PATTERN = /[\p{L}\p{N}@$*!|+](?:[\p{L}\p{N}\p{M}@$*!|+_€₩]|'(?=[\p{L}]))*|\p{Extended_Pictographic}/gu;

/** Currency signs stand in for letters only inside a word (`D€ATH`): `€50` stays an amount. */
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's', '!': 'i', '|': 'i', '+': 't', '€': 'e', '₩': 'w' };
const LEET_CHARS = /[0134578@$!|+€₩]/;
const HAS_LETTER = /\p{L}/u;
const EDGE_SYMBOLS_START = /^[*!|+]+/;
const EDGE_SYMBOLS_END = /[@$*!|+€₩]+$/;
/** A gap that ends a sentence: end punctuation followed by white space, or a blank line. (`f.u.c.k` is no sentence end.) */
const SENTENCE_END = /[.!?;:]["')\]]*\s|\n\n/;
/** normalise() writes a blank line, whatever it held, as `\n\n`. */
const PARAGRAPH_END = '\n\n';
const HAS_LETTER_OR_DIGIT = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;
const ELONGATED = /(.)\1\1/u;
const NO_VARIANTS: readonly string[] = Object.freeze([]);

/** Gap between single letters that still reads as one spelled-out word: `f.u.c.k`, `k i l l`, `s-h-i-t`. */
const SPELLED_GAP = /^[ .\-_*·]{1,2}$/;
const MIN_SPELLED_LETTERS = 3;
const SPELLED_IN_WORD = /^\p{L}(?:[*_]\p{L}){2,}$/u;
/** Single letters that are words of their own in text-speak: kept out of the ends of spaced-out runs. */
const LETTER_WORDS = new Set(['a', 'i', 'u', 'r']);

function leetFold(word: string, one: 'i' | 'l'): string {
  let out = '';
  for (const ch of word) out += ch === '1' ? one : (LEET[ch] ?? ch);
  return out;
}

function squeeze(word: string, keep: 1 | 2): string {
  // A loop, not /(.)\1{2,}/gu: that regex backtracks once per repeated character and throws at ~4 M.
  const chars = [...word];
  let out = '';
  for (let i = 0; i < chars.length; ) {
    let j = i + 1;
    while (j < chars.length && chars[j] === chars[i]) j++;
    out += chars[i]!.repeat(j - i >= 3 ? keep : j - i);
    i = j;
  }
  return out;
}

/** kiiiilllll → kill: every keep-1/keep-2 mix, for words with 2 or 3 elongated runs. */
function squeezeMixed(word: string): string[] {
  const runs: Array<[string, number]> = [];
  for (const ch of word) {
    const last = runs[runs.length - 1];
    if (last && last[0] === ch) last[1]++;
    else runs.push([ch, 1]);
  }
  const long = runs.filter(([, n]) => n >= 3).length;
  if (long < 2 || long > 3) return [];
  const out: string[] = [];
  for (let mask = 0; mask < 1 << long; mask++) {
    let k = 0;
    out.push(runs.map(([ch, n]) => (n >= 3 ? ch.repeat((mask >> k++) & 1 ? 2 : 1) : ch.repeat(n))).join(''));
  }
  return out;
}

/** `'s` after these is `is`/`has`/`us`, not a possessive: `he's` must not become `he`. */
const CONTRACTIONS_BEFORE_S = new Set(['he', 'she', 'it', 'that', 'what', 'there', 'here', 'who', 'where', 'let', 'how', 'when', 'why', 'this', 'everyone', 'nobody', 'somebody', 'someone']);
const POSSESSIVE = /^(.+)'s$/u;
/** A word with a number stuck on the end, as in handles and evasions: `jew213`, `loser99`. */
const DIGIT_SUFFIX = /^(\p{L}{3,})\d{2,}$/u;

/** Mail repeats a small vocabulary: each word's variants are worked out once. */
const variantCache = new Map<string, readonly string[]>();
const MAX_CACHED_VARIANTS = 100_000;

/**
 * Lower-case ASCII letters with no letter three times in a row: most words of most mail, and none of
 * them has another spelling. Checking the characters is much cheaper than a lookup in the large cache.
 */
function isPlainWord(norm: string): boolean {
  let run = 0;
  for (let i = 0; i < norm.length; i++) {
    const code = norm.charCodeAt(i);
    if (code < 97 || code > 122) return false;
    run = i > 0 && code === norm.charCodeAt(i - 1) ? run + 1 : 1;
    if (run === 3) return false;
  }
  return true;
}

/** The other spellings worth looking up for a lower-cased token. */
export function spellingVariants(norm: string): readonly string[] {
  if (isPlainWord(norm)) return NO_VARIANTS;
  let variants = variantCache.get(norm);
  if (variants === undefined) {
    variants = computeVariants(norm);
    if (variantCache.size >= MAX_CACHED_VARIANTS) variantCache.clear();
    // Very long tokens (a 5 MB run of letters) are not worth keeping.
    if (norm.length <= 64) variantCache.set(norm, variants);
  }
  return variants;
}

function computeVariants(norm: string): readonly string[] {
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
  // Letters spelled out with * or _ stay one token (both are word characters): f*u*c*k, s_h_i_t.
  if (SPELLED_IN_WORD.test(norm)) add(norm.replace(/[*_]/g, ''));
  const possessive = POSSESSIVE.exec(norm);
  if (possessive && !CONTRACTIONS_BEFORE_S.has(possessive[1]!)) add(possessive[1]!);
  const numbered = DIGIT_SUFFIX.exec(norm);
  if (numbered) add(numbered[1]!);
  for (const base of bases) {
    if (ELONGATED.test(base)) {
      add(squeeze(base, 2));
      add(squeeze(base, 1));
      for (const mixed of squeezeMixed(base)) add(mixed);
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
  let paragraph = 0;
  let previousEnd = 0;

  for (const match of text.matchAll(TOKEN_PATTERN)) {
    for (const [pieceStart, piece] of splitAtExclamations(match[0], match.index)) pushToken(pieceStart, piece);
  }
  return joinSpelledOutWords(text, tokens);

  function pushToken(pieceStart: number, piece: string): void {
    let start = pieceStart;
    let raw = piece;
    const leading = EDGE_SYMBOLS_START.exec(raw);
    if (leading && leading[0].length < raw.length) {
      start += leading[0].length;
      raw = raw.slice(leading[0].length);
    }
    // `$` and `@` may end a leetspeak word (a$$, a$$!) but not a word that has no letters before them.
    const punctuation = /[*!|+]+$/.exec(raw);
    if (punctuation && punctuation[0].length < raw.length) raw = raw.slice(0, raw.length - punctuation[0].length);
    const trailing = EDGE_SYMBOLS_END.exec(raw);
    if (trailing && trailing[0].length < raw.length && !HAS_LETTER.test(raw)) {
      raw = raw.slice(0, raw.length - trailing[0].length);
    }
    if (!HAS_LETTER_OR_DIGIT.test(raw)) return;
    const end = start + raw.length;
    if (previousEnd > 0) {
      const gap = text.slice(previousEnd, start);
      if (SENTENCE_END.test(gap) || (EXCLAMATION_RUN.test(gap) && UPPER_START.test(raw))) sentence++;
      if (gap.includes(PARAGRAPH_END)) paragraph++;
    }
    previousEnd = end;

    const norm = raw.toLowerCase();
    tokens.push({ norm, variants: spellingVariants(norm), start, end, sentence, paragraph, quoted: false, inLink: isInLink(text, start, end) });
  }
}

const LINK_PUNCTUATION = new Set(['.', '/', '@', ':']);
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** A word of an address: `.`, `/`, `@` or `:` joins it to more letters with no space (`dropdead.nu`, `x.com/kill`). */
function isInLink(text: string, start: number, end: number): boolean {
  const after = text[end];
  if (after !== undefined && LINK_PUNCTUATION.has(after) && LETTER_OR_DIGIT.test(text[end + 1] ?? '')) return true;
  const before = text[start - 1];
  return before !== undefined && LINK_PUNCTUATION.has(before) && (before === '/' || LETTER_OR_DIGIT.test(text[start - 2] ?? ''));
}

const EXCLAMATION_RUN = /^!+$/;
const UPPER_START = /^\p{Lu}/u;
/** `!` inside a word: the end of one word and the start of the next, not leetspeak for `i`. */
const WORD_JOINING_EXCLAMATION = /(?<=\p{L})(?:!{2,}(?=[\p{L}\p{N}])|!(?=\p{Lu})(?<=\p{Ll}!)|!(?=\p{N}+$))/gu;

/**
 * `idiot!Get a life`, `you idiot!68.84...`, `loser!!go away`: a missing space after `!`, not `sh!t`.
 * The `!` is a word boundary where a run of them sits between letters, where a lower-case word
 * meets a capital, or where only digits follow.
 */
function splitAtExclamations(raw: string, start: number): Array<[number, string]> {
  if (!raw.includes('!')) return [[start, raw]];
  const pieces: Array<[number, string]> = [];
  let from = 0;
  for (const bang of raw.matchAll(WORD_JOINING_EXCLAMATION)) {
    pieces.push([start + from, raw.slice(from, bang.index)]);
    from = bang.index + bang[0].length;
  }
  pieces.push([start + from, raw.slice(from)]);
  return pieces;
}

/**
 * Replace runs of single letters separated by tiny gaps (`f.u.c.k`, `k i l l`) with one token.
 * A run keeps to one kind of gap, spaces or punctuation, so `a f.u.c.k` leaves the article alone.
 */
function joinSpelledOutWords(text: string, tokens: Token[]): Token[] {
  const gapKind = (a: Token, b: Token): 'space' | 'mark' | null => {
    const gap = text.slice(a.end, b.start);
    // "a. b. c." are sentences, not a spelled-out word.
    if (!SPELLED_GAP.test(gap) || /[.]\s/.test(gap)) return null;
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
    // Spaced runs whose ends are single-letter words (u r a, i, a): a trailing one stays a word of
    // its own ("k i l l u" is kill + u), and so does a leading "i", usually the pronoun ("i h a t e
    // you"); a leading a/u/r more often starts the word and stays in the join, which carries the
    // core as a variant ("a n o r e x i c" is anorexic, "a f u c k i n g" also fucking). A run
    // made only of such words (u r a) is not a spelled-out word.
    let coreFrom = i;
    let coreTo = j;
    let emitFrom = i;
    let emitTo = j;
    if (kind === 'space') {
      while (coreFrom <= coreTo && LETTER_WORDS.has(tokens[coreFrom]!.norm)) coreFrom++;
      while (coreTo >= coreFrom && LETTER_WORDS.has(tokens[coreTo]!.norm)) coreTo--;
      const core = coreTo - coreFrom + 1;
      if (core <= 0) emitTo = i - 1;
      else if (core < MIN_SPELLED_LETTERS) [coreFrom, coreTo] = [i, j]; // a s s: join it all
      else {
        emitTo = coreTo;
        while (emitFrom < coreFrom && tokens[emitFrom]!.norm === 'i') emitFrom++;
      }
    }
    if (emitTo - emitFrom + 1 >= MIN_SPELLED_LETTERS) {
      result ??= tokens.slice(0, i);
      for (let k = i; k < emitFrom; k++) result.push(tokens[k]!);
      const spell = (from: number, to: number) => tokens.slice(from, to + 1).map((t) => t.norm).join('');
      const norm = spell(emitFrom, emitTo);
      const variants = [...new Set([...spellingVariants(norm), spell(coreFrom, coreTo), spell(i, j)])].filter((v) => v !== norm);
      const first = tokens[emitFrom]!;
      result.push({ norm, variants, start: first.start, end: tokens[emitTo]!.end, sentence: first.sentence, paragraph: first.paragraph, quoted: first.quoted, inLink: false });
      for (let k = emitTo + 1; k <= j; k++) result.push(tokens[k]!);
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

/**
 * The phrase language of lexicon terms (documented in lexicons/README.md):
 *
 *   word        the word, in any case and any spelling the tokeniser folds (leet, elongation, homoglyphs)
 *   word*       any word starting with `word` (at least 3 letters before the star)
 *   ~word       any word with the same Porter stem (kill, kills, killed, killing)
 *   _           any one word
 *   ..N         up to N words of anything (N from 1 to 5)
 *   {a|b c|}    one of the alternatives; each may be several words or empty (optional)
 *   @name       any phrase of the named set (a `sets:` entry in any lexicon file)
 *   <class>     any word of a class the analyser marks: <name> (a person's name), <name's> (a
 *               name with a possessive 's), <number>, <in-quotes> (a word inside quotation marks)
 *   <end>       the sentence ends here (only as a term's last word): `i can't go on <end>`
 *
 * A pattern parses into a tree (tokens, choices, gaps) that the matcher compiles into a small
 * automaton; it is never expanded into every sequence it can match, so alternatives, gaps and sets
 * cost space in proportion to how they are written, not to how many combinations they make.
 */
import { normalise } from '../scan/normalise.js';
import { tokenise } from '../scan/tokenise.js';
import { stem } from './stem.js';

export type TokenSpec =
  | { kind: 'word'; words: string[] }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'stem'; stem: string }
  | { kind: 'any' };

/**
 * One step of a pattern: a token, a choice between sub-sequences (possibly empty), a gap of 0..max
 * any words, or the end of the sentence (only ever a whole pattern's last step).
 */
export type PatternItem =
  | { kind: 'token'; spec: TokenSpec }
  | { kind: 'choice'; options: PatternItem[][] }
  | { kind: 'gap'; max: number }
  | { kind: 'end' };

export class PatternError extends Error {}

/**
 * Word classes the analyser adds to a token's spellings (src/scan/word-classes.ts). The angle
 * brackets cannot occur in a token cut from text, so a class never matches a written word.
 */
export const WORD_CLASSES = ['<name>', "<name's>", '<number>', '<in-quotes>'] as const;
export type WordClass = (typeof WORD_CLASSES)[number];

/** Written as a term's last word: the match must end its sentence. */
export const END_OF_SENTENCE_ATOM = '<end>';

const MIN_PREFIX = 3;
const MAX_GAP = 5;
/** Only for listing a pattern's phrases (lint, tests); matching never expands. */
const MAX_EXPANSIONS = 4096;

/** Named phrase lists shared by all lexicon files. */
export type TermSets = ReadonlyMap<string, readonly string[]>;

interface Parse {
  pattern: string;
  sets: TermSets;
  /** Sets being parsed, to refuse a set that contains itself. */
  open: Set<string>;
}

/** Normalise one literal word exactly as text is normalised, so `Ｋill` in a lexicon means `kill`. */
function literal(word: string): string {
  return normalise(word).text.toLowerCase();
}

const token = (spec: TokenSpec): PatternItem => ({ kind: 'token', spec });

function parseAtom(atom: string, pattern: string): PatternItem[] {
  if (atom === '_') return [token({ kind: 'any' })];
  if (atom === END_OF_SENTENCE_ATOM) return [{ kind: 'end' }];
  if (atom.startsWith('<')) {
    if (!WORD_CLASSES.includes(atom as WordClass)) {
      throw new PatternError(`"${atom}" in "${pattern}" is not a word class (${WORD_CLASSES.join(', ')})`);
    }
    return [token({ kind: 'word', words: [atom] })];
  }
  const gap = /^\.\.(\d+)$/.exec(atom);
  if (gap) {
    const n = Number(gap[1]);
    if (n < 1 || n > MAX_GAP) throw new PatternError(`gap "${atom}" in "${pattern}" must be ..1 to ..${MAX_GAP}`);
    return [{ kind: 'gap', max: n }];
  }
  if (atom.startsWith('~')) {
    const word = literal(atom.slice(1));
    if (!/^[\p{L}\p{N}'@$*!|+]+$/u.test(word)) throw new PatternError(`stem "${atom}" in "${pattern}" must be one word`);
    return [token({ kind: 'stem', stem: stem(word) })];
  }
  if (atom.endsWith('*') && !atom.endsWith('\\*')) {
    const prefix = literal(atom.slice(0, -1));
    if (tokenise(prefix).length !== 1 || /[\s\-.,;:/]/.test(prefix)) throw new PatternError(`prefix "${atom}" in "${pattern}" must be one word`);
    if ([...prefix].length < MIN_PREFIX) {
      throw new PatternError(`prefix "${atom}" in "${pattern}" is too short: give at least ${MIN_PREFIX} letters before *`);
    }
    return [token({ kind: 'prefix', prefix })];
  }
  const words = literalWords(atom);
  if (words.length === 0) throw new PatternError(`"${atom}" in "${pattern}" has no letters or digits`);
  return words;
}

/** Lexicons repeat the same literals across many phrases: cut each once. */
const literalCache = new Map<string, PatternItem[]>();

function literalWords(atom: string): PatternItem[] {
  let items = literalCache.get(atom);
  if (!items) {
    // Cut the literal as text is cut, so `self-harm` means the two words `self` `harm`.
    items = tokenise(literal(atom.replace(/\\\*/g, '*'))).map((t) => {
      // A phrase written with an apostrophe also matches the common spelling without one (`dont`);
      // the reverse (matching `he'll` for `hell`) would be wrong, so it is done on this side only.
      const words = [t.norm];
      if (t.norm.includes("'")) words.push(t.norm.replaceAll("'", ''));
      return token({ kind: 'word', words });
    });
    literalCache.set(atom, items);
  }
  return items;
}

/** Split on spaces outside braces. */
function splitTopLevel(pattern: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of pattern) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth < 0) throw new PatternError(`unbalanced "}" in "${pattern}"`);
    if (/\s/.test(ch) && depth === 0) {
      if (current) parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw new PatternError(`unbalanced "{" in "${pattern}"`);
  if (current) parts.push(current);
  return parts;
}

/** Parsed sets, per set table: a large set used by many phrases is parsed once (trees are never mutated). */
const parsedSets = new WeakMap<TermSets, Map<string, PatternItem>>();

function parseSetReference(name: string, x: Parse): PatternItem {
  const cache = parsedSets.get(x.sets) ?? new Map<string, PatternItem>();
  parsedSets.set(x.sets, cache);
  const cached = cache.get(name);
  if (cached) return cached;
  const terms = x.sets.get(name);
  if (!terms) throw new PatternError(`unknown set "@${name}" in "${x.pattern}"`);
  if (x.open.has(name)) throw new PatternError(`set "@${name}" refers to itself`);
  x.open.add(name);
  try {
    const item: PatternItem = { kind: 'choice', options: terms.map((term) => parseSequence(term, x)) };
    cache.set(name, item);
    return item;
  } finally {
    x.open.delete(name);
  }
}

function parsePart(part: string, x: Parse): PatternItem[] {
  const { pattern } = x;
  if (part.startsWith('@')) {
    if (!/^@[a-z][a-z0-9_]*$/.test(part)) throw new PatternError(`"${part}" in "${pattern}" is not a set name (@lower_case_words)`);
    return [parseSetReference(part.slice(1), x)];
  }
  if (part.startsWith('{') && part.endsWith('}')) {
    const inner = part.slice(1, -1);
    if (inner.includes('{')) throw new PatternError(`nested braces are not supported in "${pattern}"`);
    const alternatives = inner.split('|');
    if (alternatives.length < 2) throw new PatternError(`"${part}" in "${pattern}" needs at least two alternatives separated by |`);
    return [{ kind: 'choice', options: alternatives.map((alternative) => parseSequence(alternative.trim(), x)) }];
  }
  if (part.includes('{') || part.includes('}')) {
    throw new PatternError(`braces must enclose whole words in "${pattern}" (put a space before "{" and after "}")`);
  }
  return parseAtom(part, pattern);
}

function parseSequence(text: string, x: Parse): PatternItem[] {
  return splitTopLevel(text).flatMap((part) => parsePart(part, x));
}

/** The kinds of token a sequence can start with, and whether it can be empty. */
function firstKinds(items: readonly PatternItem[]): { kinds: Set<TokenSpec['kind']>; empty: boolean } {
  const kinds = new Set<TokenSpec['kind']>();
  for (const item of items) {
    if (item.kind === 'token') {
      kinds.add(item.spec.kind);
      return { kinds, empty: false };
    }
    if (item.kind === 'gap') {
      kinds.add('any');
      continue;
    }
    if (item.kind === 'end') continue;
    let mayBeEmpty = false;
    for (const option of item.options) {
      const first = firstKinds(option);
      for (const k of first.kinds) kinds.add(k);
      if (first.empty) mayBeEmpty = true;
    }
    if (!mayBeEmpty) return { kinds, empty: false };
  }
  return { kinds, empty: true };
}

function reversed(items: readonly PatternItem[]): PatternItem[] {
  return [...items].reverse().map((item) => (item.kind === 'choice' ? { kind: 'choice', options: item.options.map(reversed) } : item));
}

/** Does every way through the sequence pass a real word (not only gaps and `_`)? */
function alwaysHasWord(items: readonly PatternItem[]): boolean {
  return items.some(
    (item) => (item.kind === 'token' && item.spec.kind !== 'any') || (item.kind === 'choice' && item.options.every(alwaysHasWord)),
  );
}

/** Is there a sentence end anywhere but as the last step of `items`? */
function misplacedEnd(items: readonly PatternItem[], topLevel: boolean): boolean {
  return items.some(
    (item, index) =>
      (item.kind === 'end' && !(topLevel && index === items.length - 1)) || (item.kind === 'choice' && item.options.some((option) => misplacedEnd(option, false))),
  );
}

const NO_SETS: TermSets = new Map();

/** Parse a lexicon term into its pattern tree. Throws PatternError. */
export function parsePatternTree(pattern: string, sets: TermSets = NO_SETS): PatternItem[] {
  if (pattern.trim() === '') throw new PatternError('empty pattern');
  const items = parseSequence(pattern.trim(), { pattern, sets, open: new Set() });
  if (misplacedEnd(items, true)) throw new PatternError(`"${pattern}" has ${END_OF_SENTENCE_ATOM} before its last word: it can only end a term, outside braces and sets`);
  if (!alwaysHasWord(items)) throw new PatternError(`"${pattern}" can match a run of any words or nothing: anchor every alternative with a word`);
  if (firstKinds(items).kinds.has('any') || firstKinds(reversed(items)).kinds.has('any')) {
    throw new PatternError(`"${pattern}" starts or ends with a gap: gaps belong between words`);
  }
  return items;
}

function expandItems(items: readonly PatternItem[], pattern: string): TokenSpec[][] {
  let sequences: TokenSpec[][] = [[]];
  for (const item of items) {
    let options: TokenSpec[][];
    if (item.kind === 'token') options = [[item.spec]];
    else if (item.kind === 'end') options = [[{ kind: 'word', words: [END_OF_SENTENCE_ATOM] }]];
    else if (item.kind === 'gap') options = Array.from({ length: item.max + 1 }, (_, k) => Array.from({ length: k }, () => ({ kind: 'any' as const })));
    else options = item.options.flatMap((option) => expandItems(option, pattern));
    if (sequences.length * options.length > MAX_EXPANSIONS) throw new PatternError(`"${pattern}" stands for more than ${MAX_EXPANSIONS} phrases`);
    const next: TokenSpec[][] = [];
    for (const prefix of sequences) for (const option of options) next.push([...prefix, ...option]);
    sequences = next;
  }
  return sequences;
}

/**
 * Every token sequence a term matches, for lint and tests; throws PatternError past 4096.
 * (Matching compiles the tree itself and has no such limit.)
 */
export function parsePattern(pattern: string, sets: TermSets = NO_SETS): TokenSpec[][] {
  return expandItems(parsePatternTree(pattern, sets), pattern);
}

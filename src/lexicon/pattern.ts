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
 *
 * A pattern expands into one or more sequences of token specs that the matcher compiles into its trie.
 */
import { normalise } from '../scan/normalise.js';
import { tokenise } from '../scan/tokenise.js';
import { stem } from './stem.js';

export type TokenSpec =
  | { kind: 'word'; words: string[] }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'stem'; stem: string }
  | { kind: 'any' };

export class PatternError extends Error {}

const MIN_PREFIX = 3;
const MAX_GAP = 5;
const MAX_EXPANSIONS = 4096;

/** Named phrase lists shared by all lexicon files. */
export type TermSets = ReadonlyMap<string, readonly string[]>;

interface Expansion {
  pattern: string;
  sets: TermSets;
  /** Sets being expanded, to refuse a set that contains itself. */
  open: Set<string>;
}

/** Normalise one literal word exactly as text is normalised, so `Ｋill` in a lexicon means `kill`. */
function literal(word: string): string {
  return normalise(word).text.toLowerCase();
}

function parseAtom(atom: string, pattern: string): TokenSpec[][] {
  if (atom === '_') return [[{ kind: 'any' }]];
  const gap = /^\.\.(\d+)$/.exec(atom);
  if (gap) {
    const n = Number(gap[1]);
    if (n < 1 || n > MAX_GAP) throw new PatternError(`gap "${atom}" in "${pattern}" must be ..1 to ..${MAX_GAP}`);
    return Array.from({ length: n + 1 }, (_, k) => Array.from({ length: k }, () => ({ kind: 'any' as const })));
  }
  if (atom.startsWith('~')) {
    const word = literal(atom.slice(1));
    if (!/^[\p{L}\p{N}'@$*!|+]+$/u.test(word)) throw new PatternError(`stem "${atom}" in "${pattern}" must be one word`);
    return [[{ kind: 'stem', stem: stem(word) }]];
  }
  if (atom.endsWith('*') && !atom.endsWith('\\*')) {
    const prefix = literal(atom.slice(0, -1));
    if (tokenise(prefix).length !== 1 || /[\s\-.,;:/]/.test(prefix)) throw new PatternError(`prefix "${atom}" in "${pattern}" must be one word`);
    if ([...prefix].length < MIN_PREFIX) {
      throw new PatternError(`prefix "${atom}" in "${pattern}" is too short: give at least ${MIN_PREFIX} letters before *`);
    }
    return [[{ kind: 'prefix', prefix }]];
  }
  // Cut the literal as text is cut, so `self-harm` means the two words `self` `harm`.
  const tokens = tokenise(literal(atom.replace(/\\\*/g, '*')));
  if (tokens.length === 0) throw new PatternError(`"${atom}" in "${pattern}" has no letters or digits`);
  return [
    tokens.map((token): TokenSpec => {
      // A phrase written with an apostrophe also matches the common spelling without one (`dont`);
      // the reverse (matching `he'll` for `hell`) would be wrong, so it is done on this side only.
      const words = [token.norm];
      if (token.norm.includes("'")) words.push(token.norm.replaceAll("'", ''));
      return { kind: 'word', words };
    }),
  ];
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

function parseSetReference(name: string, x: Expansion): TokenSpec[][] {
  const terms = x.sets.get(name);
  if (!terms) throw new PatternError(`unknown set "@${name}" in "${x.pattern}"`);
  if (x.open.has(name)) throw new PatternError(`set "@${name}" refers to itself`);
  x.open.add(name);
  try {
    return terms.flatMap((term) => expand(term, x, false));
  } finally {
    x.open.delete(name);
  }
}

function parsePart(part: string, x: Expansion): TokenSpec[][] {
  const { pattern } = x;
  if (part.startsWith('@')) {
    if (!/^@[a-z][a-z0-9_]*$/.test(part)) throw new PatternError(`"${part}" in "${pattern}" is not a set name (@lower_case_words)`);
    return parseSetReference(part.slice(1), x);
  }
  if (part.startsWith('{') && part.endsWith('}')) {
    const inner = part.slice(1, -1);
    if (inner.includes('{')) throw new PatternError(`nested braces are not supported in "${pattern}"`);
    const alternatives = inner.split('|');
    if (alternatives.length < 2) throw new PatternError(`"${part}" in "${pattern}" needs at least two alternatives separated by |`);
    return alternatives.flatMap((alternative) => expand(alternative.trim(), x, true));
  }
  if (part.includes('{') || part.includes('}')) {
    throw new PatternError(`braces must enclose whole words in "${pattern}" (put a space before "{" and after "}")`);
  }
  return parseAtom(part, pattern);
}

function expand(text: string, x: Expansion, allowEmpty: boolean): TokenSpec[][] {
  const { pattern } = x;
  const parts = splitTopLevel(text);
  if (parts.length === 0) {
    if (allowEmpty) return [[]];
    throw new PatternError('empty pattern');
  }
  let sequences: TokenSpec[][] = [[]];
  for (const part of parts) {
    const options = parsePart(part, x);
    const next: TokenSpec[][] = [];
    for (const prefix of sequences) for (const option of options) next.push([...prefix, ...option]);
    if (next.length > MAX_EXPANSIONS) throw new PatternError(`"${pattern}" expands to more than ${MAX_EXPANSIONS} phrases: split it`);
    sequences = next;
  }
  return sequences;
}

const NO_SETS: TermSets = new Map();

/** Parse a lexicon term into the token sequences it stands for. Throws PatternError. */
export function parsePattern(pattern: string, sets: TermSets = NO_SETS): TokenSpec[][] {
  const sequences = expand(pattern.trim(), { pattern, sets, open: new Set() }, false).filter((s) => s.length > 0);
  if (sequences.length === 0) throw new PatternError(`"${pattern}" matches nothing`);
  for (const sequence of sequences) {
    if (sequence.every((spec) => spec.kind === 'any')) throw new PatternError(`"${pattern}" can match a run of any words: anchor it with a word`);
    if (sequence[0]!.kind === 'any' || sequence[sequence.length - 1]!.kind === 'any') {
      throw new PatternError(`"${pattern}" starts or ends with a gap: gaps belong between words`);
    }
  }
  return sequences;
}

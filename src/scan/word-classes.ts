/**
 * Word classes that lexicon phrases can name (`<name>`, `<name's>`, `<number>`, `<in-quotes>`): added to a token's spellings so
 * the matcher needs nothing new. A rule about personal data needs to know that a sentence is about
 * an identifiable person ("Isla Morgan is on a child protection plan"), which a word list cannot say.
 *
 * Names come from compromise's lexicon of first names and surnames, which marks a word as a name
 * only when that is its usual sense ("Will" is a modal verb, "Grace" a first name). A capitalised
 * word beside a known first name is taken as its surname. Running compromise's tagger over whole
 * bodies would cost about 5 ms per KB; a lexicon lookup per capitalised word costs nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nlp from 'compromise';
import type { WordClass } from '../lexicon/pattern.js';
import { BUILTIN_LEXICONS } from '../paths.js';
import type { Token } from './types.js';

const NAME_TAGS = new Set(['FirstName', 'MaleName', 'FemaleName', 'LastName']);
const FIRST_NAME_TAGS = new Set(['FirstName', 'MaleName', 'FemaleName']);

type Lexicon = Record<string, string | string[] | undefined>;
const lexicon = (nlp.model() as { one: { lexicon: Lexicon } }).one.lexicon;

/** Names common in UK schools that compromise lacks or reads as ordinary words (lexicons/word-classes/names.txt). */
const SCHOOL_NAMES = new Set(
  readFileSync(join(BUILTIN_LEXICONS, 'word-classes', 'names.txt'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().toLowerCase())
    .filter((line) => line !== ''),
);

function tagOf(word: string): string | undefined {
  if (SCHOOL_NAMES.has(word)) return 'FirstName';
  const tag = lexicon[word];
  return Array.isArray(tag) ? tag[0] : tag;
}

/** `Chloe`, `O'Brien`, `McAllister`, `Farrant-Lane`: an upper-case letter, then at least one lower-case. */
const CAPITALISED = /^\p{Lu}[\p{L}'’-]*\p{Ll}[\p{L}'’-]*$/u;
const POSSESSIVE = /['’]s$/;

function withClass(token: Token, wordClass: WordClass): void {
  if (!token.variants.includes(wordClass)) token.variants = [...token.variants, wordClass];
}

/** A cheap first test: most words are lower-case ASCII and never reach the regex. */
function startsUpperCase(code: number): boolean {
  return (code >= 65 && code <= 90) || code > 127;
}

function bareWord(norm: string): string {
  return norm.replace(POSSESSIVE, '');
}

/**
 * Quotation marks and paragraph breaks. Curly and angle quotes say which way they face. A straight
 * one opens only before a word and after a space or the start (`"hi`), and closes only after a word
 * (`hi"`), so an inch mark (`12" screen`) neither opens nor closes. A quotation never runs past a
 * paragraph break (checked on the tokens, which know where the normaliser saw one), and one longer
 * than MAX_QUOTATION is taken for a stray mark.
 */
const QUOTE_MARK = /["“”«»]/g;
const OPENING = new Set(['“', '«']);
const CLOSING = new Set(['”', '»']);
const MAX_QUOTATION = 400;
const SPACE_BEFORE = /[\s([{\-—–]/;
const SPACE_AFTER = /[\s.,;:!?)\]}\-—–]/;

/** [start, end) offsets of the text inside each quotation. */
function quotations(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let open: { mark: string; at: number } | null = null;
  for (const match of text.matchAll(QUOTE_MARK)) {
    const mark = match[0];
    const at = match.index;
    const before = at === 0 ? ' ' : text[at - 1]!;
    const after = at + 1 === text.length ? ' ' : text[at + 1]!;
    const canOpen = mark === '"' ? SPACE_BEFORE.test(before) && !/\s/.test(after) : OPENING.has(mark);
    const canClose = mark === '"' ? !/\s/.test(before) && SPACE_AFTER.test(after) : CLOSING.has(mark);
    if (open !== null && canClose && (mark === '"') === (open.mark === '"')) {
      if (at - open.at <= MAX_QUOTATION) spans.push([open.at + 1, at]);
      open = null;
    } else if (canOpen) {
      open = { mark, at };
    }
  }
  return spans;
}

function markQuotations(tokens: Token[], text: string): void {
  if (!/["“«]/.test(text)) return;
  let next = 0;
  for (const [start, end] of quotations(text)) {
    while (next < tokens.length && tokens[next]!.start < start) next++;
    let last = next;
    while (last < tokens.length && tokens[last]!.start < end) last++;
    // Tokens [next, last) are inside; a quotation across a paragraph break is a mispairing.
    if (last > next && tokens[next]!.paragraph === tokens[last - 1]!.paragraph) {
      for (let i = next; i < last; i++) withClass(tokens[i]!, '<in-quotes>');
    }
    next = last;
  }
}

/** Mark number tokens, person-name tokens and words inside quotation marks of one field. `text` is the field's original text. */
export function markWordClasses(tokens: Token[], text: string): void {
  markQuotations(tokens, text);
  const capitalised = tokens.map((t) => startsUpperCase(text.charCodeAt(t.start)) && CAPITALISED.test(text.slice(t.start, t.end).replace(POSSESSIVE, '')));
  const tags = tokens.map((t, i) => (capitalised[i] ? tagOf(bareWord(t.norm)) : undefined));
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const first = token.norm.charCodeAt(0);
    if (first >= 48 && first <= 57 && /^\d+$/.test(token.norm)) {
      withClass(token, '<number>');
      continue;
    }
    if (!capitalised[i]) continue;
    const tag = tags[i];
    const midSentence = i > 0 && tokens[i - 1]!.sentence === token.sentence;
    // "Can you check Callum's plan": an unknown capitalised word owning something mid-sentence.
    const possessiveName = tag === undefined && midSentence && POSSESSIVE.test(token.norm);
    const afterFirstName = i > 0 && capitalised[i - 1] && FIRST_NAME_TAGS.has(tags[i - 1] ?? '') && tokens[i - 1]!.sentence === token.sentence;
    const beforeSurname = i + 1 < tokens.length && tags[i + 1] === 'LastName' && tokens[i + 1]!.sentence === token.sentence;
    if ((tag !== undefined && NAME_TAGS.has(tag)) || (tag === undefined && (afterFirstName || beforeSurname || possessiveName))) {
      withClass(token, '<name>');
      if (POSSESSIVE.test(token.norm)) withClass(token, "<name's>");
    }
  }
}

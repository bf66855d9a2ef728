/**
 * Text normalisation that keeps a map back to the original text, so evidence found in the
 * normalised form can be shown as the writer typed it.
 *
 * Folds what people use to dodge filters while keeping the text readable and digits intact
 * (personal-data detectors need them): NFKC (full-width, ligatures, maths letters), accents on
 * Latin letters, Cyrillic/Greek look-alikes, zero-width and bidi controls, variation selectors and
 * emoji skin tones, and runs of whitespace. Case is kept; tokens are lower-cased later.
 * Leetspeak is folded per token (tokenise.ts), because `0` and `1` must stay digits in text.
 */

export interface NormalisedText {
  text: string;
  /** origin[i] is the index in the original text of normalised character i; origin[text.length] is the original length. */
  origin: Int32Array;
}

/** Characters that render as nothing or only steer layout: removed outright. */
export function isInvisible(cp: number): boolean {
  return (
    cp === 0x00ad || // soft hyphen
    cp === 0x034f || // combining grapheme joiner
    cp === 0x061c || // Arabic letter mark (bidi)
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x17b4 ||
    cp === 0x17b5 ||
    cp === 0x180e ||
    (cp >= 0x200b && cp <= 0x200f) || // zero-width space/joiners, LRM/RLM
    (cp >= 0x202a && cp <= 0x202e) || // bidi embeddings and overrides
    (cp >= 0x2060 && cp <= 0x206f) || // word joiner, invisible operators, bidi isolates
    cp === 0x3164 ||
    cp === 0xfeff ||
    cp === 0xffa0 ||
    (cp >= 0xfe00 && cp <= 0xfe0f) || // variation selectors
    (cp >= 0x1f3fb && cp <= 0x1f3ff) || // emoji skin-tone modifiers
    (cp >= 0xe0000 && cp <= 0xe007f) || // tag characters
    (cp >= 0xe0100 && cp <= 0xe01ef)
  );
}

/**
 * Look-alike letters from other scripts mapped to the Latin letter they imitate (Unicode
 * confusables, restricted to the ones seen in filter evasion). Applied everywhere: evasion uses
 * whole words in look-alike letters, not just mixed-script words.
 */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  а: 'a', в: 'b', с: 'c', ԁ: 'd', е: 'e', ё: 'e', һ: 'h', і: 'i', ї: 'i', ј: 'j', к: 'k', ӏ: 'l', м: 'm', н: 'h',
  о: 'o', р: 'p', ԛ: 'q', г: 'r', ѕ: 's', т: 't', у: 'y', х: 'x', ԝ: 'w', ь: 'b', п: 'n', и: 'u', л: 'n', ү: 'y',
  А: 'A', В: 'B', С: 'C', Е: 'E', Н: 'H', І: 'I', Ј: 'J', К: 'K', М: 'M', О: 'O', Р: 'P', Ѕ: 'S', Т: 'T',
  Х: 'X', У: 'Y', Ү: 'Y', Ԍ: 'G', Ԛ: 'Q', Ԝ: 'W',
  // Greek
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', γ: 'y', ω: 'w',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
  // Latin letters used as look-alikes
  ı: 'i', ȷ: 'j', ɑ: 'a', ɡ: 'g', ɩ: 'i', ɪ: 'i', ʏ: 'y', ʀ: 'r', ᴀ: 'a', ʙ: 'b', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ɢ: 'g',
  ʜ: 'h', ᴊ: 'j', ᴋ: 'k', ʟ: 'l', ᴍ: 'm', ɴ: 'n', ᴏ: 'o', ᴘ: 'p', ꜱ: 's', ᴛ: 't', ᴜ: 'u', ᴠ: 'v', ᴡ: 'w', ᴢ: 'z',
  ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L', ħ: 'h',
  // Cherokee and other common stand-ins
  Ꭺ: 'A', Ᏼ: 'B', Ꮯ: 'C', Ꭼ: 'E', Ꮋ: 'H', Ꮶ: 'K', Ꮮ: 'L', Ꮇ: 'M', Ꮲ: 'P', Ꮪ: 'S', Ꭲ: 'T', Ꮃ: 'W', Ꮓ: 'Z',
  // Quotes and dashes: one form each so lexicon phrases need not list them
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'", '\u00b4': "'", '\u0060': "'",
  '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"', '\u2033': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
};

const COMBINING_MARK = /\p{M}/u;
const LATIN_OR_ASCII = /^[\p{Script=Latin}\p{ASCII}]+$/u;

/** Cache of the folded form of each non-ASCII code point: mail repeats the same few characters. */
const foldCache = new Map<number, string>();

function foldCodePoint(cp: number, char: string): string {
  const cached = foldCache.get(cp);
  if (cached !== undefined) return cached;
  // Upper-case look-alikes missing from the table fold like their lower case (Г → г → r).
  let folded = CONFUSABLES[char] ?? CONFUSABLES[char.toLowerCase()] ?? char.normalize('NFKC');
  // Strip accents only where the base letter is Latin: removing marks from Devanagari or Arabic would corrupt the text.
  const decomposed = folded.normalize('NFD');
  if (decomposed !== folded) {
    const base = [...decomposed].filter((c) => !COMBINING_MARK.test(c)).join('');
    if (LATIN_OR_ASCII.test(base)) folded = base;
  }
  // NFKC can yield look-alikes too (e.g. mathematical Greek letters).
  folded = [...folded].map((c) => CONFUSABLES[c] ?? c).join('');
  if (foldCache.size < 65_536) foldCache.set(cp, folded);
  return folded;
}

function isWhitespace(cp: number): boolean {
  return (
    cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || cp === 0xa0 || cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000 ||
    cp === 0x85
  );
}

function isLineBreak(cp: number): boolean {
  return cp === 0x0a || cp === 0x0b || cp === 0x0c || cp === 0x0d || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
}

function isLatinLetterOrDigit(char: string): boolean {
  return /[\p{Script=Latin}0-9]/u.test(char);
}

/** Growable offset map: most mail is ASCII, so origin entries are written in runs. */
class OriginMap {
  values: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.values = new Int32Array(Math.max(16, capacity));
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.values.length) return;
    const grown = new Int32Array(Math.max(this.values.length * 2, this.length + extra));
    grown.set(this.values.subarray(0, this.length));
    this.values = grown;
  }

  push(value: number): void {
    this.reserve(1);
    this.values[this.length++] = value;
  }

  pushRun(from: number, count: number): void {
    this.reserve(count);
    for (let k = 0; k < count; k++) this.values[this.length++] = from + k;
  }

  finish(): Int32Array {
    return this.values.subarray(0, this.length);
  }
}

/** Printable ASCII other than space: passes through normalisation unchanged. */
function isPlainAscii(code: number): boolean {
  return code > 0x20 && code < 0x7f && code !== 0x60; // ` is folded to '
}

/**
 * Normalise `input`, keeping offsets. Whitespace runs become one space, or `\n` when they hold a
 * line break, or `\n\n` when they hold a blank line (paragraphs matter to sentence splitting).
 */
export function normalise(input: string): NormalisedText {
  const out: string[] = [];
  const origin = new OriginMap(input.length + 1);
  let i = 0;
  let previousWasLatin = false;

  while (i < input.length) {
    const code = input.charCodeAt(i);

    if (isPlainAscii(code)) {
      let j = i + 1;
      while (j < input.length && isPlainAscii(input.charCodeAt(j))) j++;
      // A single space between two plain runs also passes through: take it with the run.
      while (j + 1 < input.length && input.charCodeAt(j) === 0x20 && isPlainAscii(input.charCodeAt(j + 1))) {
        j += 2;
        while (j < input.length && isPlainAscii(input.charCodeAt(j))) j++;
      }
      out.push(input.slice(i, j));
      origin.pushRun(i, j - i);
      const last = input.charCodeAt(j - 1);
      previousWasLatin = (last >= 0x41 && last <= 0x5a) || (last >= 0x61 && last <= 0x7a) || (last >= 0x30 && last <= 0x39);
      i = j;
      continue;
    }

    if (isWhitespace(code)) {
      const runStart = i;
      let breaks = 0;
      let j = i;
      while (j < input.length) {
        const c = input.charCodeAt(j);
        if (!isWhitespace(c) && !isInvisible(c)) break;
        if (c === 0x0d && input.charCodeAt(j + 1) === 0x0a) {
          breaks++;
          j += 2;
          continue;
        }
        if (isLineBreak(c)) breaks++;
        j++;
      }
      const replacement = breaks >= 2 ? '\n\n' : breaks === 1 ? '\n' : ' ';
      out.push(replacement);
      for (let k = 0; k < replacement.length; k++) origin.push(runStart);
      i = j;
      previousWasLatin = false;
      continue;
    }

    const cp = input.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (isInvisible(cp)) {
      i += width;
      continue;
    }

    const char = input.slice(i, i + width);
    if (code < 0x80) {
      // Control characters other than white space: keep them out of words. A backtick is an apostrophe.
      out.push(code === 0x60 ? "'" : ' ');
      origin.push(i);
      i++;
      previousWasLatin = false;
      continue;
    }
    if (COMBINING_MARK.test(char)) {
      // A stray accent after a Latin letter (decomposed input, or Zalgo text) is noise.
      if (previousWasLatin) {
        i += width;
        continue;
      }
      out.push(char);
      for (let k = 0; k < char.length; k++) origin.push(i + k);
      i += width;
      continue;
    }

    const folded = foldCodePoint(cp, char);
    for (let k = 0; k < folded.length; k++) origin.push(i);
    out.push(folded);
    previousWasLatin = folded.length > 0 && isLatinLetterOrDigit(folded[folded.length - 1]!);
    i += width;
  }

  origin.push(input.length);
  const text = out.join('');
  if (text.length + 1 !== origin.length) throw new Error('normalise: offset map out of step');
  return { text, origin: origin.finish() };
}

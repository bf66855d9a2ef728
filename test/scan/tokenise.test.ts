import { describe, expect, it } from 'vitest';
import { spellingVariants, tokenise } from '../../src/scan/tokenise.js';

const norms = (text: string) => tokenise(text).map((t) => t.norm);

describe('tokenise', () => {
  it('cuts words with their spans and lower-cases them', () => {
    const text = "Don't PANIC, it's fine.";
    const tokens = tokenise(text);
    expect(tokens.map((t) => t.norm)).toEqual(["don't", 'panic', "it's", 'fine']);
    for (const t of tokens) expect(text.slice(t.start, t.end).toLowerCase()).toBe(t.norm);
  });

  it('numbers sentences at end punctuation and blank lines, not inside spelled-out words', () => {
    const tokens = tokenise('I am fine. Really!\n\nNew para f.u.c.k this');
    expect(tokens.map((t) => t.sentence)).toEqual([0, 0, 0, 1, 2, 2, 2, 2]);
    // Paragraphs end only at blank lines; the spelled-out word is one token.
    expect(tokens.map((t) => t.paragraph)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(tokenise('one\ntwo\n\nthree f.u.c.k').map((t) => t.paragraph)).toEqual([0, 0, 1, 1]);
  });

  it('offers leetspeak, elongation and apostrophe-free spellings as variants', () => {
    expect(spellingVariants('k1ll')).toEqual(expect.arrayContaining(['kill']));
    expect(spellingVariants('$hit')).toContain('shit');
    expect(spellingVariants('sh1t')).toContain('shit');
    expect(spellingVariants('fuuuuck')).toContain('fuck');
    expect(spellingVariants('killllll')).toContain('kill');
    // The apostrophe-free spelling is added on the pattern side only, so `he'll` never matches `hell`.
    expect(spellingVariants("he'll")).not.toContain('hell');
    expect(spellingVariants('hello')).toEqual([]);
    expect(spellingVariants('baaad')).toEqual(expect.arrayContaining(['bad', 'baad']));
    expect(spellingVariants('café')).toEqual([]);
    expect(spellingVariants('2024')).toEqual([]);
  });

  it('keeps leetspeak symbols inside words but not punctuation around them', () => {
    expect(norms('what the f*ck!!! sh!t, @ss a$$')).toEqual(['what', 'the', 'f*ck', 'sh!t', '@ss', 'a$$']);
    expect(norms('!!! *** --')).toEqual([]);
  });

  it('reads a currency sign inside a word as the letter it imitates, and leaves amounts alone', () => {
    expect(norms('D€ATH to them')).toEqual(['d€ath', 'to', 'them']);
    expect(spellingVariants('d€ath')).toContain('death');
    expect(spellingVariants('k₩ik')).toContain('kwik');
    expect(norms('it costs €50 or 50€ each')).toEqual(['it', 'costs', '50', 'or', '50', 'each']);
  });

  it('marks the words of web and mail addresses', () => {
    const inLink = (text: string) => tokenise(text).filter((t) => t.inLink).map((t) => t.norm);
    expect(inLink('see dropdead.nu or www.example.org/page and mail jo@school.org. Then stop.')).toEqual(['dropdead', 'nu', 'www', 'example', 'org', 'page', 'jo@school', 'org']);
    expect(inLink('Fine. Really: no links here / none')).toEqual([]);
  });

  it('reads a missing space after ! as a word boundary, not leetspeak', () => {
    expect(norms('you idiot!Get a life')).toEqual(['you', 'idiot', 'get', 'a', 'life']);
    expect(norms('loser!!go away')).toEqual(['loser', 'go', 'away']);
    expect(norms('you idiot!68.84')).toEqual(['you', 'idiot', '68', '84']);
    expect(norms('SH!T b!tch Sh!t')).toEqual(['sh!t', 'b!tch', 'sh!t']);
    const [first, second] = tokenise('idiot!Get').map((t) => t.sentence);
    expect(second).toBe(first! + 1);
  });

  it('joins letters spelled out one by one', () => {
    const text = 'you are a f.u.c.k-i-n-g idiot, k i l l';
    const tokens = tokenise(text);
    expect(tokens.map((t) => t.norm)).toEqual(['you', 'are', 'a', 'fucking', 'idiot', 'kill']);
    const joined = tokens[3]!;
    expect(text.slice(joined.start, joined.end)).toBe('f.u.c.k-i-n-g');
  });

  it('treats emoji as words', () => {
    expect(norms('bring the 🔪 tomorrow')).toEqual(['bring', 'the', '🔪', 'tomorrow']);
  });
});

describe('possessives and numbered words', () => {
  it("offer the word without 's, except after pronouns and contractions", () => {
    expect(spellingVariants("teacher's")).toContain('teacher');
    expect(spellingVariants("he's")).not.toContain('he');
    expect(spellingVariants("it's")).not.toContain('it');
  });

  it('offer the word without a number stuck on the end', () => {
    expect(spellingVariants('loser99')).toContain('loser');
    expect(spellingVariants('b4')).not.toContain('b');
  });
});

describe('spelled-out words with single-letter words at their edges', () => {
  it('keep a leading a/u in the word, with the core as a variant; peel a leading i and any trailing one', () => {
    expect(norms("i'm a n o r e x i c")).toEqual(["i'm", 'anorexic']);
    expect(tokenise('a f u c k i n g idiot')[0]!.variants).toContain('fucking');
    expect(norms('going to u n a l i v e myself')).toEqual(['going', 'to', 'unalive', 'myself']);
    expect(norms('i h a t e you')).toEqual(['i', 'hate', 'you']);
    expect(norms('i will k i l l u')).toEqual(['i', 'will', 'kill', 'u']);
    expect(norms('a. b. c. d')).toEqual(['a', 'b', 'c', 'd']);
  });
});

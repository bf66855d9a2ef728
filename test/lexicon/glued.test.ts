import { describe, expect, it } from 'vitest';
import { gluedSpellings } from '../../src/lexicon/glued.js';
import { findGluedCollisions } from '../../src/lexicon/lint.js';
import { parsePatternTree } from '../../src/lexicon/pattern.js';
import { compileYaml, hitsIn, lexiconFile, testRule as rule } from '../helpers/lexicon.js';

const glued = (term: string) => gluedSpellings(parsePatternTree(term)).sort();

describe('phrases run together', () => {
  const lexicon = compileYaml({
    'g.yaml': lexiconFile(
      rule('g.self', '    terms: ["{~kill|hang} myself"]') + rule('g.every', '    terms: ["every one of them"]') + rule('g.short', '    terms: ["go away"]'),
    ),
  });
  const ids = (text: string) => hitsIn(lexicon, text).map((h) => h.rule.id);

  it('match a phrase written as one word, as a hashtag, or with its letters spaced out', () => {
    expect(ids('i want to killmyself')).toEqual(['g.self']);
    expect(ids('#hangmyself tonight')).toEqual(['g.self']);
    expect(ids('k i l l m y s e l f')).toEqual(['g.self']);
    expect(ids('KILLMYSELF')).toEqual(['g.self']);
  });

  it('are not looked up inside web and mail addresses, where words run together anyway', () => {
    expect(ids('see killmyself.org for the band')).toEqual([]);
    expect(ids('mail me at hangmyself@example.org')).toEqual([]);
    expect(ids('https://www.example.org/hangmyself')).toEqual([]);
    expect(ids('i will killmyself. tonight')).toEqual(['g.self']);
  });

  it('leave alone joins that are English words or too short to be more than chance', () => {
    expect(glued('every one')).toEqual([]);
    expect(ids('goaway')).toEqual([]);
    expect(ids('everyoneofthem')).toEqual(['g.every']);
  });

  it('spell every choice and a stem as its plain form, and skip phrases with gaps, prefixes or too many spellings', () => {
    expect(glued('{~kill|hang} {myself|meself}')).toEqual(['hangmeself', 'hangmyself', 'killmeself', 'killmyself']);
    expect(glued("don't tell anyone")).toEqual(['donttellanyone']);
    expect(glued('kill ..2 myself')).toEqual([]);
    expect(glued('kill* myself')).toEqual([]);
    const many = Array.from({ length: 20 }, (_, i) => `word${i}`).join('|');
    expect(glued(`{${many}} {${many}}`)).toEqual([]);
  });
});

describe('lexicon check', () => {
  it('warns when a phrase run together is a one-word term of another rule of the category', () => {
    const lexicon = compileYaml({
      'p.yaml': lexiconFile(
        rule('p.apart', '    terms: ["{ass|arse} {hole|holes}"]') + rule('p.word', '    terms: ["{asshole|assholes}"]') + rule('p.both', '    terms: ["{paddy power|paddypower}"]') + rule('p.other', '    terms: ["paddypower"]'),
      ),
      'q.yaml': lexiconFile(rule('q.elsewhere', '    terms: ["arsehole"]'), 'category: other.cat\npolicy: 000_test.txt 1.1\n'),
    });
    const warnings = findGluedCollisions(lexicon).map((w) => `${w.rule}: ${w.message}`);
    expect(warnings).toEqual([
      expect.stringMatching(/^p\.apart: "\{ass\|arse\} \{hole\|holes\}" run together is "assholes", a term of p\.word .*both rules read that word$/),
    ]);
  });
});

/**
 * Review: evidence offsets. `text.slice(evidence.start, evidence.end)` must be exactly the matched
 * words as the writer typed them, whatever the normaliser folded or dropped.
 */
import { describe, expect, it } from 'vitest';
import { analyseField } from '../../src/scan/analyse.js';
import { makeEvidence } from '../../src/scan/evidence.js';
import { evidenceSlices, isWellFormed, lexiconOf, rule } from './support.js';

const lexicon = lexiconOf(
  rule('r.kill', '    terms: ["kill you"]') +
    rule('r.office', '    terms: ["office"]') +
    rule('r.fuss', '    terms: ["fuss"]') +
    rule('r.knife', '    terms: ["🔪"]') +
    rule('r.cafe', '    terms: ["cafe"]') +
    rule('r.spelled', '    terms: ["fuck"]'),
);
const slices = (text: string, id: string) => evidenceSlices(lexicon, text, id).map((e) => e.slice);
const spans = (text: string) => analyseField({ field: 'body', text, quoted: [] }).tokens.map((t) => text.slice(t.start, t.end));

describe('review: evidence offsets cover the words as written', () => {
  it('maths letters (astral) inside, at the start and at the very end', () => {
    expect(slices('𝐤𝐢𝐥𝐥 𝐲𝐨𝐮', 'r.kill')).toEqual(['𝐤𝐢𝐥𝐥 𝐲𝐨𝐮']);
    expect(slices('i will kill 𝐲𝐨𝐮', 'r.kill')).toEqual(['kill 𝐲𝐨𝐮']);
    expect(slices('𝐤𝐢𝐥𝐥 you now', 'r.kill')).toEqual(['𝐤𝐢𝐥𝐥 you']);
  });

  it('emoji, with skin tone and variation selector, at the end of the text', () => {
    expect(slices('bring the 🔪', 'r.knife')).toEqual(['🔪']);
    expect(slices('bring the 🔪\ufe0f', 'r.knife')).toEqual(['🔪']);
    expect(spans('ok 👍🏽')).toEqual(['ok', '👍🏽']);
  });

  it('combining accents inside and after the last letter, precomposed and decomposed', () => {
    expect(slices('ki\u0301ll you', 'r.kill')).toEqual(['ki\u0301ll you']);
    expect(slices('kill you\u0301', 'r.kill')).toEqual(['kill you\u0301']);
    expect(slices('the café', 'r.cafe')).toEqual(['café']);
    expect(slices('the cafe\u0301 is shut', 'r.cafe')).toEqual(['cafe\u0301']);
  });

  it('CRLF between and after the words', () => {
    expect(slices('kill\r\nyou\r\n', 'r.kill')).toEqual(['kill\r\nyou']);
  });

  it('zero-width characters inside a word are kept, right after a word are left out', () => {
    expect(slices('ki\u200bll y\u200dou', 'r.kill')).toEqual(['ki\u200bll y\u200dou']);
    expect(slices('kill\u200b you\u200b\u200b', 'r.kill')).toEqual(['kill\u200b you']);
    expect(slices('kill\ufeff you\u2060', 'r.kill')).toEqual(['kill\ufeff you']);
  });

  it('ligatures that expand and ß → ss', () => {
    expect(slices('the oﬃce', 'r.office')).toEqual(['oﬃce']);
    expect(slices('so much fuß', 'r.fuss')).toEqual(['fuß']);
    expect(spans('oﬃ ﬃ')).toEqual(['oﬃ', 'ﬃ']);
  });

  it('spelled-out letters at the start and end of the text', () => {
    expect(slices('f.u.c.k', 'r.spelled')).toEqual(['f.u.c.k']);
    expect(slices('f u c k this', 'r.spelled')).toEqual(['f u c k']);
    expect(slices('oh f.u.c.k.', 'r.spelled')).toEqual(['f.u.c.k']);
    expect(slices('𝐟 𝐮 𝐜 𝐤', 'r.spelled')).toEqual(['𝐟 𝐮 𝐜 𝐤']);
  });

  // Regression (analyse.ts:17 DROPPED_AT_END): it lists only some of the characters normalise.ts drops
  // (isInvisible). U+3164 HANGUL FILLER, U+115F/1160, U+180E, U+FFA0 and astral tag characters
  // (U+E0000..E007F), variation selectors supplement, right after a word stay inside the span.
  it('leaves a Hangul filler right after a word out of the span', () => {
    expect(slices('kill you\u3164 now', 'r.kill')).toEqual(['kill you']);
  });
  it('leaves an astral tag character right after a word out of the span', () => {
    expect(slices('kill you\u{E0020} now', 'r.kill')).toEqual(['kill you']);
  });

  // Regression (analyse.ts:30 `lastOrigin + 1`): when a token ends inside the NFKC expansion of an astral
  // character (U+1F100 DIGIT ZERO FULL STOP → "0."), the end splits the surrogate pair.
  it('never ends a token span inside a surrogate pair', () => {
    for (const s of spans('x🄀y')) expect(isWellFormed(s)).toBe(true);
  });

  // Regression (evidence.ts:15-19): widening the excerpt stops at `start - 2 * context` even mid surrogate
  // pair, so an excerpt inside a run of emoji starts (or ends) with a lone surrogate.
  it('never cuts a surrogate pair at the edges of an excerpt', () => {
    const text = 'x' + '🔪'.repeat(50) + ' kill ' + '🔪'.repeat(50) + 'x';
    const start = text.indexOf('kill');
    const evidence = makeEvidence({ field: 'body', text, quoted: [] }, start, start + 4, 11);
    expect(isWellFormed(evidence.excerpt)).toBe(true);
  });
});

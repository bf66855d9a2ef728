import { describe, expect, it } from 'vitest';
import { normalise } from '../../src/scan/normalise.js';

/** The original text behind normalised characters [start, end). */
function back(input: string, start: number, end: number): string {
  const n = normalise(input);
  return input.slice(n.origin[start], n.origin[end]);
}

describe('normalise', () => {
  it('folds full-width letters, ligatures and maths letters with NFKC', () => {
    expect(normalise('ｋｉｌｌ ﬁne 𝐟𝐮𝐜𝐤').text).toBe('kill fine fuck');
  });

  it('removes zero-width and bidi control characters', () => {
    expect(normalise('k\u200bi\u200dl\u202el\ufeff').text).toBe('kill');
    expect(normalise('s\u00adu\u2060icide').text).toBe('suicide');
  });

  it('folds Cyrillic and Greek look-alikes and Latin accents', () => {
    expect(normalise('кіll уоu').text).toBe('kill you');
    expect(normalise('ѕех').text).toBe('sex');
    expect(normalise('ćúnt naïve').text).toBe('cunt naive');
  });

  it('keeps non-Latin scripts intact', () => {
    expect(normalise('नमस्ते').text).toBe('नमस्ते');
  });

  it('collapses white space but keeps line and paragraph breaks', () => {
    expect(normalise('a  \t b\u00a0c\r\nd\n\n\n e').text).toBe('a b c\nd\n\ne');
  });

  it('keeps digits and case for the personal-data detectors', () => {
    expect(normalise('Call 07700 900123, NI QQ123456C').text).toBe('Call 07700 900123, NI QQ123456C');
  });

  it('maps every normalised character back to where it came from', () => {
    const input = 'I  want\u200b to ｄｉｅ';
    const n = normalise(input);
    expect(n.text).toBe('I want to die');
    const at = n.text.indexOf('die');
    expect(back(input, at, at + 3)).toBe('ｄｉｅ');
    expect(n.origin[n.text.length]).toBe(input.length);
    expect(n.origin.length).toBe(n.text.length + 1);
  });
});

import { describe, expect, it } from 'vitest';
import { maskValue, patternRecognizer, type PatternRecognizerSpec } from '../../src/scan/detectors/personal-data/recognizer.js';
import { valuesFound } from './support.js';

const BASE: Omit<PatternRecognizerSpec, 'patterns'> = {
  id: 'personal_data.test',
  kind: 'test',
  description: 'test values',
  policy: 'test',
  sensitivity: 'identifier',
  examples: { mustMatch: [], mustNotMatch: [] },
};

describe('patternRecognizer', () => {
  it('skips a field that fails fieldMustMatch, and refuses a global one', () => {
    const gated = patternRecognizer({ ...BASE, fieldMustMatch: /ref/i, patterns: [{ name: 'digits', regex: /\d{4}/g, score: 1 }] });
    expect(valuesFound(gated, 'Room 1234')).toEqual([]);
    expect(valuesFound(gated, 'Ref 1234 and 5678')).toEqual(['1234', '5678']);
    expect(() => patternRecognizer({ ...BASE, fieldMustMatch: /ref/g, patterns: [] })).toThrow(/fieldMustMatch/);
  });

  it('lets a later pattern add values only where no earlier pattern found one', () => {
    const layered = patternRecognizer({
      ...BASE,
      patterns: [
        { name: 'six digits', regex: /\d{6}/g, score: 1 },
        { name: 'digits with letters around', regex: /[a-z]?\d+[a-z]?/g, score: 1 },
      ],
    });
    // The second pattern's `a123456b` encloses, `654321` equals and `777777c` overlaps a six-digit value.
    expect(valuesFound(layered, 'a123456b 654321 x9 777777c 42')).toEqual(['123456', '654321', '777777', 'x9', '42']);
  });
});

describe('maskValue', () => {
  it('keeps the UTF-16 length of a value with astral letters, so offsets after it stay true', () => {
    const value = '𝐏𝐚𝐬𝐬𝐰𝐨𝐫𝐝𝟏𝟐𝟑';
    const masked = maskValue(value, { start: 0, end: 0 });
    expect(masked).toHaveLength(value.length);
    expect(masked).toMatch(/^\*+$/);
  });
});

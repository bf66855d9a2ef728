import { describe, expect, it } from 'vitest';
import { RECOGNIZERS } from '../../src/scan/detectors/personal-data/registry.js';
import { valuesFound } from './support.js';

describe.each(RECOGNIZERS.map((r) => [r.id, r] as const))('%s examples', (_id, recognizer) => {
  it('has examples both ways', () => {
    expect(recognizer.examples.mustMatch.length).toBeGreaterThan(0);
    expect(recognizer.examples.mustNotMatch.length).toBeGreaterThan(0);
  });
  it.each(recognizer.examples.mustMatch)('finds a value in: %s', (text) => {
    expect(valuesFound(recognizer, text)).not.toEqual([]);
  });
  it.each(recognizer.examples.mustNotMatch)('finds nothing in: %s', (text) => {
    expect(valuesFound(recognizer, text)).toEqual([]);
  });
  it('masks without changing length and leaves at most a third readable', () => {
    for (const text of recognizer.examples.mustMatch) {
      const view = valuesFound(recognizer, text);
      for (const value of view) {
        const masked = recognizer.mask(value);
        expect(masked).toHaveLength(value.length);
        const readable = [...masked].filter((ch) => /[\p{L}\p{N}]/u.test(ch)).length;
        const total = [...value].filter((ch) => /[\p{L}\p{N}]/u.test(ch)).length;
        expect(readable).toBeLessThanOrEqual(Math.floor(total / 3));
      }
    }
  });
});

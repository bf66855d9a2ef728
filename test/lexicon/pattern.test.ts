import { describe, expect, it } from 'vitest';
import { parsePattern, PatternError } from '../../src/lexicon/pattern.js';

describe('parsePattern', () => {
  it('expands alternatives, optional words and gaps', () => {
    const sequences = parsePattern('{want|going} {to|} die');
    expect(sequences).toHaveLength(4);
    expect(parsePattern('kill ..2 myself')).toHaveLength(3);
  });

  it('reads stems, prefixes and any-word slots', () => {
    expect(parsePattern('~killing _ fuck*')[0]).toEqual([
      { kind: 'stem', stem: 'kill' },
      { kind: 'any' },
      { kind: 'prefix', prefix: 'fuck' },
    ]);
  });

  it('cuts literals as text is cut, and accepts the apostrophe-free spelling', () => {
    expect(parsePattern('self-harm')[0]).toEqual([
      { kind: 'word', words: ['self'] },
      { kind: 'word', words: ['harm'] },
    ]);
    expect(parsePattern("don't")[0]).toEqual([{ kind: 'word', words: ["don't", 'dont'] }]);
    expect(parsePattern('ＫＩＬＬ')[0]).toEqual([{ kind: 'word', words: ['kill'] }]);
  });

  it.each([
    ['fu*', /too short/],
    ['{a|b', /unbalanced/],
    ['a}', /unbalanced/],
    ['kill ..2', /gap/],
    ['_', /any words/],
    ['x{a|b}', /braces/],
    ['{a}', /two alternatives/],
    ['..9 die', /\.\.1 to \.\.5/],
    ['!!!', /no letters/],
  ])('rejects %s', (pattern, message) => {
    expect(() => parsePattern(pattern)).toThrow(PatternError);
    expect(() => parsePattern(pattern)).toThrow(message);
  });
});

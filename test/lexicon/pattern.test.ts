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

  it('lists a sentence end as the last step of its phrases', () => {
    expect(parsePattern("{can't|cannot} go on <end>")[0]).toEqual([
      { kind: 'word', words: ["can't", 'cant'] },
      { kind: 'word', words: ['go'] },
      { kind: 'word', words: ['on'] },
      { kind: 'word', words: ['<end>'] },
    ]);
  });

  it.each([
    ['fu*', /too short/],
    ['<end> go on', /before its last word/],
    ['{go on <end>|give up}', /before its last word/],
    ['go on ..2 <end>', /ends with a gap/],
    ['<end>', /any words/],
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

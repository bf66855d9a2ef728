/**
 * Review: pathological input. Timings are in the review report, not asserted here; these tests
 * check the structural causes instead.
 */
import { describe, expect, it, vi } from 'vitest';
import { stem } from '../../src/lexicon/stem.js';
import { spellingVariants, tokenise } from '../../src/scan/tokenise.js';
import { hitsIn } from '../helpers/lexicon.js';
import { lexiconOf, rule } from './support.js';

vi.mock('../../src/lexicon/stem.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/lexicon/stem.js')>();
  return { stem: vi.fn((word: string) => real.stem(word)) };
});

describe('review: robustness', () => {
  const lexicon = lexiconOf(rule('r.stem', '    terms: ["~kill"]'));

  it('elongated words still reach a stem through their squeezed variants', () => {
    expect(hitsIn(lexicon, 'killllllllllllllllllling').map((h) => h.rule.id)).toEqual(['r.stem']);
  });

  // Regression (matcher.ts:337-338 + natural's Porter stemmer): the matcher stems the whole token, of any
  // length, whenever its first two letters match a stem key. Porter is quadratic on consonant runs:
  // "ki" + "l"×40 000 takes 4.5 s, and 20 tokens "co"+"w"×10 000 (200 KB, bullying's ~cow) 5.5 s,
  // so a 2 MB body (the default maxTextChars) can pin a scan worker for minutes to hours. The stem
  // cache also keeps every such word (up to 100 000 of them) alive across messages.
  it('never stems a token longer than 64 characters', () => {
    vi.mocked(stem).mockClear();
    hitsIn(lexicon, 'ki' + 'l'.repeat(500));
    const longest = Math.max(0, ...vi.mocked(stem).mock.calls.map(([word]) => word.length));
    expect(longest).toBeLessThanOrEqual(64);
  });

  // Regression (was latent; tokenise.ts:38 squeeze): `/(.)\1{2,}/gu` backtracks once per repeated character and
  // throws RangeError (Maximum call stack size exceeded) at about 4 M identical letters. The default
  // maxTextChars (2 M) keeps it out of reach today; raising the limit makes such a message unscannable.
  it('squeezes a 4.2 M-letter run without throwing', () => {
    expect(() => spellingVariants('a'.repeat(4_200_000))).not.toThrow();
  });

  it('handles a long run of single letters as one spelled-out token', () => {
    const tokens = tokenise('x '.repeat(50_000).trim());
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.norm).toHaveLength(50_000);
  });
});

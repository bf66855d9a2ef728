/**
 * Review of the per-phrase hit recording and lazy group assembly in src/lexicon/engine.ts, and of
 * spelled-out words reaching self-harm phrases through the shipped lexicons.
 */
import { describe, expect, it } from 'vitest';
import { compileLexicons } from '../../src/lexicon/compile.js';
import { evaluateRules, traceRules } from '../../src/lexicon/engine.js';
import { analyseField } from '../../src/scan/analyse.js';
import { hitsIn } from '../helpers/lexicon.js';
import { lexiconOf, rule } from './support.js';

describe('engine: one phrase in several groups', () => {
  const lexicon = lexiconOf(
    rule('g.anchor', '    terms: ["kill myself"]') +
      rule('g.requires', `    terms: ["tonight"]
    requires:
      - terms: ["kill myself", "end it"]
        within: 3`) +
      rule('g.except', `    terms: ["~kill"]
    except:
      - terms: ["kill myself"]
        within: 0`) +
      rule('g.context', `    terms: ["tomorrow"]
    context:
      - terms: ["kill myself"]
        within: 5
        score: 0.3
        severity: urgent`, '    weight: 0.5\n') +
      rule('g.sentence', `    terms: ["pills"]
    requires:
      - terms: ["kill myself"]
        within: 10
        sentence: true`),
  );
  const ids = (text: string) => hitsIn(lexicon, text).map((h) => h.rule.id).sort();

  it('a phrase hit serves as anchor, requirement, exception and context at once', () => {
    expect(ids('i will kill myself tonight')).toEqual(['g.anchor', 'g.requires']);
    expect(ids('kill them tonight')).toEqual(['g.except']);
    const t = hitsIn(lexicon, 'tomorrow i kill myself').find((h) => h.rule.id === 'g.context');
    expect(t).toMatchObject({ score: 0.8, severity: 'urgent' });
  });

  it('sentence: true keeps the requirement inside the anchor sentence', () => {
    expect(ids('i took the pills to kill myself')).toContain('g.sentence');
    expect(ids('i took the pills. i will kill myself')).not.toContain('g.sentence');
  });

  it('groups of rules whose anchor was not hit are not traced', () => {
    const traces = traceRules(lexicon, [analyseField({ field: 'body', text: 'i kill myself', quoted: [] })]);
    expect(new Set(traces.map((t) => t.rule.id))).toEqual(new Set(['g.anchor', 'g.except']));
  });

  it('hits in several fields are kept per field', () => {
    const hits = evaluateRules(lexicon, [
      analyseField({ field: 'subject', text: 'kill myself', quoted: [] }),
      analyseField({ field: 'body', text: 'no. kill myself', quoted: [] }),
    ]).filter((h) => h.rule.id === 'g.anchor');
    expect(hits.map((h) => [h.span.field, h.span.first, h.span.last])).toEqual([
      [0, 0, 1],
      [1, 1, 2],
    ]);
  });
});

describe('engine: known bugs', () => {
  // BUG (engine.ts:130 with :26-34): a group's hits are pruned to the outermost BEFORE rules are
  // checked. When an anchor group holds nested phrases, the inner hit is dropped, and a `side:`
  // requirement that lies inside the outer phrase no longer counts (overlapping, not reaching
  // beyond the anchor on that side -> Infinity). Adding a longer phrase to a rule's terms thus
  // makes the rule miss text it matched before ("i will die tonight" hits, "i want to die tonight" does not).
  // Fix: check every anchor hit (no outermost() for the anchor group), then drop a rule hit only when
  // it lies inside another *kept* hit of the same rule; or in gap(), count a span contained in the
  // anchor as 0 for any side.
  const lexicon = lexiconOf(
    rule('b.nested', `    terms: ["die", "want to die tonight"]
    requires:
      - terms: ["tonight", "today"]
        within: 0
        side: after`),
  );
  it('the shorter phrase alone hits', () => {
    expect(hitsIn(lexicon, 'i will die tonight').map((h) => h.rule.id)).toEqual(['b.nested']);
  });
  it('a longer phrase of the same group does not hide the shorter hit', () => {
    expect(hitsIn(lexicon, 'i want to die tonight').map((h) => h.rule.id)).toEqual(['b.nested']);
  });
});

describe('shipped lexicons: spelled-out words', () => {
  const lexicon = compileLexicons(['lexicons']);
  const ids = (text: string) => evaluateRules(lexicon, [analyseField({ field: 'body', text, quoted: [] })]).map((h) => h.rule.id);

  it('spelled-out words with no letter-word at their edges still hit', () => {
    expect(ids('i will k i l l myself')).toContain('self_harm.intent');
    expect(ids("i'm anorexic")).toContain('self_harm.eating');
    expect(ids('i want to unalive myself')).toContain('self_harm.intent');
  });

  // BUG (src/scan/tokenise.ts:341-347, joinSpelledOutWords): a spaced run is peeled of single-letter
  // words (a, i, u, r) at its ends, the full join kept only as a variant of the rest. When the real
  // word starts with one of those letters, the peeled letter stays as its own token in front:
  //   "i'm a n o r e x i c"      -> i'm | a | norexic(+anorexic): "{i'm|...} {anorexic|bulimic}" misses;
  //   "going to u n a l i v e myself" -> ... | u | nalive(+unalive) | myself: "unalive myself" matches,
  //   but the stray "u" is read as "you" by the rule's exception (`{...|you|u|...}` before), so the
  //   urgent intent is cancelled. Both are missed self-harm disclosures.
  // Fix: let the full join span the peeled tokens. E.g. give the joined token `lead` (peeled letters
  // before it) and, in PhraseMatcher.match, when token i has lead k, also advance the runs that were
  // alive before token i-k (and a fresh start run with first = i-k) on the full spelling, hits
  // reported from i-k. Or, simpler, in tokenise also emit the full join as the token and keep the
  // peeled split only as a second token stream used when the full join matches nothing.
  it("i'm a n o r e x i c flags like i'm anorexic", () => {
    expect(ids("i'm a n o r e x i c")).toContain('self_harm.eating');
  });
  it('going to u n a l i v e myself flags like going to unalive myself', () => {
    expect(ids("i'm going to unalive myself")).toContain('self_harm.intent');
    expect(ids("i'm going to u n a l i v e myself")).toContain('self_harm.intent');
  });
});

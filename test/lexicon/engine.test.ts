import { describe, expect, it } from 'vitest';
import { evaluateRules } from '../../src/lexicon/engine.js';
import { analyseField } from '../../src/scan/analyse.js';
import { compileYaml, hitsIn, lexiconFile, testRule as rule } from '../helpers/lexicon.js';


describe('lexicon engine', () => {
  const lexicon = compileYaml({
    'test.yaml': lexiconFile(
      rule('t.phrase', '    terms: ["want to die", "{kill|hurt} myself"]') +
        rule('t.stem', '    terms: ["~bully"]') +
        rule('t.prefix', '    terms: ["idiot*"]') +
        rule(
          't.near',
          `    terms: ["ugly"]
    requires:
      - terms: ["{you|ur}"]
        within: 2
        side: before`,
        ) +
        rule(
          't.except',
          `    terms: ["die"]
    except:
      - terms: ["dying to", "die laughing"]
        within: 0`,
        ) +
        rule(
          't.context',
          `    terms: ["knife"]
    context:
      - terms: ["tomorrow"]
        within: 5
        score: 0.5
        severity: urgent
      - terms: ["lesson"]
        within: 5
        score: -0.7`,
        ).replace('severity: moderate\n    terms: ["knife"]', 'severity: moderate\n    weight: 0.4\n    terms: ["knife"]'),
    ),
  });
  const ids = (text: string) => [...new Set(hitsIn(lexicon, text).map((h) => h.rule.id))].sort();

  it('matches phrases with alternatives across obfuscated spellings', () => {
    expect(ids('i just W4NT to d1e')).toContain('t.phrase');
    expect(ids('gonna k i l l myself')).toContain('t.phrase');
    expect(ids('I want to go to the shop. To die for.')).not.toContain('t.phrase');
  });

  it('does not run phrases across sentences', () => {
    expect(ids('I want to. Die Hard is a film')).not.toContain('t.phrase');
  });

  it('matches stems and prefixes but not words that merely contain them', () => {
    expect(ids('they keep bullying him')).toContain('t.stem');
    expect(ids('he was bullied')).toContain('t.stem');
    expect(ids('you idiots')).toContain('t.prefix');
    expect(ids('the bull ran')).not.toContain('t.stem');
  });

  it('requires context on the given side within the given distance', () => {
    expect(ids('you are so ugly')).toContain('t.near');
    expect(ids('ugly, you are')).not.toContain('t.near');
    expect(ids('you said the weather was really very ugly')).not.toContain('t.near');
  });

  it('drops hits that overlap an exception', () => {
    expect(ids('i want to die')).toEqual(expect.arrayContaining(['t.except', 't.phrase']));
    expect(ids("i'm dying to see it")).not.toContain('t.except');
    expect(ids('i could die laughing')).not.toContain('t.except');
  });

  it('applies context score and severity changes', () => {
    const [plain] = hitsIn(lexicon, 'there is a knife');
    expect(plain?.score).toBeCloseTo(0.4);
    expect(plain?.severity).toBe('moderate');
    const [raised] = hitsIn(lexicon, 'knife tomorrow');
    expect(raised?.score).toBeCloseTo(0.9);
    expect(raised?.severity).toBe('urgent');
    expect(hitsIn(lexicon, 'the knife skills lesson')).toEqual([]);
  });

  it('widens the span to the required context', () => {
    const text = 'you are so ugly';
    const hit = hitsIn(lexicon, text).find((h) => h.rule.id === 't.near')!;
    expect(hit.span.first).toBe(0);
    expect(hit.span.last).toBe(3);
  });

  it('keeps only the outermost of overlapping hits of one rule', () => {
    const hits = hitsIn(lexicon, 'i want to die').filter((h) => h.rule.id === 't.phrase');
    expect(hits).toHaveLength(1);
  });
});

describe('field restrictions', () => {
  const lexicon = compileYaml({
    'f.yaml': lexiconFile(
      rule('f.subject', '    fields: [subject]\n    terms: ["urgent"]'),
    ),
  });
  it('only reads the named fields', () => {
    expect(hitsIn(lexicon, 'urgent', 'subject')).toHaveLength(1);
    expect(hitsIn(lexicon, 'urgent', 'body')).toHaveLength(0);
  });
});

describe('distinct rules', () => {
  it('count a repeated phrase once but different phrases separately', async () => {
    const { scoreHits } = await import('../../src/scan/detectors/lexicon.js');
    const { analyseField } = await import('../../src/scan/analyse.js');
    const { evaluateRules } = await import('../../src/lexicon/engine.js');
    const weak = (id: string, distinct: boolean) =>
      rule(id, `    weight: 0.3\n    distinct: ${distinct}\n    terms: ["love you", "miss you"]`).replace('severity: moderate', 'severity: minor');
    const lexicon = compileYaml({ 'w.yaml': lexiconFile(weak('w.distinct', true)) });
    const plainLexicon = compileYaml({ 'w.yaml': lexiconFile(weak('w.plain', false)) });
    const scored = (lex: typeof lexicon, text: string) => {
      const field = analyseField({ field: 'body', text, quoted: [] });
      const message = { fields: [field], to: [], cc: [], bcc: [], direction: 'inbound' } as never;
      return scoreHits(lex, evaluateRules(lex, [field]), message, { excerptContext: 20 }).categories[0]!;
    };
    expect(scored(lexicon, 'love you. love you. love you. love you.').reported).toBe(false);
    expect(scored(lexicon, 'love you. miss you.').reported).toBe(true);
    expect(scored(plainLexicon, 'love you. love you. love you. love you.').reported).toBe(true);
  });
});

describe('category scores', () => {
  it('count the same words once when several rules of a category read them, and different words separately', async () => {
    const { scoreHits } = await import('../../src/scan/detectors/lexicon.js');
    const { analyseField } = await import('../../src/scan/analyse.js');
    const { evaluateRules } = await import('../../src/lexicon/engine.js');
    const weak = (id: string, terms: string) => rule(id, `    weight: 0.3\n    terms: ${terms}`).replace('severity: moderate', 'severity: minor');
    const lexicon = compileYaml({
      'w.yaml': lexiconFile(weak('w.wish', '["hope someone hurts you"]') + weak('w.incite', '["someone hurts you", "go and hurt"]')),
    });
    const scored = (text: string) => {
      const field = analyseField({ field: 'body', text, quoted: [] });
      const message = { fields: [field], to: [], cc: [], bcc: [], direction: 'inbound' } as never;
      return scoreHits(lexicon, evaluateRules(lexicon, [field]), message, { excerptContext: 20 });
    };
    const overlapping = scored('I hope someone hurts you');
    expect(overlapping.categories[0]!.score).toBeCloseTo(0.3);
    expect(overlapping.categories[0]!.reported).toBe(false);
    expect(overlapping.unreported.map((f) => f.rule).sort()).toEqual(['w.incite', 'w.wish']);
    const separate = scored('I hope someone hurts you. Go and hurt him.');
    expect(separate.categories[0]!.score).toBeCloseTo(0.51);
    expect(separate.findings.map((f) => f.rule).sort()).toEqual(['w.incite', 'w.wish']);
  });
});

describe('sentence: true', () => {
  it('keeps requirements, exceptions and context inside the match sentence', () => {
    const lexicon = compileYaml({
      's.yaml': lexiconFile(
        rule(
          's.req',
          `    terms: ["die"]
    requires:
      - terms: ["hope you"]
        within: 6
        sentence: true`,
        ),
      ),
    });
    expect(hitsIn(lexicon, 'i hope you die')).toHaveLength(1);
    expect(hitsIn(lexicon, 'i hope you are well. die hard is on tonight')).toHaveLength(0);
  });
});

describe('context across paragraphs', () => {
  it('applies a lowering context only within the match paragraph; raising context, requirements and exceptions reach across', () => {
    const lexicon = compileYaml({
      'p.yaml': lexiconFile(
        rule(
          'p.ctx',
          `    terms: ["want to die"]
    requires:
      - terms: ["i"]
        within: 12
        side: before
    except:
      - terms: ["jk"]
        within: 8
        side: after
    context:
      - terms: ["lesson", "juliet"]
        within: 12
        score: -0.7
      - terms: ["tonight"]
        within: 12
        severity: urgent
      - terms: ["drama"]
        within: 12
        severity: minor`,
        ),
      ),
    });
    const score = (text: string) => hitsIn(lexicon, text).map((h) => h.score);
    const severity = (text: string) => hitsIn(lexicon, text).map((h) => h.severity);
    expect(score('In the lesson Juliet says I want to die')).toEqual([expect.closeTo(0.3, 5)]);
    expect(score('Our English lesson was fine.\n\nI want to die')).toEqual([1]);
    expect(score('I\n\nwant to die')).toEqual([1]);
    expect(score('I want to die\n\njk')).toEqual([]);
    // A severity lowered below the rule's own counts as lowering; a raised one reaches across.
    expect(severity('Drama was fun.\n\nI want to die')).toEqual(['moderate']);
    expect(severity('Drama was fun. I want to die')).toEqual(['minor']);
    expect(severity('I want to die\n\ntonight')).toEqual(['urgent']);
  });
});

describe('<end>', () => {
  const lexicon = compileYaml({
    'e.yaml': lexiconFile(rule('e.end', '    terms: ["{i can\'t|cannot} go on <end>", "keep them out <end>"]')),
  });
  const count = (text: string, quoted: Array<{ start: number; end: number }> = []) =>
    evaluateRules(lexicon, [analyseField({ field: 'body', text, quoted })]).length;

  it('matches a phrase only where its sentence ends', () => {
    expect(count("I can't go on.")).toBe(1);
    expect(count("honestly i can't go on like this")).toBe(0);
    expect(count("I can't go on the trip on Friday.")).toBe(0);
    expect(count("i can't go on!! nobody listens")).toBe(1);
    expect(count('They said keep them out. We disagree.')).toBe(1);
    expect(count('Keep them out of the rain.')).toBe(0);
  });

  it('counts the end of the text and the start of quoted history as sentence ends', () => {
    expect(count("i can't go on")).toBe(1);
    const text = "i can't go on\n> shall we go on the trip";
    expect(count(text, [{ start: text.indexOf('>'), end: text.length }])).toBe(1);
  });

  it('checks a run-together spelling the same way', () => {
    expect(count('keepthemout')).toBe(1);
    expect(count('keepthemout of my room')).toBe(0);
  });
});

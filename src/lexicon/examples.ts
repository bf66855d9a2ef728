/**
 * Runs each rule's own mustMatch / mustNotMatch examples. The test suite and
 * `kestrel lexicon check` both use this, so a safeguarding lead can check an edit without vitest.
 */
import { analyseField } from '../scan/analyse.js';
import type { CompiledLexicon, CompiledRule } from './compile.js';
import { evaluateRules } from './engine.js';

export interface ExampleFailure {
  rule: string;
  origin: string;
  example: string;
  expected: 'match' | 'no match';
}

/** The best score `rule` reaches on `text`, placed in the first field the rule reads (the body unless it says otherwise); 0 when it does not hit. */
function ruleScore(lexicon: CompiledLexicon, rule: CompiledRule, text: string): number {
  const field = rule.fields ? [...rule.fields][0]! : 'body';
  const analysed = analyseField({ field, text, quoted: [] });
  return Math.max(0, ...evaluateRules(lexicon, [analysed]).filter((hit) => hit.rule === rule).map((hit) => hit.score));
}

/** Does `rule` hit `text` at all? (mustMatch) */
export function ruleMatches(lexicon: CompiledLexicon, rule: CompiledRule, text: string): boolean {
  return ruleScore(lexicon, rule, text) > 0;
}

/**
 * Would `rule` flag `text` on its own? (mustNotMatch) A rule strong enough to flag alone may hit
 * when context brings it below the category threshold (a lesson, counter-speech); a weaker rule,
 * which only flags with company, must not hit at all.
 */
export function ruleFlags(lexicon: CompiledLexicon, rule: CompiledRule, text: string): boolean {
  const score = ruleScore(lexicon, rule, text);
  const threshold = lexicon.thresholds.get(rule.category) ?? 0.5;
  return score > 0 && (score >= threshold || rule.weight < threshold);
}

export function checkExamples(lexicon: CompiledLexicon): ExampleFailure[] {
  const failures: ExampleFailure[] = [];
  for (const rule of lexicon.rules) {
    for (const example of rule.mustMatch) {
      if (!ruleMatches(lexicon, rule, example)) failures.push({ rule: rule.id, origin: rule.origin, example, expected: 'match' });
    }
    for (const example of rule.mustNotMatch) {
      if (ruleFlags(lexicon, rule, example)) failures.push({ rule: rule.id, origin: rule.origin, example, expected: 'no match' });
    }
  }
  return failures;
}

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

/** Does `rule` hit `text`, placed in the first field the rule reads (the body unless it says otherwise)? */
export function ruleMatches(lexicon: CompiledLexicon, rule: CompiledRule, text: string): boolean {
  const field = rule.fields ? [...rule.fields][0]! : 'body';
  const analysed = analyseField({ field, text, quoted: [] });
  return evaluateRules(lexicon, [analysed]).some((hit) => hit.rule === rule);
}

export function checkExamples(lexicon: CompiledLexicon): ExampleFailure[] {
  const failures: ExampleFailure[] = [];
  for (const rule of lexicon.rules) {
    for (const example of rule.mustMatch) {
      if (!ruleMatches(lexicon, rule, example)) failures.push({ rule: rule.id, origin: rule.origin, example, expected: 'match' });
    }
    for (const example of rule.mustNotMatch) {
      if (ruleMatches(lexicon, rule, example)) failures.push({ rule: rule.id, origin: rule.origin, example, expected: 'no match' });
    }
  }
  return failures;
}

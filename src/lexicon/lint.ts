/**
 * Warnings for lexicon authors (`kestrel lexicon check`): rules of one category that share a
 * phrase (where both hit, the words count once, so one of them may be redundant), a phrase whose
 * run-together spelling is another rule's word, and a rule's mustNotMatch example that another
 * rule of the same category flags anyway (the category still reports it).
 */
import { analyseField } from '../scan/analyse.js';
import type { CompiledLexicon, CompiledRule } from './compile.js';
import { evaluateRules, scoreCategories, scoreRules } from './engine.js';
import { gluedSpellings } from './glued.js';
import { parsePattern, parsePatternTree } from './pattern.js';

export interface LintWarning {
  origin: string;
  rule: string;
  message: string;
}

function phraseText(key: string): string {
  const specs = JSON.parse(key) as Array<{ kind: string; words?: string[]; prefix?: string; stem?: string }>;
  return specs.map((s) => (s.kind === 'word' ? s.words![0] : s.kind === 'prefix' ? `${s.prefix}*` : s.kind === 'stem' ? `~${s.stem}` : '_')).join(' ');
}

export function findDuplicates(lexicon: CompiledLexicon): LintWarning[] {
  const warnings: LintWarning[] = [];
  const owners = new Map<string, CompiledRule>();
  for (const rule of lexicon.rules) {
    const reported = new Set<CompiledRule>();
    const seenInRule = new Map<string, string>();
    const reportedPairs = new Set<string>();
    for (const term of rule.terms) {
      let sequences;
      try {
        sequences = parsePattern(term, lexicon.sets);
      } catch {
        continue; // too many phrases to list: matching does not need them listed
      }
      for (const sequence of sequences) {
        const key = JSON.stringify(sequence);
        const sameRuleTerm = seenInRule.get(key);
        const pair = `${sameRuleTerm}\u0000${term}`;
        if (sameRuleTerm !== undefined && sameRuleTerm !== term && !reportedPairs.has(pair)) {
          reportedPairs.add(pair);
          warnings.push({ origin: rule.origin, rule: rule.id, message: `terms ${JSON.stringify(sameRuleTerm)} and ${JSON.stringify(term)} both match "${phraseText(key)}"` });
        }
        seenInRule.set(key, term);
        const owner = owners.get(key);
        if (owner && owner !== rule && owner.category === rule.category && !reported.has(owner)) {
          reported.add(owner);
          warnings.push({
            origin: rule.origin,
            rule: rule.id,
            message: `"${phraseText(key)}" is also a term of ${owner.id} (${owner.origin}): where both hit, the words count once towards ${rule.category}`,
          });
        }
        if (!owner) owners.set(key, rule);
      }
    }
  }
  return warnings;
}

/**
 * A phrase run together ("ass hole" -> "asshole", see glued.ts) that is a one-word term of another
 * rule of the category: both rules read that word, usually not what the author of either meant.
 */
export function findGluedCollisions(lexicon: CompiledLexicon): LintWarning[] {
  const terms = lexicon.rules.flatMap((rule) =>
    rule.terms.map((term) => {
      try {
        return { rule, term, sequences: parsePattern(term, lexicon.sets), glued: gluedSpellings(parsePatternTree(term, lexicon.sets)) };
      } catch {
        return { rule, term, sequences: [], glued: [] }; // too many phrases to list; matching does not need them listed
      }
    }),
  );
  const singleWords = new Map<string, Set<CompiledRule>>();
  for (const { rule, sequences } of terms) {
    for (const [spec] of sequences.filter((sequence) => sequence.length === 1)) {
      if (spec?.kind !== 'word') continue;
      for (const word of spec.words) {
        let owners = singleWords.get(word);
        if (!owners) singleWords.set(word, (owners = new Set()));
        owners.add(rule);
      }
    }
  }
  const warnings: LintWarning[] = [];
  for (const { rule, term, glued } of terms) {
    for (const spelling of glued) {
      const owners = singleWords.get(spelling);
      // The rule lists the joined word itself: the plain duplicate warning already covers the pair.
      if (!owners || owners.has(rule)) continue;
      for (const other of owners) {
        if (other.category !== rule.category) continue;
        warnings.push({
          origin: rule.origin,
          rule: rule.id,
          message: `${JSON.stringify(term.length > 60 ? `${term.slice(0, 59)}…` : term)} run together is "${spelling}", a term of ${other.id} (${other.origin}): both rules read that word`,
        });
      }
    }
  }
  return warnings;
}

export function findConflicts(lexicon: CompiledLexicon): LintWarning[] {
  const warnings: LintWarning[] = [];
  for (const rule of lexicon.rules) {
    for (const example of rule.mustNotMatch) {
      // The rule's own hit is its example failing (kestrel lexicon test); a conflict is the rest of
      // the category reporting the example, and weak rules hit without reporting anything.
      const field = analyseField({ field: 'body', text: example, quoted: [] });
      const hits = evaluateRules(lexicon, [field]).filter((h) => h.rule.category === rule.category && h.rule !== rule);
      const others = scoreRules(hits, [field]);
      const categoryScore = scoreCategories(others).get(rule.category) ?? 0;
      if (categoryScore < (lexicon.thresholds.get(rule.category) ?? 0.5)) continue;
      for (const { rule: other } of others) {
        warnings.push({
          origin: rule.origin,
          rule: rule.id,
          message: `mustNotMatch ${JSON.stringify(example)} is flagged by ${other.id} (${other.origin}), so ${rule.category} still reports it`,
        });
      }
    }
  }
  return warnings;
}

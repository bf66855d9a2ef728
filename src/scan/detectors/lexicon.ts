/**
 * The lexicon detector: rule hits become findings, grouped per rule, and a category is reported
 * only when its combined score reaches the category's threshold (weak signals need company).
 */
import type { CompiledLexicon, CompiledRule } from '../../lexicon/compile.js';
import { combineScores, evaluateRules, type RuleHit } from '../../lexicon/engine.js';
import { makeEvidence } from '../evidence.js';
import type { RuleCondition } from '../../lexicon/schema.js';
import { highestSeverity, type AnalysedMessage, type Detector, type DetectorContext, type Finding } from '../types.js';

/** Does the message fit a rule's `when`: sender role, some recipient's role, direction? */
export function fitsCondition(when: RuleCondition | undefined, message: AnalysedMessage): boolean {
  if (!when) return true;
  if (when.from && !(message.from && when.from.includes(message.from.role))) return false;
  if (when.to && ![...message.to, ...message.cc, ...message.bcc].some((p) => when.to!.includes(p.role))) return false;
  if (when.direction && !when.direction.includes(message.direction)) return false;
  return true;
}

/** Enough evidence to judge a finding; more would only keep more of the message. */
const MAX_EVIDENCE_PER_FINDING = 5;

/** The matched words of a hit, as normalised tokens: what makes two hits the same signal. */
function matchedWords(hit: RuleHit, message: AnalysedMessage): string {
  const tokens = message.fields[hit.span.field]!.tokens;
  return tokens.slice(hit.span.first, hit.span.last + 1).map((t) => t.norm).join(' ');
}

/** The rule's score: hits combined as independent evidence, or for `distinct` rules the best hit of each different phrase. */
function ruleScore(rule: CompiledRule, hits: RuleHit[], message: AnalysedMessage): number {
  if (!rule.distinct) return combineScores(hits.map((h) => h.score));
  const best = new Map<string, number>();
  for (const hit of hits) {
    const words = matchedWords(hit, message);
    best.set(words, Math.max(best.get(words) ?? 0, hit.score));
  }
  return combineScores(best.values());
}

function findingFor(rule: CompiledRule, hits: RuleHit[], message: AnalysedMessage, context: DetectorContext): Finding {
  const strongest = [...hits].sort((a, b) => b.score - a.score).slice(0, MAX_EVIDENCE_PER_FINDING);
  strongest.sort((a, b) => a.span.field - b.span.field || a.span.first - b.span.first);
  return {
    rule: rule.id,
    description: rule.description,
    category: rule.category,
    severity: highestSeverity(hits.map((h) => h.severity))!,
    score: Number(ruleScore(rule, hits, message).toFixed(3)),
    policy: rule.policy,
    evidence: strongest.map(({ span }) => {
      const field = message.fields[span.field]!;
      return makeEvidence(field, field.tokens[span.first]!.start, field.tokens[span.last]!.end, context.excerptContext);
    }),
  };
}

export interface CategoryScore {
  category: string;
  score: number;
  threshold: number;
  reported: boolean;
}

/** Findings per rule from hits that fit their rule's `when`, and each category's score against its threshold. */
export function scoreHits(
  lexicon: CompiledLexicon,
  hits: readonly RuleHit[],
  message: AnalysedMessage,
  context: DetectorContext,
): { findings: Finding[]; categories: CategoryScore[] } {
  const byRule = new Map<CompiledRule, RuleHit[]>();
  for (const hit of hits) {
    if (!fitsCondition(hit.rule.when, message)) continue;
    const list = byRule.get(hit.rule) ?? [];
    list.push(hit);
    byRule.set(hit.rule, list);
  }
  const findings = [...byRule].map(([rule, ruleHits]) => findingFor(rule, ruleHits, message, context));
  const scores = new Map<string, number[]>();
  for (const finding of findings) scores.set(finding.category, [...(scores.get(finding.category) ?? []), finding.score]);
  const categories = [...scores].map(([category, list]) => {
    const score = combineScores(list);
    const threshold = lexicon.thresholds.get(category) ?? 0.5;
    return { category, score, threshold, reported: score >= threshold };
  });
  const reported = new Set(categories.filter((c) => c.reported).map((c) => c.category));
  return { findings: findings.filter((f) => reported.has(f.category)), categories };
}

export function createLexiconDetector(lexicon: CompiledLexicon): Detector {
  return {
    id: 'lexicon',
    detect(message, context) {
      return scoreHits(lexicon, evaluateRules(lexicon, message.fields), message, context).findings;
    },
  };
}

/**
 * The lexicon detector: rule hits become findings, grouped per rule, and a category is reported
 * only when its combined score reaches the category's threshold (weak signals need company).
 */
import { domainOf, isUnderDomain } from '../../directory/domains.js';
import type { CompiledLexicon } from '../../lexicon/compile.js';
import { evaluateRules, scoreCategories, scoreRules, type RuleHit, type RuleScore } from '../../lexicon/engine.js';
import { makeEvidence } from '../evidence.js';
import type { RuleCondition } from '../../lexicon/schema.js';
import { highestSeverity, type AnalysedMessage, type Detector, type DetectorContext, type Finding } from '../types.js';

/** Does the message fit a rule's `when`: sender role, some recipient's role, direction? */
export function fitsCondition(when: RuleCondition | undefined, message: AnalysedMessage): boolean {
  if (!when) return true;
  if (when.from && !(message.from && when.from.includes(message.from.role))) return false;
  if (when.to && ![...message.to, ...message.cc, ...message.bcc].some((p) => when.to!.includes(p.role))) return false;
  if (when.direction && !when.direction.includes(message.direction)) return false;
  if (when.fromDomain && !(message.from && when.fromDomain.some((d) => isUnderDomain(domainOf(message.from!.address), d)))) return false;
  if (when.fromPersonalDomain !== undefined && (message.from?.personalDomain ?? false) !== when.fromPersonalDomain) return false;
  return true;
}

/** Enough evidence to judge a finding; more would only keep more of the message. */
const MAX_EVIDENCE_PER_FINDING = 5;

function findingFor({ rule, hits, score }: RuleScore, message: AnalysedMessage, context: DetectorContext): Finding {
  const strongest = [...hits].sort((a, b) => b.score - a.score).slice(0, MAX_EVIDENCE_PER_FINDING);
  strongest.sort((a, b) => a.span.field - b.span.field || a.span.first - b.span.first);
  return {
    rule: rule.id,
    description: rule.description,
    category: rule.category,
    severity: highestSeverity(hits.map((h) => h.severity))!,
    score,
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

/**
 * Findings per rule from hits that fit their rule's `when`, and each category's score against its
 * threshold. `signals` are weak findings from message structure (a stacked `Fwd:` chain, fan-out)
 * that count towards their category's score like a lexicon rule does, and are reported with it.
 */
export function scoreHits(
  lexicon: CompiledLexicon,
  hits: readonly RuleHit[],
  message: AnalysedMessage,
  context: DetectorContext,
  signals: readonly Finding[] = [],
): { findings: Finding[]; categories: CategoryScore[]; unreported: Finding[] } {
  const rules = scoreRules(
    hits.filter((hit) => fitsCondition(hit.rule.when, message)),
    message.fields,
  );
  const findings = [...rules.map((rule) => findingFor(rule, message, context)), ...signals];
  const categories = [...scoreCategories(rules, signals)].map(([category, score]) => {
    const threshold = lexicon.thresholds.get(category) ?? 0.5;
    return { category, score, threshold, reported: score >= threshold };
  });
  const reported = new Set(categories.filter((c) => c.reported).map((c) => c.category));
  return {
    findings: findings.filter((f) => reported.has(f.category)),
    categories,
    unreported: findings.filter((f) => !reported.has(f.category)),
  };
}

export interface LexiconDetector extends Detector {
  /** The reported findings and the rest: findings of categories below their threshold. */
  evaluate(message: AnalysedMessage, context: DetectorContext): { reported: Finding[]; unreported: Finding[] };
}

/**
 * The lexicon detector. `signalDetectors` supply structural signals that join the lexicon's
 * category scores (see scoreHits); they never report on their own below their category's threshold.
 */
export function createLexiconDetector(lexicon: CompiledLexicon, signalDetectors: readonly Detector[] = []): LexiconDetector {
  const evaluate: LexiconDetector['evaluate'] = (message, context) => {
    const signals = signalDetectors.flatMap((d) => d.detect(message, context));
    const { findings, unreported } = scoreHits(lexicon, evaluateRules(lexicon, message.fields), message, context, signals);
    return { reported: findings, unreported };
  };
  return { id: 'lexicon', evaluate, detect: (message, context) => evaluate(message, context).reported };
}

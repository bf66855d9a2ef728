/**
 * The personal-data detector: runs every recognizer over every field, settles values that two
 * recognizers both claim, masks what it reports, and sets severity from where the message goes.
 * Message-level checks (bulk records, exposed recipients, typo domains, names in the subject) add
 * their own findings.
 */
import { isRuleDisabled, type KestrelConfig } from '../../../config/schema.js';
import { makeEvidence } from '../../evidence.js';
import type { AnalysedMessage, Detector, DetectorContext, Evidence, Finding, Severity } from '../../types.js';
import { FieldView } from './field-view.js';
import type { Candidate, Recognizer, Sensitivity } from './recognizer.js';
import { RECOGNIZERS, MESSAGE_CHECKS } from './registry.js';
import { audienceOf, personalDataSeverity } from './severity.js';

/** A recognizer's accepted value in one field. */
export interface PersonalDataHit {
  recognizer: Recognizer;
  field: number;
  candidate: Candidate;
}

/** A span a message check masks in its own evidence, besides the recognizers' values. */
export interface MaskedSpan {
  start: number;
  end: number;
  /** Same-length replacement, as `Recognizer.mask`. */
  mask(value: string): string;
}

/** What message-level checks may read besides the message. */
export interface CheckContext {
  settings: KestrelConfig['personalData'];
  trustDomains: readonly string[];
  partnerDomains: ReadonlySet<string>;
  /** Consumer mail domains (gmail.com, ...), from the trust config. */
  personalDomains: ReadonlySet<string>;
  /** Every value the recognizers accepted, per field, for checks that count them (bulk records). */
  hits: readonly PersonalDataHit[];
  views: readonly FieldView[];
  /** Evidence with the recognizers' values masked, and `alsoMask`: values the check found itself. */
  evidence(field: number, start: number, end: number, alsoMask?: readonly MaskedSpan[]): Evidence;
  /** Severity for data of this sensitivity, given where this message goes. */
  severityFor(sensitivity: Sensitivity, options?: { bulk?: boolean }): Severity;
}

export interface MessageCheck {
  id: string;
  check(message: AnalysedMessage, context: CheckContext): Finding[];
}

const MAX_EVIDENCE_PER_FINDING = 5;


/**
 * Where two recognizers claim overlapping text, the higher score wins; on a tie, the earlier
 * recognizer. Values are swept in text order, so that only values in one cluster of overlapping
 * spans are compared: a CSV attachment yields thousands of values, nearly all clusters of one.
 */
function settleOverlaps(hits: PersonalDataHit[], order: ReadonlyMap<Recognizer, number>): PersonalDataHit[] {
  const byPosition = [...hits].sort((a, b) => a.field - b.field || a.candidate.start - b.candidate.start);
  const kept: PersonalDataHit[] = [];
  let cluster: PersonalDataHit[] = [];
  let clusterEnd = -1;
  const settle = () => {
    const ranked = [...cluster].sort((a, b) => b.candidate.score - a.candidate.score || order.get(a.recognizer)! - order.get(b.recognizer)!);
    const winners: PersonalDataHit[] = [];
    for (const hit of ranked) {
      if (!winners.some((w) => w.candidate.start < hit.candidate.end && hit.candidate.start < w.candidate.end)) winners.push(hit);
    }
    kept.push(...winners.sort((a, b) => a.candidate.start - b.candidate.start));
  };
  for (const hit of byPosition) {
    if (cluster.length > 0 && (hit.field !== cluster[0]!.field || hit.candidate.start >= clusterEnd)) {
      settle();
      cluster = [];
    }
    if (cluster.length === 0) clusterEnd = hit.candidate.end;
    cluster.push(hit);
    clusterEnd = Math.max(clusterEnd, hit.candidate.end);
  }
  if (cluster.length > 0) settle();
  return kept;
}

/** The text with each span replaced by its mask, in one pass: a check may mask thousands. */
export function maskSpans(text: string, spans: readonly MaskedSpan[]): string {
  let out = '';
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at) continue;
    out += text.slice(at, span.start) + span.mask(text.slice(span.start, span.end));
    at = span.end;
  }
  return out + text.slice(at);
}

export interface PersonalDataOptions {
  recognizers?: readonly Recognizer[];
  checks?: readonly MessageCheck[];
}

export function createPersonalDataDetector(config: KestrelConfig, options: PersonalDataOptions = {}): Detector {
  const recognizers = (options.recognizers ?? RECOGNIZERS).filter((r) => !isRuleDisabled(r.id, config.disableRules));
  const checks = (options.checks ?? MESSAGE_CHECKS).filter((c) => !isRuleDisabled(c.id, config.disableRules));
  const settings = config.personalData;
  const priority = new Map(recognizers.map((r, i) => [r, i]));
  const partnerDomains = new Set(config.trust.partnerDomains);
  const personalDomains = new Set(config.trust.personalDomains);
  return {
    id: 'personal_data',
    detect(message: AnalysedMessage, context: DetectorContext): Finding[] {
      const views = message.fields.map((field) => new FieldView(field));
      const found: PersonalDataHit[] = [];
      views.forEach((view, field) => {
        for (const recognizer of recognizers) {
          for (const candidate of recognizer.find(view)) found.push({ recognizer, field, candidate });
        }
      });
      const hits = settleOverlaps(found, priority);
      const masked = new Map<number, string>();
      const evidence = (field: number, start: number, end: number, alsoMask: readonly MaskedSpan[] = []): Evidence => {
        let text = masked.get(field);
        if (text === undefined) {
          const values = hits.filter((h) => h.field === field).map(({ recognizer, candidate }) => ({ start: candidate.start, end: candidate.end, mask: recognizer.mask }));
          text = maskSpans(message.fields[field]!.text, values);
          masked.set(field, text);
        }
        if (alsoMask.length > 0) text = maskSpans(text, alsoMask);
        const ev = makeEvidence({ ...message.fields[field]!, text }, start, end, context.excerptContext);
        return text === message.fields[field]!.text ? ev : { ...ev, masked: true };
      };
      const audience = audienceOf(message, partnerDomains);
      const severityFor = (sensitivity: Sensitivity, opts: { bulk?: boolean } = {}) =>
        personalDataSeverity(sensitivity, audience, settings.audienceSeverity, opts);

      const findings: Finding[] = [];
      for (const recognizer of recognizers) {
        const own = hits.filter((h) => h.recognizer === recognizer);
        if (own.length === 0) continue;
        const strongest = [...own].sort((a, b) => b.candidate.score - a.candidate.score);
        const shown = strongest.slice(0, MAX_EVIDENCE_PER_FINDING).sort((a, b) => a.field - b.field || a.candidate.start - b.candidate.start);
        findings.push({
          rule: recognizer.id,
          description: `${recognizer.description} (${strongest[0]!.candidate.reason}${own.length > 1 ? `; ${own.length} values` : ''})`,
          category: `personal_data.${recognizer.kind}`,
          severity: severityFor(recognizer.sensitivity),
          score: strongest[0]!.candidate.score,
          policy: recognizer.policy,
          evidence: shown.map((h) => evidence(h.field, h.candidate.start, h.candidate.end)),
        });
      }
      const checkContext: CheckContext = {
        settings,
        trustDomains: config.trust.domains,
        partnerDomains,
        personalDomains,
        hits,
        views,
        evidence,
        severityFor,
      };
      for (const check of checks) findings.push(...check.check(message, checkContext));
      return findings;
    },
  };
}

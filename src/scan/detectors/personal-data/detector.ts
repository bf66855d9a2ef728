/**
 * The personal-data detector: runs every recognizer over every field, settles values that two
 * recognizers both claim, masks what it reports, and sets severity from where the message goes.
 * Message-level checks (bulk records, exposed recipients, typo domains, names in the subject) add
 * their own findings.
 */
import type { KestrelConfig } from '../../../config/schema.js';
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
  evidence(field: number, start: number, end: number): Evidence;
  /** Severity for data of this sensitivity, given where this message goes. */
  severityFor(sensitivity: Sensitivity, options?: { bulk?: boolean }): Severity;
}

export interface MessageCheck {
  id: string;
  check(message: AnalysedMessage, context: CheckContext): Finding[];
}

const MAX_EVIDENCE_PER_FINDING = 5;

function isDisabled(id: string, disabled: readonly string[]): boolean {
  return disabled.some((d) => id === d || id.startsWith(`${d}.`));
}

/** Where two recognizers claim overlapping text, the higher score wins; on a tie, the earlier recognizer. */
function settleOverlaps(hits: PersonalDataHit[]): PersonalDataHit[] {
  const kept: PersonalDataHit[] = [];
  const order = [...hits].sort((a, b) => b.candidate.score - a.candidate.score);
  for (const hit of order) {
    const clash = kept.some(
      (k) => k.field === hit.field && k.candidate.start < hit.candidate.end && hit.candidate.start < k.candidate.end,
    );
    if (!clash) kept.push(hit);
  }
  return kept.sort((a, b) => a.field - b.field || a.candidate.start - b.candidate.start);
}

/** The field's text with every accepted value masked in place (same length, so offsets hold). */
function maskedText(text: string, hits: readonly PersonalDataHit[]): string {
  let out = '';
  let at = 0;
  for (const { recognizer, candidate } of hits) {
    out += text.slice(at, candidate.start) + recognizer.mask(text.slice(candidate.start, candidate.end));
    at = candidate.end;
  }
  return out + text.slice(at);
}

export interface PersonalDataOptions {
  recognizers?: readonly Recognizer[];
  checks?: readonly MessageCheck[];
}

export function createPersonalDataDetector(config: KestrelConfig, options: PersonalDataOptions = {}): Detector {
  const recognizers = (options.recognizers ?? RECOGNIZERS).filter((r) => !isDisabled(r.id, config.disableRules));
  const checks = (options.checks ?? MESSAGE_CHECKS).filter((c) => !isDisabled(c.id, config.disableRules));
  const settings = config.personalData;
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
      const hits = settleOverlaps(found);
      const masked = new Map<number, string>();
      const evidence = (field: number, start: number, end: number): Evidence => {
        let text = masked.get(field);
        if (text === undefined) {
          text = maskedText(message.fields[field]!.text, hits.filter((h) => h.field === field));
          masked.set(field, text);
        }
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

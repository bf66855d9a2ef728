/**
 * Personal data the recognizers found is masked in every finding's evidence, not only their own:
 * a lexicon excerpt ("my personal number is 07700 900583, text me") must not carry the number in
 * clear either. Masks keep the value's length, so the masked text keeps every offset and excerpts
 * are cut again from it.
 */
import { makeEvidence } from '../../evidence.js';
import type { AnalysedMessage, Evidence, Finding } from '../../types.js';
import { maskSpans, type MaskedSpan } from './detector.js';


/** The masked values per field, as the personal-data findings report them (`match` is the masked value). */
function maskedValues(findings: readonly Finding[]): Map<string, MaskedSpan[]> {
  const byField = new Map<string, MaskedSpan[]>();
  for (const finding of findings) {
    if (!finding.category.startsWith('personal_data.')) continue;
    for (const e of finding.evidence) {
      if (!e.masked || e.end <= e.start || e.match.length !== e.end - e.start) continue;
      let list = byField.get(e.field);
      if (!list) byField.set(e.field, (list = []));
      const masked = e.match;
      list.push({ start: e.start, end: e.end, mask: () => masked });
    }
  }
  return byField;
}

/**
 * The subject with the personal data found in it masked as its evidence is: a report that carries
 * the subject (for reviewers) must not undo the masking ("PEP meeting - T**** B***** (LAC)").
 */
export function maskedSubject(subject: string, findings: readonly Finding[]): string {
  const spans = maskedValues(findings).get('subject');
  return spans ? maskSpans(subject, spans) : subject;
}

export function maskPersonalDataInEvidence(findings: Finding[], message: AnalysedMessage, excerptContext: number): Finding[] {
  const values = maskedValues(findings);
  if (values.size === 0) return findings;
  const maskedText = new Map<string, string>();
  const reach = excerptContext * 2;
  const remask = (e: Evidence): Evidence => {
    if (e.masked) return e;
    const near = values.get(e.field)?.filter((v) => v.end > e.start - reach && v.start < e.end + reach);
    if (!near || near.length === 0) return e;
    const field = message.fields.find((f) => f.field === e.field);
    if (!field) return e;
    let text = maskedText.get(e.field);
    if (text === undefined) maskedText.set(e.field, (text = maskSpans(field.text, values.get(e.field)!)));
    const again = makeEvidence({ ...field, text }, e.start, e.end, excerptContext);
    return again.excerpt === e.excerpt ? e : { ...again, masked: true };
  };
  return findings.map((f) => (f.category.startsWith('personal_data.') ? f : { ...f, evidence: f.evidence.map(remask) }));
}

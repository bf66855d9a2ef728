/**
 * Direction decides severity: the same spreadsheet is routine between two staff accounts and a
 * serious breach when it goes to a personal Gmail address or to a pupil.
 */
import type { Audience, KestrelConfig } from '../../../config/schema.js';
import { SEVERITIES, severityRank, type AnalysedMessage, type Finding, type Party, type Severity } from '../../types.js';
import type { Sensitivity } from './recognizer.js';

export type AudienceSeverity = KestrelConfig['personalData']['audienceSeverity'];

/** The riskiest place the message goes, for a message whose sender and recipients are known. */
export function audienceOf(message: AnalysedMessage, partnerDomains: ReadonlySet<string>): Audience {
  if (message.direction === 'inbound') return 'inbound';
  const recipients: Party[] = [...message.to, ...message.cc, ...message.bcc];
  const external = recipients.filter((r) => r.role === 'external');
  if (external.some((r) => r.personalDomain)) return 'personal';
  if (recipients.some((r) => r.role === 'pupil') && message.from?.role !== 'pupil') return 'pupil';
  if (external.length > 0) {
    return external.every((r) => isPartner(r.address, partnerDomains)) ? 'partner' : 'external';
  }
  return 'internal';
}

function isPartner(address: string, partnerDomains: ReadonlySet<string>): boolean {
  let domain = address.slice(address.lastIndexOf('@') + 1);
  for (;;) {
    if (partnerDomains.has(domain)) return true;
    const dot = domain.indexOf('.');
    if (dot < 0) return false;
    domain = domain.slice(dot + 1);
  }
}

function shift(severity: Severity, steps: number): Severity {
  const rank = Math.min(severityRank('severe'), Math.max(0, severityRank(severity) + steps));
  return SEVERITIES[rank]!;
}

/**
 * Severity of personal data of one sensitivity sent to `audience`. Internal and inbound mail keeps
 * the configured level (minor by default) except bulk special category data, one step higher.
 */
export function personalDataSeverity(
  sensitivity: Sensitivity,
  audience: Audience,
  table: AudienceSeverity,
  options: { bulk?: boolean } = {},
): Severity {
  const base = table[audience];
  if (audience === 'internal' || audience === 'inbound') {
    return sensitivity === 'special' && options.bulk ? shift(base, 1) : base;
  }
  const steps = (sensitivity === 'contact' ? -1 : sensitivity === 'special' ? 1 : 0) + (options.bulk ? 1 : 0);
  return shift(base, steps);
}

/**
 * Lexicon rules in `personal_data.*` categories (special category data) are rated like the
 * recognizers' findings: by where the message goes, as special category data.
 */
export function rateLexiconFindings(findings: Finding[], message: AnalysedMessage, config: KestrelConfig): Finding[] {
  if (!findings.some((f) => f.category.startsWith('personal_data.'))) return findings;
  const audience = audienceOf(message, new Set(config.trust.partnerDomains));
  const severity = personalDataSeverity('special', audience, config.personalData.audienceSeverity);
  return findings.map((f) => (f.category.startsWith('personal_data.') ? { ...f, severity } : f));
}

/**
 * Wrong recipients, the most common breach in schools: a letter to many parents with their
 * addresses in To or Cc (each parent now has every other parent's address), and mail to a domain
 * one keystroke away from the trust's own or a partner's (`riverbank-trsut.sch.uk`).
 */
import type { CheckContext, MessageCheck } from '../detector.js';
import type { AnalysedMessage, Evidence, Finding, Party } from '../../../types.js';

const POLICY = '003_c7be022a1d032c68.txt 4';

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** Evidence about the envelope rather than the text: no span, and no address in clear. */
function envelopeEvidence(excerpt: string): Evidence {
  return { field: 'recipients', start: 0, end: 0, match: '', excerpt };
}

function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address[0]}${'*'.repeat(Math.max(0, at - 1))}${address.slice(at)}`;
}

function isUnder(domain: string, parents: Iterable<string>): boolean {
  for (const parent of parents) if (domain === parent || domain.endsWith(`.${parent}`)) return true;
  return false;
}

export const recipientsExposed: MessageCheck = {
  id: 'personal_data.recipients_exposed',
  check(message: AnalysedMessage, context: CheckContext): Finding[] {
    if (message.from?.role === 'external') return [];
    const visible = new Map<string, Party>();
    for (const party of [...message.to, ...message.cc]) {
      if (party.role === 'external' && !isUnder(domainOf(party.address), context.partnerDomains)) visible.set(party.address, party);
    }
    if (visible.size < context.settings.exposedRecipients) return [];
    const personal = [...visible.values()].filter((p) => p.personalDomain).length;
    return [
      {
        rule: 'personal_data.recipients_exposed',
        description: `${visible.size} external addresses (${personal} personal) are visible to each other in To/Cc; Bcc keeps them private`,
        category: 'personal_data.recipients_exposed',
        severity: context.severityFor('contact', { bulk: true }),
        score: Math.min(1, 0.6 + visible.size / 100),
        policy: POLICY,
        evidence: [envelopeEvidence(`${visible.size} external addresses in To/Cc, ${message.bcc.length} in Bcc`)],
      },
    ];
  },
};

/** Optimal string alignment distance, stopping early once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (i > 0 && best > limit) return limit + 1;
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** The trust or partner domain `domain` looks like a mistyping of, if any. */
function lookAlike(domain: string, known: readonly string[]): string | undefined {
  for (const target of known) {
    if (domain === target || domain.endsWith(`.${target}`)) return undefined;
  }
  for (const target of known) {
    // Compare like with like: staff.riverbank-trsut.sch.uk against the same number of labels.
    const labels = domain.split('.');
    const suffix = labels.slice(-target.split('.').length).join('.');
    if (editDistance(suffix, target, 1) === 1) return target;
  }
  return undefined;
}

export const misdirected: MessageCheck = {
  id: 'personal_data.misdirected',
  check(message: AnalysedMessage, context: CheckContext): Finding[] {
    if (message.from?.role === 'external') return [];
    const known = [...context.trustDomains, ...context.partnerDomains];
    if (known.length === 0) return [];
    const findings: Finding[] = [];
    for (const party of [...message.to, ...message.cc, ...message.bcc]) {
      if (party.role !== 'external') continue;
      const domain = domainOf(party.address);
      const target = lookAlike(domain, known);
      if (target === undefined) continue;
      findings.push({
        rule: 'personal_data.misdirected',
        description: `Sent to ${domain}, one character away from ${target}: probably a mistyped address`,
        category: 'personal_data.misdirected',
        severity: context.severityFor(context.hits.length > 0 ? 'identifier' : 'contact'),
        score: 0.8,
        policy: POLICY,
        evidence: [envelopeEvidence(`recipient ${maskAddress(party.address)}; did you mean @${target}?`)],
      });
    }
    return findings;
  },
};

/**
 * acceptable_use.forged_sender: mail that is not from who its From line says.
 *
 * - Authentication: in the Authentication-Results headers we believe (auth-results.ts), a
 *   `dmarc=fail` for the From domain; or, for a From at a trust domain (subdomains included),
 *   authenticated identities (`dkim=pass header.d=`, `spf=pass smtp.mailfrom=`) of which none is a
 *   trust domain or a configured sender service (`acceptableUse.senderServiceDomains`). A message
 *   without a believed header (internal mail, test fixtures) is never judged by this rule.
 * - Leader impersonation: a display name showing a trust leader's name (`trust.leaders`, see
 *   names.ts) on mail from outside the trust domains, from none of that leader's own addresses and
 *   not from a sender service (a "Helen Carter (via Google Docs)" share notice).
 * - A display name that is itself a trust address other than the real, non-trust address:
 *   `"h.carter@riverbank-trust.sch.uk" <x@gmail.com>`. Trust senders naming another trust address
 *   (send-on-behalf, shared mailboxes) are left alone.
 *
 * Severity: `severe` for a leader's name or a failed DMARC on a trust domain, `moderate` otherwise.
 */
import { severityRank, type AnalysedMessage, type Evidence, type Finding, type Severity } from '../../types.js';
import { identityDomain, trustedAuthResults, type AuthResultsHeader } from './auth-results.js';
import { domainOf } from '../../../directory/domains.js';
import { describedEvidence } from '../../evidence.js';
import { MAX_EVIDENCE, type AcceptableUseCheck, type CheckContext } from './check.js';
import { leaderNamed } from './names.js';

export const FORGED_SENDER = 'acceptable_use.forged_sender';
/** Treetops AUP, Severe Breach: "Forging email i.e. masquerading as another person." */
const POLICY = '002_ac353918cf928566.txt Severe Breach';

const ADDRESS = /[\p{L}\p{N}._%+'-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63})+/gu;

interface Reason {
  severity: Severity;
  score: number;
  summary: string;
  evidence: Evidence;
}

/** Domains the believed headers say the message is authenticated as. */
function authenticatedDomains(headers: readonly AuthResultsHeader[]): string[] {
  const domains = new Set<string>();
  for (const header of headers) {
    for (const r of header.results) {
      if (r.result !== 'pass') continue;
      const value =
        r.method === 'dkim' ? (r.properties.get('header.d') ?? r.properties.get('header.i')) : r.method === 'spf' ? r.properties.get('smtp.mailfrom') : undefined;
      if (value) {
        const domain = identityDomain(value);
        if (domain !== '') domains.add(domain);
      }
    }
  }
  return [...domains];
}

function authenticationReasons(message: AnalysedMessage, fromDomain: string, context: CheckContext): Reason[] {
  const headers = trustedAuthResults(message.headers['authentication-results'] ?? [], context.settings.authservIds);
  if (headers.length === 0) return [];
  const reasons: Reason[] = [];
  const trustFrom = context.isTrustDomain(fromDomain);
  const dmarcFail = headers.find((h) =>
    h.results.some((r) => r.method === 'dmarc' && r.result === 'fail' && identityDomain(r.properties.get('header.from') ?? fromDomain) === fromDomain),
  );
  if (dmarcFail) {
    const match = `dmarc=fail header.from=${fromDomain}`;
    reasons.push({
      severity: trustFrom ? 'severe' : 'moderate',
      score: trustFrom ? 0.95 : 0.8,
      summary: trustFrom ? `DMARC failed for the trust domain ${fromDomain}` : `DMARC failed for ${fromDomain}`,
      evidence: describedEvidence('envelope', match, `Authentication-Results from ${dmarcFail.authservId}: ${match}`),
    });
  }
  if (trustFrom) {
    const identities = authenticatedDomains(headers);
    const vouched = identities.some((d) => context.isTrustDomain(d) || context.isServiceDomain(d));
    if (identities.length > 0 && !vouched) {
      const shown = identities.slice(0, 3).join(', ');
      reasons.push({
        severity: 'moderate',
        score: 0.85,
        summary: `From the trust domain ${fromDomain} but authenticated only as ${shown}`,
        evidence: describedEvidence(
          'envelope',
          `From ${fromDomain}, authenticated as ${shown}`,
          `Authentication-Results from ${headers[0]!.authservId}: From domain ${fromDomain}, passing identities ${shown}`,
        ),
      });
    }
  }
  return reasons;
}

function displayNameReasons(message: AnalysedMessage, address: string, fromDomain: string, context: CheckContext): Reason[] {
  const name = message.from?.name;
  if (!name || context.isTrustDomain(fromDomain)) return [];
  const reasons: Reason[] = [];
  const leader = leaderNamed(name, context.leaders);
  if (leader && !leader.addresses.has(address) && !context.isServiceDomain(fromDomain)) {
    reasons.push({
      severity: 'severe',
      score: 0.9,
      summary: `The display name shows trust leader ${leader.name} on mail from ${fromDomain}`,
      evidence: describedEvidence('envelope', `From: "${name}" <${address}>`, `display name "${name}" is trust leader ${leader.name}; sent from ${fromDomain}`),
    });
  }
  for (const shown of name.match(ADDRESS) ?? []) {
    const lower = shown.toLowerCase();
    if (lower === address || !context.isTrustDomain(domainOf(lower))) continue;
    reasons.push({
      severity: 'moderate',
      score: 0.85,
      summary: `The display name shows the trust address ${lower} on mail from ${fromDomain}`,
      evidence: describedEvidence('envelope', `From: "${name}" <${address}>`, `display name shows trust address ${lower}; really sent from ${fromDomain}`),
    });
    break;
  }
  return reasons;
}

export const forgedSender: AcceptableUseCheck = {
  id: FORGED_SENDER,
  check(message, context) {
    const address = message.from?.address.toLowerCase();
    if (!address) return [];
    const fromDomain = domainOf(address);
    if (fromDomain === '') return [];
    const reasons = [...authenticationReasons(message, fromDomain, context), ...displayNameReasons(message, address, fromDomain, context)];
    if (reasons.length === 0) return [];
    reasons.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.score - a.score);
    const top = reasons[0]!;
    const finding: Finding = {
      rule: FORGED_SENDER,
      description: `Forged sender: ${top.summary}${reasons.length > 1 ? `; ${reasons.length - 1} more sign${reasons.length > 2 ? 's' : ''}` : ''}`,
      category: FORGED_SENDER,
      severity: top.severity,
      score: top.score,
      policy: POLICY,
      evidence: reasons.slice(0, MAX_EVIDENCE).map((r) => r.evidence),
    };
    return [finding];
  },
};

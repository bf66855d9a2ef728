/**
 * What the acceptable-use checks share: the context built once from the config, and evidence that
 * describes the envelope or an attachment rather than pointing into a text field. Such evidence has
 * `field` `envelope` or `attachment:<n>` (the attachment's index, as text fields number them) and
 * `start` = `end` = 0: there is no span of text, and `match` and `excerpt` say what was found.
 */
import type { KestrelConfig } from '../../../config/schema.js';
import type { AnalysedMessage, Evidence, Finding } from '../../types.js';
import type { Leader } from './names.js';

export interface CheckContext {
  settings: KestrelConfig['acceptableUse'];
  /** A trust domain or a subdomain of one. */
  isTrustDomain(domain: string): boolean;
  /** A domain in `acceptableUse.senderServiceDomains`, or a subdomain of one. */
  isServiceDomain(domain: string): boolean;
  leaders: readonly Leader[];
}

export interface AcceptableUseCheck {
  id: string;
  check(message: AnalysedMessage, context: CheckContext): Finding[];
}

export const MAX_EVIDENCE = 5;

/** Evidence about the message as a whole or one attachment: described, never quoted from a file name. */
export function describedEvidence(field: string, match: string, excerpt: string): Evidence {
  return { field, start: 0, end: 0, match, excerpt };
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
}

/** A membership test for a list of domains that also accepts their subdomains. */
export function domainSuffixSet(domains: readonly string[]): (domain: string) => boolean {
  const set = new Set(domains.map((d) => d.toLowerCase().replace(/\.$/, '')));
  return (domain) => {
    let candidate = domain.toLowerCase().replace(/\.$/, '');
    while (candidate !== '') {
      if (set.has(candidate)) return true;
      const dot = candidate.indexOf('.');
      if (dot < 0) return false;
      candidate = candidate.slice(dot + 1);
    }
    return false;
  };
}

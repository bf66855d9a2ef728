/**
 * What the acceptable-use checks share: the context built once from the config. Their evidence
 * describes the envelope or an attachment rather than pointing into a text field. Such evidence has
 * `field` `envelope` or `attachment:<n>` (the attachment's index, as text fields number them) and
 * `start` = `end` = 0: there is no span of text, and `match` and `excerpt` say what was found.
 */
import type { KestrelConfig } from '../../../config/schema.js';
import type { AnalysedMessage, Finding } from '../../types.js';
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

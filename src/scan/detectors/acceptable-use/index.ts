/**
 * The acceptable-use detector: checks that read the envelope and the attachments' facts rather
 * than the words (dangerous attachments, forged senders, mass mailing). Pure: what it needs from the bytes was
 * found by the parse stage (AttachmentInfo.risk), what it needs from the config is read here once.
 * Switch a check off with `disableRules: [acceptable_use.forged_sender]`, or all with `acceptable_use`.
 */
import { isRuleDisabled, type KestrelConfig } from '../../../config/schema.js';
import type { AnalysedMessage, Detector, Finding } from '../../types.js';
import { domainSuffixSet } from '../../../directory/domains.js';
import type { AcceptableUseCheck, CheckContext } from './check.js';
import { dangerousAttachment } from './dangerous-attachment.js';
import { forgedSender } from './forged-sender.js';
import { massMailing } from './mass-mailing.js';
import { compileLeader, type Leader } from './names.js';

export { DANGEROUS_ATTACHMENT } from './dangerous-attachment.js';
export { FORGED_SENDER } from './forged-sender.js';
export type { AcceptableUseCheck, CheckContext } from './check.js';

export const ACCEPTABLE_USE_CHECKS: readonly AcceptableUseCheck[] = [dangerousAttachment, forgedSender, massMailing];


export function createAcceptableUseDetector(config: KestrelConfig, checks: readonly AcceptableUseCheck[] = ACCEPTABLE_USE_CHECKS): Detector {
  const enabled = checks.filter((c) => !isRuleDisabled(c.id, config.disableRules));
  const context: CheckContext = {
    settings: config.acceptableUse,
    isTrustDomain: domainSuffixSet(config.trust.domains),
    isServiceDomain: domainSuffixSet(config.acceptableUse.senderServiceDomains),
    leaders: config.trust.leaders.map(compileLeader).filter((l): l is Leader => l !== undefined),
  };
  return {
    id: 'acceptable_use',
    detect(message: AnalysedMessage): Finding[] {
      const findings: Finding[] = [];
      for (const check of enabled) findings.push(...check.check(message, context));
      return findings;
    },
  };
}

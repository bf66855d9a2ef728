/**
 * The trust's own social media accounts are run from trust addresses (comms@, the PE department's
 * club account): their sign-up and notification mail is the job, not a breach. The trust lists
 * those addresses in `pupilEmail.socialAccounts`; the social sign-up rules are lexicon rules, so
 * this filters what the lexicon reports.
 */
import type { KestrelConfig } from '../../../config/schema.js';
import { compileAddressPatterns } from '../../../directory/patterns.js';
import type { AnalysedMessage, Finding } from '../../types.js';

const SOCIAL_SIGNUP = 'pupil_email.social_signup';

/** Drops social sign-up findings when every trust recipient is one of the trust's official accounts. */
export function officialSocialAccounts(config: KestrelConfig): (findings: Finding[], message: AnalysedMessage) => Finding[] {
  if (config.pupilEmail.socialAccounts.length === 0) return (findings) => findings;
  const isOfficial = compileAddressPatterns(config.pupilEmail.socialAccounts);
  return (findings, message) => {
    const trustRecipients = [...message.to, ...message.cc, ...message.bcc].filter((p) => p.trustAccount);
    if (trustRecipients.length === 0 || !trustRecipients.every((p) => isOfficial(p.address))) return findings;
    return findings.filter((f) => f.category !== SOCIAL_SIGNUP);
  };
}

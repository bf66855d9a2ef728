/**
 * The trust's own social media accounts are run from trust addresses (comms@, the PE department's
 * club account): their sign-up and notification mail is the job, not a breach. The trust lists
 * those addresses in `pupilEmail.socialAccounts`; the social sign-up rules are lexicon rules, so
 * this wraps the detector that reports them.
 */
import type { KestrelConfig } from '../../../config/schema.js';
import { compileAddressPatterns } from '../../../directory/patterns.js';
import type { Detector } from '../../types.js';

const SOCIAL_SIGNUP = 'pupil_email.social_signup';

export function withOfficialSocialAccounts(detector: Detector, config: KestrelConfig): Detector {
  if (config.pupilEmail.socialAccounts.length === 0) return detector;
  const isOfficial = compileAddressPatterns(config.pupilEmail.socialAccounts);
  return {
    id: detector.id,
    detect(message, context, earlier) {
      const findings = detector.detect(message, context, earlier);
      const trustRecipients = [...message.to, ...message.cc, ...message.bcc].filter((p) => p.trustAccount);
      if (trustRecipients.length === 0 || !trustRecipients.every((p) => isOfficial(p.address))) return findings;
      return findings.filter((f) => f.category !== SOCIAL_SIGNUP);
    },
  };
}

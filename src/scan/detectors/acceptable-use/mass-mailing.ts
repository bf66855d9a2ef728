/**
 * Unsolicited mass mailing from a trust account: one message addressed to a crowd of individual
 * people. Distribution lists (all-staff@, year7-parents@) are one address each and are how a school
 * writes to many people properly, so they count once; a pasted list of fifty addresses does not.
 * Bcc counts too: the sender's Sent copy shows it.
 */
import type { AnalysedMessage, Finding } from '../../types.js';
import { describedEvidence } from '../../evidence.js';
import { type AcceptableUseCheck, type CheckContext } from './check.js';

export const MASS_MAILING = 'acceptable_use.mass_mailing';

export const massMailing: AcceptableUseCheck = {
  id: MASS_MAILING,
  check(message: AnalysedMessage, context: CheckContext): Finding[] {
    const from = message.from;
    if (!from || !from.trustAccount || from.role === 'external') return [];
    const recipients = new Set([...message.to, ...message.cc, ...message.bcc].map((p) => p.address));
    const limit = context.settings.massMailingRecipients;
    if (recipients.size < limit) return [];
    const outside = [...message.to, ...message.cc, ...message.bcc].filter((p) => !p.trustAccount).length;
    return [
      {
        rule: MASS_MAILING,
        description: `One message from a trust account to ${limit} or more individual addresses`,
        category: MASS_MAILING,
        severity: from.role === 'pupil' ? 'moderate' : 'minor',
        score: 1,
        policy: '004_f3cc6835b350ea73.txt 3.2',
        evidence: [describedEvidence('envelope', `${recipients.size} recipients`, `${recipients.size} individual recipients (${outside} outside the trust) in To, Cc and Bcc`)],
      },
    ];
  },
};

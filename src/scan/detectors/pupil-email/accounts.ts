/**
 * Staff and pupils must write to each other only from trust accounts. The directory knows who is
 * staff and who is a pupil, and (from the people CSV) some of their own addresses: a teacher's
 * Gmail writing to a pupil, or a teacher writing to a pupil's iCloud, is a breach whatever the text
 * says. Text that admits to it ("using my own email, the school one keeps logging me out") is a
 * lexicon rule (lexicons/pupil_email/non_trust_account.yaml) for senders the directory does not know.
 */
import { describedEvidence } from '../../evidence.js';
import { severityRank, type AnalysedMessage, type Finding, type Party, type Severity } from '../../types.js';

export const TRUST_ACCOUNT_POLICY = '003_c7be022a1d032c68.txt 4';


function account(party: Party): string {
  if (party.trustAccount) return 'trust account';
  return party.personalDomain ? 'personal address' : 'non-trust address';
}

interface Breach {
  severity: Severity;
  description: string;
}

/**
 * The breach, if any, of one sender-recipient pair. Staff writing from outside the trust is the
 * graver case (nothing of it reaches trust systems except the pupil's copy); a pupil using their
 * own address to reach a teacher is usually a login problem, but the teacher's reply must not follow.
 */
function breach(from: Party, to: Party): Breach | null {
  if (from.role === 'staff' && to.role === 'pupil') {
    if (!from.trustAccount) return { severity: 'severe', description: 'A member of staff writes to a pupil from an address outside the trust' };
    if (!to.trustAccount) return { severity: 'moderate', description: "A member of staff writes to a pupil's own address rather than their trust account" };
  }
  if (from.role === 'pupil' && to.role === 'staff' && (!from.trustAccount || !to.trustAccount)) {
    return { severity: 'minor', description: 'A pupil and a member of staff correspond outside trust accounts' };
  }
  return null;
}

export function nonTrustAccount(message: AnalysedMessage): Finding[] {
  const from = message.from;
  if (!from) return [];
  const recipients = [...message.to, ...message.cc, ...message.bcc];
  let worst: { breach: Breach; to: Party } | null = null;
  for (const to of recipients) {
    const found = breach(from, to);
    if (found && (!worst || severityRank(found.severity) > severityRank(worst.breach.severity))) worst = { breach: found, to };
  }
  if (!worst) return [];
  return [
    {
      rule: 'pupil_email.non_trust_account',
      description: worst.breach.description,
      category: 'pupil_email.non_trust_account',
      severity: worst.breach.severity,
      score: 1,
      policy: TRUST_ACCOUNT_POLICY,
      // Roles and account kinds, never the addresses.
      evidence: [describedEvidence('envelope', '', `${from.role} (${account(from)}) to ${worst.to.role} (${account(worst.to)})`)],
    },
  ];
}

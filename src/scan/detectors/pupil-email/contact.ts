/**
 * Personal contact details between adults and pupils, and pupils giving out their own. The
 * personal-data recognizers find the numbers and addresses (and already tie a phone number to a
 * person, so a switchboard in a signature is not one); this check says what they mean in a message
 * between these roles. Invitations to connect ("add me on Snapchat") are lexicon rules
 * (lexicons/pupil_email/personal_contact.yaml).
 */
import type { AnalysedMessage, Evidence, Finding, Severity } from '../../types.js';

const CONTACT_RULES = new Set(['personal_data.phone_number', 'personal_data.home_address', 'personal_data.email_address']);
const PUPIL_DETAILS = new Set(['personal_data.phone_number', 'personal_data.home_address']);

/** Staff giving pupils personal contact details; 002 Appendix 2 7.12 for any adult befriending a pupil. */
const STAFF_POLICY = '001_4daf5c04d4a5f463.txt 5.10';
const ADULT_POLICY = '002_ac353918cf928566.txt Appendix 2 7.12';
/** The student AUP: "I will not reveal any personal information (e.g. home address, telephone number)". */
const PUPIL_POLICY = '002_ac353918cf928566.txt Appendix 1';

interface Reading {
  rule: string;
  description: string;
  severity: Severity;
  policy: string;
  /** Which of the personal-data findings' evidence counts. */
  counts(evidence: Evidence, message: AnalysedMessage): boolean;
}

/** How far before a number the words that say whose it is may be: "my personal number, 07700 ...". */
const OWNER_WINDOW = 60;
/** First-person words, unless someone else's possession follows ("my mum's mobile"). */
const FIRST_PERSON = /\b(?:my|me|i'm|im|i am|i)\b(?!\s+\w+'s\b)/i;

/** The sender's own contact details: first-person words just before the value, in the sender's own text. */
function sendersOwn(evidence: Evidence, message: AnalysedMessage): boolean {
  if (evidence.quoted || evidence.field.startsWith('attachment:')) return false;
  const field = message.fields.find((f) => f.field === evidence.field);
  if (!field) return false;
  const before = field.text.slice(Math.max(0, evidence.start - OWNER_WINDOW), evidence.start);
  const clause = before.split(/[.!?\n]\s/).pop() ?? before;
  return FIRST_PERSON.test(clause);
}

/** Anything a pupil writes in the message itself (their own details or someone else's), not attachments. */
function pupilsOwnWords(evidence: Evidence): boolean {
  return !evidence.quoted && !evidence.field.startsWith('attachment:');
}

function readingFor(message: AnalysedMessage): Reading | null {
  const from = message.from;
  if (!from) return null;
  const recipients = [...message.to, ...message.cc, ...message.bcc];
  const toPupil = recipients.some((p) => p.role === 'pupil');
  if (from.role === 'staff' && toPupil) {
    return { rule: 'pupil_email.staff_contact_details', description: 'A member of staff gives a pupil their personal contact details', severity: 'severe', policy: STAFF_POLICY, counts: sendersOwn };
  }
  if (from.role === 'external' && toPupil) {
    return { rule: 'pupil_email.adult_contact_details', description: 'Someone outside the trust gives a pupil their personal contact details', severity: 'moderate', policy: ADULT_POLICY, counts: sendersOwn };
  }
  // A pupil telling staff an address or number (a form, a parent's mobile) is what staff need;
  // the rule is about details going to other pupils and to people outside the trust.
  const outside = recipients.some((p) => !p.trustAccount);
  if (from.role === 'pupil' && (toPupil || outside)) {
    return {
      rule: 'pupil_email.pupil_reveals_details',
      description: outside ? 'A pupil gives a home address or phone number to someone outside the trust' : 'A pupil gives another pupil a home address or phone number',
      severity: outside ? 'moderate' : 'minor',
      policy: PUPIL_POLICY,
      counts: pupilsOwnWords,
    };
  }
  return null;
}

export function personalContact(message: AnalysedMessage, earlier: readonly Finding[]): Finding[] {
  const reading = readingFor(message);
  if (!reading) return [];
  // A pupil's e-mail address is the contact they already have, so it counts for adults only.
  const kinds = reading.rule === 'pupil_email.pupil_reveals_details' ? PUPIL_DETAILS : CONTACT_RULES;
  const evidence = earlier.filter((f) => kinds.has(f.rule)).flatMap((f) => f.evidence.filter((e) => reading.counts(e, message)));
  if (evidence.length === 0) return [];
  return [
    {
      rule: reading.rule,
      description: reading.description,
      category: 'pupil_email.personal_contact',
      severity: reading.severity,
      score: 1,
      policy: reading.policy,
      evidence: evidence.slice(0, 5),
    },
  ];
}

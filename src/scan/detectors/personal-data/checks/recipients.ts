/**
 * Wrong recipients, the most common breach in schools: a letter to many parents with their
 * addresses in To or Cc (each parent now has every other parent's address), mail to a domain
 * one keystroke away from the trust's own or a partner's (`riverbank-trsut.sch.uk`), and a pupil's
 * data sent to one family's mailbox while the message itself names another as the contact.
 */
import { domainOf, isUnderDomain } from '../../../../directory/domains.js';
import { describedEvidence } from '../../../evidence.js';
import type { CheckContext, MaskedSpan, MessageCheck } from '../detector.js';
import type { FieldView } from '../field-view.js';
import { wordInClause } from '../recognizers/contact-context.js';
import type { AnalysedMessage, Evidence, Finding, Party } from '../../../types.js';
import { EMAIL, isOnHeaderLine, maskEmail, SENDERS_OWN_WORDS } from './personal-email.js';

const POLICY = '003_c7be022a1d032c68.txt 4';

/** Evidence about the envelope rather than the text: no span, and no address in clear. */
function envelopeEvidence(excerpt: string): Evidence {
  return describedEvidence('recipients', '', excerpt);
}


function isUnder(domain: string, parents: Iterable<string>): boolean {
  for (const parent of parents) if (isUnderDomain(domain, parent)) return true;
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
    if (isUnderDomain(domain, target)) return undefined;
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
        evidence: [envelopeEvidence(`recipient ${maskEmail(party.address)}; did you mean @${target}?`)],
      });
    }
    return findings;
  },
};

/**
 * Words that make an address in the text a person's contact: whose it is (`Mum's email`,
 * `Parent email:`). Plain "email" or "contact" are left out, as they also introduce a tutor's or a
 * club's address ("email Mrs Jones at ..."); they count only as a table column's header.
 */
const FAMILY_WORDS = [
  'mum',
  "mum's",
  'mums',
  'dad',
  "dad's",
  'dads',
  'mother',
  "mother's",
  'father',
  "father's",
  'parent',
  "parent's",
  'parents',
  'carer',
  "carer's",
  'carers',
  'guardian',
  "guardian's",
  'stepmum',
  'stepdad',
] as const;
const CONTACT_COLUMN = /\b(?:e-?mail|contact)\b/i;
/**
 * More named contacts than one family has is a list about several people (bulk_records reports
 * that); "the contact" of the message is then no longer one address to compare the recipients with.
 */
const MAX_NAMED_CONTACTS = 3;

interface Mention {
  field: number;
  start: number;
  end: number;
  address: string;
}

function isQuoted(view: FieldView, position: number): boolean {
  return view.field.quoted.some((r) => r.start <= position && position < r.end);
}

/** Does the text say whose address this is: a parent word in its clause, or an e-mail column? */
function namesAContact(view: FieldView, start: number, end: number): boolean {
  if (wordInClause(view, start, end, { words: FAMILY_WORDS, before: 6, after: 2 }) !== undefined) return true;
  const header = view.tableCell(start)?.header;
  return header !== undefined && CONTACT_COLUMN.test(header);
}

export const wrongContact: MessageCheck = {
  id: 'personal_data.misdirected',
  check(message: AnalysedMessage, context: CheckContext): Finding[] {
    if (message.from?.role !== 'staff') return [];
    if (!context.hits.some((h) => h.recognizer.sensitivity !== 'contact')) return [];
    const ours = (address: string) => isUnder(domainOf(address), [...context.trustDomains, ...context.partnerDomains]);
    // A slip between two families' mailboxes lands at a personal address. Data sent to an
    // organisation (a trip provider, a tutoring agency) is a decision to share, not this slip; a
    // mistyped organisation's domain is the typo check's.
    const recipients = [...message.to, ...message.cc, ...message.bcc].filter((p) => p.role === 'external' && p.personalDomain && !ours(p.address));
    if (recipients.length === 0) return [];

    const mentions: Mention[] = [];
    // Addresses already on the thread (quoted text, its header lines): the recipient may have given
    // them, as in "please add my husband's email", so naming them again is no sign of a slip.
    const thread = new Set<string>();
    context.views.forEach((view, field) => {
      if (!view.text.includes('@')) return;
      EMAIL.lastIndex = 0;
      for (let m = EMAIL.exec(view.text); m !== null; m = EMAIL.exec(view.text)) {
        const address = m[0].toLowerCase();
        const start = m.index;
        const end = start + m[0].length;
        if (isQuoted(view, start) || isOnHeaderLine(view, start)) thread.add(address);
        mentions.push({ field, start, end, address });
      }
    });
    const sender = message.from.address.toLowerCase();
    const named = mentions.filter(({ field, start, end, address }) => {
      const view = context.views[field]!;
      if (address === sender || ours(address) || thread.has(address) || view.inSignature(start)) return false;
      if (wordInClause(view, start, end, { words: SENDERS_OWN_WORDS, before: 4, after: 0 }) !== undefined) return false;
      return namesAContact(view, start, end);
    });
    const contacts = [...new Set(named.map((n) => n.address))];
    if (contacts.length === 0 || contacts.length > MAX_NAMED_CONTACTS) return [];
    if (recipients.some((r) => contacts.includes(r.address.toLowerCase()))) return [];

    // Every address in an evidence field is masked, the recipients' and the thread's too.
    const masks = (field: number): MaskedSpan[] => mentions.filter((m) => m.field === field).map(({ start, end }) => ({ start, end, mask: maskEmail }));
    const shown = contacts.map((address) => named.find((n) => n.address === address)!);
    return [
      {
        rule: 'personal_data.misdirected',
        description: `Personal data sent to ${recipients.map((r) => maskEmail(r.address)).join(', ')}, but the message names ${contacts.map(maskEmail).join(', ')} as the contact: probably the wrong family`,
        category: 'personal_data.misdirected',
        severity: context.severityFor('identifier'),
        score: 0.7,
        policy: POLICY,
        evidence: shown.map(({ field, start, end }) => context.evidence(field, start, end, masks(field))),
      },
    ];
  },
};

/**
 * Personal e-mail address: an address at a consumer mail domain (gmail.com, hotmail.co.uk, ...)
 * written in the text about someone who is not part of the message: "her mum's email is
 * jo.smith@gmail.com". It is a message-level check, not a recognizer, because whether an address
 * is shared data depends on the envelope: the message's own sender and recipients, and everyone on
 * the quoted thread's From/To lines, are already known to each other. The sender's own address in
 * a signature or after "email me at" is the sender's to give. What is left is reported only when
 * words near it say whose address it is or that it is an address (email, contact, mum), so a bare
 * address in a mailing-list footer stays out.
 */
import type { AnalysedMessage, Finding, Party } from '../../../types.js';
import type { CheckContext, MaskedSpan, MessageCheck } from '../detector.js';
import type { FieldView } from '../field-view.js';
import { maskValue } from '../recognizer.js';
import { onQuoteHeaderLine } from '../recognizers/contact-context.js';

/** Starts only where a run of address characters starts, so each run is read once. */
export const EMAIL = /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){1,4}/gu;
/** A line introducing quoted text: `Russell <r@hotmail.com> writes:`, `Quoting Paul (p@yahoo.com):`. */
const ATTRIBUTION_LINE = /:\s*$|^\s*quoting\b/i;
const MAX_ATTRIBUTION_LINE = 300;

/** Words that make an address in the text someone's contact details. */
const ADDRESS_WORDS = [
  'email',
  'e-mail',
  'emails',
  'email address',
  'address',
  'contact',
  'contacts',
  'mum',
  "mum's",
  'dad',
  "dad's",
  'mother',
  'father',
  'parent',
  "parent's",
  'parents',
  'carer',
  "carer's",
  'guardian',
  'her',
  'his',
  'their',
  'personal',
  'private',
  'home',
  'gmail',
  'hotmail',
  'icloud',
  'outlook',
] as const;

/** The sender giving their own address: theirs to give. */
export const SENDERS_OWN_WORDS = [
  'my email',
  'my e-mail',
  'my address',
  'my email address',
  'my personal email',
  'my home email',
  'my personal',
  'my own',
  'my gmail',
  'my hotmail',
  'email me',
  'e-mail me',
  'contact me',
  'reach me',
  'message me',
  'reply to me',
  'write to me',
  'me at',
  'me on',
  'us at',
  'us on',
  'our email',
] as const;

const POLICY = '002_ac353918cf928566.txt Data Security';
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;
const MAX_EVIDENCE = 5;

function partyAddresses(message: AnalysedMessage): Set<string> {
  const parties: Party[] = [...(message.from ? [message.from] : []), ...message.to, ...message.cc, ...message.bcc, ...message.replyTo];
  return new Set(parties.map((p) => p.address.toLowerCase()));
}

export function isOnHeaderLine(view: FieldView, position: number): boolean {
  if (onQuoteHeaderLine(view, position)) return true;
  const index = view.lineIndexAt(position);
  const line = view.lines[index]!;
  return line.end - line.start <= MAX_ATTRIBUTION_LINE && ATTRIBUTION_LINE.test(view.lineText(index));
}

/** Addresses on the quoted thread's header lines: people already on the thread. */
function threadAddresses(views: readonly FieldView[]): Set<string> {
  const thread = new Set<string>();
  for (const view of views) {
    if (!view.text.includes('@')) continue;
    EMAIL.lastIndex = 0;
    for (let m = EMAIL.exec(view.text); m !== null; m = EMAIL.exec(view.text)) {
      if (isOnHeaderLine(view, m.index)) thread.add(m[0].toLowerCase());
    }
  }
  return thread;
}

/** A cheap look at every `@`: most mail names no consumer-domain address, and the address regex is not cheap. */
function mentionsPersonalDomain(text: string, personalDomains: ReadonlySet<string>): boolean {
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let end = at + 1;
    while (end < text.length && DOMAIN_CHAR.test(text[end]!)) end++;
    if (personalDomains.has(text.slice(at + 1, end).toLowerCase().replace(/\.+$/, ''))) return true;
  }
  return false;
}

/** `jo.smith@gmail.com` -> `**.*****@gmail.com`: the domain is why it is reported, the person is not shown. */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  return maskValue(address.slice(0, at), { start: 0, end: 0 }) + address.slice(at);
}

export const personalEmail: MessageCheck = {
  id: 'personal_data.email_address',
  check(message, context: CheckContext): Finding[] {
    const candidates = context.views.map((view) => view.text.includes('@') && mentionsPersonalDomain(view.text, context.personalDomains));
    if (!candidates.some(Boolean)) return [];
    const known = partyAddresses(message);
    for (const address of threadAddresses(context.views)) known.add(address);
    const found: Array<{ field: number; span: MaskedSpan; address: string; domain: string }> = [];
    context.views.forEach((view, field) => {
      if (!candidates[field]) return;
      EMAIL.lastIndex = 0;
      for (let m = EMAIL.exec(view.text); m !== null; m = EMAIL.exec(view.text)) {
        const address = m[0].toLowerCase();
        const domain = address.slice(address.lastIndexOf('@') + 1);
        const start = m.index;
        const end = start + m[0].length;
        if (!context.personalDomains.has(domain) || known.has(address)) continue;
        if (isOnHeaderLine(view, start) || view.inSignature(start)) continue;
        if (view.contextWord(start, end, { words: SENDERS_OWN_WORDS, before: 4, after: 0 }) !== undefined) continue;
        if (view.contextWord(start, end, { words: ADDRESS_WORDS, before: 6, after: 2 }) === undefined) continue;
        found.push({ field, span: { start, end, mask: maskEmail }, address, domain });
      }
    });
    if (found.length === 0) return [];
    const domains = [...new Set(found.map((f) => f.domain))].join(', ');
    // The same address in the plain and HTML parts, or said twice, is one address: shown once.
    const seen = new Set<string>();
    const firstOfEach = found.filter((f) => {
      if (seen.has(f.address)) return false;
      seen.add(f.address);
      return true;
    });
    return [
      {
        rule: 'personal_data.email_address',
        description: `A personal e-mail address (${domains}) of someone outside the message${firstOfEach.length > 1 ? `; ${firstOfEach.length} addresses` : ''}`,
        category: 'personal_data.email_address',
        severity: context.severityFor('contact'),
        score: 0.7,
        policy: POLICY,
        evidence: firstOfEach.slice(0, MAX_EVIDENCE).map(({ field, span }) =>
          context.evidence(
            field,
            span.start,
            span.end,
            found.filter((f) => f.field === field).map((f) => f.span),
          ),
        ),
      },
    ];
  },
};

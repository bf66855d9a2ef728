/**
 * Composes the e-safety monitor's copy of a flagged message (clause 7.2.1 of
 * 003_c7be022a1d032c68.txt) and the daily digest, as raw RFC 5322 messages ready to send or append.
 * The subject and headers name nobody and quote nothing (clause 4: subjects show on lock screens);
 * what was found is in the body, and a full copy carries the original unchanged.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { StoredFlag } from '../flags/store.js';
import type { PartySummary } from '../scan/pipeline.js';
import type { Direction, Evidence, Finding } from '../scan/types.js';
import { KESTREL_COPY_HEADER } from '../connect/copy-guard.js';
import { QUEUE_SIZE_CAP_REASON } from '../connect/oversize.js';
import { renderHtml } from './compose-html.js';
import { checkedUrl, headerToken, inWords, plural, renderText, type Block, type Inline, type MailDocument } from './compose-text.js';
import { digestDocument, digestHeaders, digestSubject } from './digest.js';
import type { CopyRequest, DigestRequest, EscalationStep, KestrelHeaders } from './types.js';

/** Past this many recipients, mailboxes or excerpts, the copy points to the flag for the rest. */
const MAX_LISTED = 20;
const MAX_EXCERPTS = 10;

/** A flagged report always has a severity; the type allows null for clean ones. */
function severityOf(flag: StoredFlag): string {
  return flag.report.severity ?? 'unrated';
}

export function copySubject(flag: StoredFlag, escalation?: EscalationStep): string {
  const tags = [flag.report.urgent ? 'URGENT' : '', escalation ? 'escalated' : ''].filter((t) => t !== '').join(', ');
  const categories = flag.report.categories.map(headerToken).filter((c) => c !== '');
  const named = categories.length > 3 ? [...categories.slice(0, 3), `+${categories.length - 3} more`] : categories;
  return `[Kestrel${tags ? ` ${tags}` : ''}] Flag ${flag.id}: ${[...named, severityOf(flag)].join(', ')}`;
}

const FIELD_WORDS: Record<string, string> = {
  subject: 'In the subject',
  body: 'In the message text',
  html: 'In the message text (HTML version)',
  envelope: 'About the sender and recipients',
  recipients: 'About the recipients',
};

function where(evidence: Evidence): string {
  const attachment = /^attachment:(\d+)$/.exec(evidence.field);
  const place = attachment ? `In attachment ${Number(attachment[1]) + 1}` : (FIELD_WORDS[evidence.field] ?? `In ${evidence.field}`);
  const notes = [
    evidence.quoted ? 'quoted history: earlier mail quoted or forwarded in this message, not the sender’s own words' : '',
    evidence.masked ? 'personal data masked' : '',
  ].filter((n) => n !== '');
  return notes.length ? `${place} (${notes.join('; ')})` : place;
}

/** Marks the matched words; the excerpt holds them with runs of white space collapsed. */
function excerptWithMark(evidence: Evidence): Inline[] {
  const match = evidence.match.replace(/\s+/g, ' ');
  const { excerpt } = evidence;
  if (match === '') return [excerpt];
  const positions: number[] = [];
  for (let at = excerpt.indexOf(match); at !== -1; at = excerpt.indexOf(match, at + 1)) positions.push(at);
  if (positions.length === 0) return [excerpt];
  // An excerpt is the match with about as much context either side, unless it starts at the
  // beginning of the text (no leading ellipsis): pick the occurrence where the match should be.
  const expected = excerpt.startsWith('…') ? (excerpt.length - match.length) / 2 : evidence.start;
  const at = positions.reduce((best, p) => (Math.abs(p - expected) < Math.abs(best - expected) ? p : best));
  return [excerpt.slice(0, at), { marked: excerpt.slice(at, at + match.length) }, excerpt.slice(at + match.length)];
}

function findingBlocks(finding: Finding): Block[] {
  const shown = finding.evidence.slice(0, MAX_EXCERPTS);
  const hidden = finding.evidence.length - shown.length;
  return [
    { kind: 'heading', level: 3, text: `${finding.rule}: ${finding.severity}` },
    { kind: 'paragraph', content: [finding.description] },
    {
      kind: 'paragraph',
      content: [`Category ${finding.category} · severity ${finding.severity} · confidence ${Math.round(finding.score * 100)}% · policy ${finding.policy}`],
    },
    ...shown.map((e): Block => ({ kind: 'evidence', label: where(e), excerpt: excerptWithMark(e) })),
    ...(hidden > 0 ? [{ kind: 'paragraph', content: [`And ${plural(hidden, 'more excerpt')}: see the flag.`] } satisfies Block] : []),
  ];
}

function party(p: PartySummary): string {
  const what = p.role === 'external' ? 'outside the trust' : p.academy ? `${p.role}, ${p.academy}` : p.role;
  return `${p.address} (${what})`;
}

function atMost<T>(items: T[], words: (item: T) => string, rest: string): string[] {
  const shown = items.slice(0, MAX_LISTED).map(words);
  return items.length > MAX_LISTED ? [...shown, `and ${items.length - MAX_LISTED} more ${rest}: see the flag`] : shown;
}

const DIRECTION_WORDS: Record<Direction, string> = {
  inbound: 'Inbound: sent to the trust from outside it',
  outbound: 'Outbound: sent from a trust account to someone outside the trust',
  internal: 'Internal: sent and received within the trust',
};

function sizeWords(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function topBlocks(request: CopyRequest, flagUrl: string): Block[] {
  const { flag, escalation } = request;
  const { report } = flag;
  const alerts: Block[] = [];
  if (escalation) {
    alerts.push({
      kind: 'alert',
      content: [
        `Escalated to you: nobody acknowledged this urgent flag within ${plural(escalation.afterMinutes, 'minute')}, ` +
          `so it now comes to you. This is step ${escalation.step} of ${escalation.of} in the escalation list.`,
      ],
    });
  }
  if (report.urgent) {
    alerts.push({ kind: 'alert', content: ['Urgent: Kestrel found words that may mean a child is at immediate risk. Please act now, and acknowledge the flag in Kestrel.'] });
  }
  const recipients = report.recipients ?? [];
  return [
    ...alerts,
    { kind: 'heading', level: 1, text: `Flag ${flag.id}: ${report.categories.join(', ')}` },
    { kind: 'paragraph', content: ['Kestrel flagged this message as a possible safety concern. What was found, and where, is below.'] },
    { kind: 'button', text: `Open flag ${flag.id} in Kestrel`, href: flagUrl },
    {
      kind: 'facts',
      rows: [
        { label: 'Severity', value: [{ strong: severityOf(flag) }] },
        { label: 'Categories', value: [report.categories.join(', ')] },
        { label: 'Sender', value: [report.from ? party(report.from) : 'unknown (the message has no sender address)'] },
        { label: recipients.length === 1 ? 'Recipient' : 'Recipients', value: [recipients.length ? atMost(recipients, party, 'recipients').join('; ') : 'none named'] },
        { label: 'Sent', value: [report.date ? inWords(new Date(report.date), request.timeZone) : 'unknown (the message has no readable date)'] },
        { label: 'Flagged', value: [inWords(flag.createdAt, request.timeZone)] },
        { label: 'Direction', value: [DIRECTION_WORDS[report.direction]] },
      ],
    },
  ];
}

function scanBlocks(flag: StoredFlag): Block[] {
  const { problems, attachmentsNotScanned = [] } = flag.report;
  if (problems.length === 0 && attachmentsNotScanned.length === 0) {
    return [{ kind: 'paragraph', content: ['Kestrel read all of this message’s text and attachments.'] }];
  }
  return [
    { kind: 'heading', level: 2, text: 'The scan may be incomplete' },
    { kind: 'paragraph', content: ['Kestrel could not read all of this message, so it may hold more than is shown here:'] },
    {
      kind: 'list',
      items: [
        ...problems.map((p) => [p]),
        ...attachmentsNotScanned.map((a) => [`An attachment not read (${a.contentType}, ${sizeWords(a.size)}): ${a.reason}`]),
      ],
    },
  ];
}

function originalBlocks(request: CopyRequest, flagUrl: string): Block[] {
  const id = request.flag.id;
  // A message over the queue's size cap travelled without its large attachments (connect/oversize.ts).
  const leftOut = (request.flag.report.attachmentsNotScanned ?? []).filter((a) => a.reason === QUEUE_SIZE_CAP_REASON);
  const full =
    leftOut.length === 0
      ? `The original message is attached unchanged as flag-${id}.eml, exactly as it was found in the mailbox. Open it with care: it shows the message as it was written, links and pictures included.`
      : `The original message is attached as flag-${id}.eml as Kestrel fetched it: it was over the size limit for scanning, so ${plural(leftOut.length, 'large attachment')} (${sizeWords(leftOut.reduce((sum, a) => sum + a.size, 0))}) ${leftOut.length === 1 ? 'was' : 'were'} left out. The whole message is still in the mailboxes listed above. Open it with care: it shows the message as it was written, links and pictures included.`;
  const content: Inline[] =
    request.form === 'full'
      ? [full]
      : [
          request.originalReleased
            ? 'The original message is not attached: Kestrel keeps it only until every copy has gone, and this copy is being sent again after it bounced. To read the whole message, '
            : 'The original message is not attached. This route sends a minimised copy, with only what is needed to judge the concern, so that no more personal data is copied than necessary (proportionality). To read the whole message, ',
          { link: `open flag ${id} in Kestrel`, href: flagUrl },
          '.',
        ];
  return [{ kind: 'heading', level: 2, text: 'The original message' }, { kind: 'paragraph', content }];
}

function copyDocument(request: CopyRequest): MailDocument {
  const { flag } = request;
  const flagUrl = checkedUrl(request.flagUrl, `composeCopy: flag ${flag.id}: flagUrl`);
  const occurrences = flag.occurrences;
  return {
    title: `Kestrel flag ${flag.id}`,
    blocks: [
      ...topBlocks(request, flagUrl),
      { kind: 'heading', level: 2, text: 'What was found' },
      { kind: 'paragraph', content: ['Matched words are ', { marked: 'highlighted in bold' }, ' in each excerpt.'] },
      ...flag.report.findings.flatMap(findingBlocks),
      { kind: 'heading', level: 2, text: `Seen in ${plural(occurrences.length, 'mailbox', 'mailboxes')}` },
      { kind: 'list', items: atMost(occurrences, (o) => `${o.account}, folder ${o.folder}, first seen ${inWords(o.seenAt, request.timeZone)}`, 'mailboxes').map((line) => [line]) },
      ...scanBlocks(flag),
      ...originalBlocks(request, flagUrl),
      { kind: 'heading', level: 2, text: 'Why you have this' },
      {
        kind: 'paragraph',
        content: [
          `Sent automatically by Kestrel for ${request.trustName} (${request.routes.join(', ')}), under clause 7.2.1 of the Trust’s email and internet policy: ` +
            'e-safety monitors receive a copy of any email flagged as a potential safety concern. ' +
            'It holds personal data about pupils or staff: keep it to the people handling this concern and do not forward it.',
        ],
      },
    ],
  };
}

/**
 * RFC 2046 5.2.1 allows only 7bit, 8bit or binary for message/rfc822. 7bit carries the original
 * unchanged when it is ASCII with CRLF lines of at most 998 octets; anything else (bare LF,
 * 8-bit bytes, long lines) would be altered by relays and clients in transit, so it goes as
 * base64, the only encoding that keeps arbitrary bytes identical. That is a deliberate deviation
 * from 5.2.1; mailparser, Thunderbird, Outlook and Gmail decode it.
 */
function fitsSevenBit(bytes: Buffer): boolean {
  let lineLength = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x0d) {
      if (bytes[i + 1] !== 0x0a) return false;
      lineLength = 0;
      i++;
    } else if (byte === 0x0a || byte === 0 || byte > 0x7f || ++lineLength > 998) {
      return false;
    }
  }
  return true;
}

function kestrelFields(request: KestrelHeaders, fields: Record<string, string>): Record<string, string | { prepared: true; value: string }> {
  // The signed loop-guard value goes out verbatim (no folding or encoding), so connectors can verify it.
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(request.copyHeader)) throw new Error(`${KESTREL_COPY_HEADER} value for ${request.messageId} is not printable ASCII`);
  return {
    [KESTREL_COPY_HEADER]: { prepared: true, value: request.copyHeader },
    ...fields,
    'Auto-Submitted': 'auto-generated',
    'X-Auto-Response-Suppress': 'All',
  };
}

type Envelope = KestrelHeaders & { from: string; to: string; date?: Date };
type Attachment = NonNullable<ConstructorParameters<typeof MailComposer>[0]>['attachments'];

function build(envelope: Envelope, subject: string, doc: MailDocument, fields: Record<string, string>, attachments?: Attachment): Promise<Buffer> {
  return new MailComposer({
    from: envelope.from,
    to: envelope.to,
    subject,
    messageId: envelope.messageId,
    date: envelope.date ?? new Date(),
    headers: kestrelFields(envelope, fields),
    text: renderText(doc),
    html: renderHtml(doc),
    ...(attachments ? { attachments } : {}),
    // Content is given in full: nodemailer must never read a path or fetch a URL for it.
    disableFileAccess: true,
    disableUrlAccess: true,
  })
    .compile()
    .build();
}

export async function composeCopy(request: CopyRequest): Promise<Buffer> {
  const { flag } = request;
  if (request.form === 'full' && !request.original) throw new Error(`composeCopy: flag ${flag.id}: a full copy needs the original message`);
  const fields = {
    'X-Kestrel-Flag': String(flag.id),
    'X-Kestrel-Rules': [...new Set(flag.report.findings.map((f) => headerToken(f.rule)))].filter((r) => r !== '').join(', '),
    'X-Kestrel-Categories': flag.report.categories.map(headerToken).join(', '),
    'X-Kestrel-Severity': severityOf(flag),
  };
  const original = request.form === 'full' ? request.original : undefined;
  const attachments: Attachment = original && [
    {
      filename: `flag-${flag.id}.eml`,
      contentType: 'message/rfc822',
      contentDisposition: 'attachment',
      contentTransferEncoding: fitsSevenBit(original) ? '7bit' : 'base64',
      content: original,
    },
  ];
  return build(request, copySubject(flag, request.escalation), copyDocument(request), fields, attachments);
}

export async function composeDigest(request: DigestRequest): Promise<Buffer> {
  return build(request, digestSubject(request), digestDocument(request), digestHeaders(request));
}

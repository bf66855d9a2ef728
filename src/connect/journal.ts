/**
 * Journal reports (Exchange / Microsoft 365 envelope journaling, MS-XJRNL): a report carries a
 * text part listing the real envelope (sender, and every recipient including Bcc and expanded
 * groups) and the original message attached unaltered as message/rfc822. Kestrel scans the
 * original, byte for byte, with the envelope beside it.
 *
 * Envelope lines: `Sender:`, `Subject:`, `Message-Id:`, `On-Behalf-Of:`, then one line per
 * recipient, `To:|Cc:|Bcc:|Recipient: address` optionally followed by
 * `, Expanded: group` or `, Forwarded: address` naming where the categorizer redirected from.
 */
import type { JournalEnvelope } from './types.js';
import { fieldValue } from '../scan/parse/mime-header.js';
import { decodeText, decodeTransfer, readEntity, splitMultipart, type MimePart } from './mime-parts.js';

export const JOURNAL_REPORT_HEADER = 'X-MS-Journal-Report';

export interface UnwrappedJournal {
  /** The attached original, exactly as in the report. */
  original: Buffer;
  envelope: JournalEnvelope;
}

const RECIPIENT_FIELDS = new Set(['to', 'cc', 'bcc', 'recipient']);
const REDIRECTIONS = new Set(['expanded', 'forwarded']);

/**
 * The envelope in a journal report's text part, or null when the text is not one. Recipients are
 * the addresses the message was delivered to, then those it was redirected from (a group a pupil
 * was reached through matters to a safeguarding lead too), lower-cased, each once.
 */
export function parseJournalEnvelope(text: string): JournalEnvelope | null {
  let sender: string | undefined;
  let messageId = false;
  const delivered: string[] = [];
  const redirectedFrom: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Za-z-]+):[ \t]*(.*)$/.exec(line.trim());
    if (!match) continue;
    const field = match[1]!.toLowerCase();
    const value = match[2]!;
    if (field === 'sender') sender ??= addressIn(value);
    else if (field === 'message-id') messageId = value.trim() !== '';
    else if (RECIPIENT_FIELDS.has(field)) {
      const [first = '', ...rest] = value.split(',');
      const address = addressIn(first);
      if (address) delivered.push(address);
      for (const item of rest) {
        const redirect = /^\s*([A-Za-z-]+):\s*(.*)$/.exec(item);
        const from = redirect && REDIRECTIONS.has(redirect[1]!.toLowerCase()) ? addressIn(redirect[2]!) : undefined;
        if (from) redirectedFrom.push(from);
      }
    }
  }
  if (sender === undefined || !messageId || delivered.length === 0) return null;
  return { sender, recipients: [...new Set([...delivered, ...redirectedFrom])] };
}

function addressIn(text: string): string | undefined {
  const bracketed = /<([^<>\s]+@[^<>\s]+)>/.exec(text);
  const bare = bracketed ? bracketed[1] : /[^\s<>"',;]+@[^\s<>"',;]+/.exec(text)?.[0];
  return bare?.toLowerCase();
}

/**
 * The original and its envelope, or null when `raw` is not a journal report. A report is a
 * multipart message with an attached message/rfc822 and either the `X-MS-Journal-Report` header
 * or a text part shaped like an envelope (other journaling gateways copy the format).
 */
export function unwrapJournalReport(raw: Buffer): UnwrappedJournal | null {
  const report = readEntity(raw);
  const boundary = report.contentType.params.boundary;
  if (!report.contentType.type.startsWith('multipart/') || !boundary) return null;
  const parts = splitMultipart(report.body, boundary);
  const attached = parts.find((part) => part.contentType.type === 'message/rfc822');
  if (!attached) return null;
  const envelope = findEnvelope(parts);
  const marked = report.fields.some((f) => f.name === JOURNAL_REPORT_HEADER.toLowerCase());
  if (!envelope && !marked) return null;
  return { original: decodeTransfer(attached.body, fieldValue(attached.fields, 'content-transfer-encoding')), envelope: envelope ?? { recipients: [] } };
}

function findEnvelope(parts: MimePart[]): JournalEnvelope | null {
  for (const part of parts) {
    if (part.contentType.type !== 'text/plain') continue;
    const envelope = parseJournalEnvelope(decodeText(part));
    if (envelope) return envelope;
  }
  return null;
}

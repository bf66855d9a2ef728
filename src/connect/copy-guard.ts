/**
 * Loop prevention: the e-safety monitor's copies of flagged mail must not be flagged again when a
 * connector watches the monitor's mailbox (or a journal records the copy). The copier signs each
 * copy with an HMAC over the flag id and the copy's Message-ID; a header without a valid signature
 * is ignored, so nobody can make mail skip scanning by adding the header themselves. The same
 * signature recognises a copy coming back inside a bounce, which fails its delivery.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fieldValue, normaliseMessageId, parseContentType, parseHeader, splitEntity } from '../scan/parse/mime-header.js';

export const KESTREL_COPY_HEADER = 'X-Kestrel-Copy';

const VALUE = /^v1;\s*flag=([A-Za-z0-9_-]{1,64});\s*sig=([A-Za-z0-9_-]{43})$/;

function signature(flagId: string, messageId: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(`kestrel-copy\n${flagId}\n${messageId}`).digest();
}

/** The header value for a copy of flag `flagId` sent with Message-ID `messageId`. */
export function kestrelCopyHeaderValue(flagId: number | string, messageId: string, secret: Buffer): string {
  const id = normaliseMessageId(messageId);
  if (id === undefined) throw new Error('kestrelCopyHeaderValue: the copy needs a Message-ID');
  return `v1; flag=${flagId}; sig=${signature(String(flagId), id, secret).toString('base64url')}`;
}

/** True when `value` is a valid signature for a message with this Message-ID. */
export function verifyKestrelCopyHeader(value: string, messageId: string | undefined, secret: Buffer): boolean {
  const id = normaliseMessageId(messageId);
  const match = VALUE.exec(value.trim());
  if (!match || id === undefined) return false;
  const expected = signature(match[1]!, id, secret);
  const given = Buffer.from(match[2]!, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export type CopyCheck = { kind: 'verified'; messageId: string } | { kind: 'forged' } | { kind: 'none' };

/** What connectors need to recognise Kestrel's copies, and to report one arriving. */
export interface CopyGuard {
  secret: Buffer;
  /** A verified copy is in a watched mailbox: its delivery is confirmed (see copy/copier.ts). */
  seen?(messageId: string): Promise<void>;
  /** A bounce of a copy arrived (in the mailbox of delivery.from): a permanent one fails its delivery. */
  bounced?(bounce: CopyBounce): Promise<void>;
}

/** Whether a raw message is one of Kestrel's own signed copies; `forged` when it carries the header without a valid signature. */
export function checkKestrelCopy(raw: Buffer, secret: Buffer): CopyCheck {
  const fields = parseHeader(splitEntity(raw).header);
  const values = fields.filter((f) => f.name === KESTREL_COPY_HEADER.toLowerCase()).map((f) => f.value);
  if (values.length === 0) return { kind: 'none' };
  const messageId = fieldValue(fields, 'message-id');
  // Two copy headers is not something the copier writes: treat it as forged.
  if (values.length === 1 && messageId !== undefined && verifyKestrelCopyHeader(values[0]!, messageId, secret)) return { kind: 'verified', messageId: normaliseMessageId(messageId)! };
  return { kind: 'forged' };
}

/** Past these, a block or a message is not one Kestrel wrote or a relay returned: not looked at. */
const MAX_HEADER_BLOCK = 64 * 1024;
const MAX_NESTED_CANDIDATES = 16;

/**
 * The Message-ID of a signed Kestrel copy carried in the body of a message: a bounce returning it,
 * or a copy forwarded as an attachment. Undefined when there is none (a copy's own header is not
 * in its body). Linear in the message: each header block is read once, and only a few.
 */
export function nestedKestrelCopy(raw: Buffer, secret: Buffer): string | undefined {
  const text = raw.toString('latin1');
  const nested = /^X-Kestrel-Copy:/gim;
  const blankLine = /\r?\n\r?\n/g;
  nested.lastIndex = splitEntity(raw).bodyStart;
  let checkedUpTo = 0;
  for (let candidates = 0; candidates < MAX_NESTED_CANDIDATES; candidates++) {
    const found = nested.exec(text);
    if (!found) return undefined;
    if (found.index < checkedUpTo) continue;
    // The header block the field belongs to: from the blank line before it to the one after.
    const start = Math.max(text.lastIndexOf('\n\n', found.index), text.lastIndexOf('\n\r\n', found.index), found.index - MAX_HEADER_BLOCK);
    blankLine.lastIndex = found.index;
    const end = blankLine.exec(text)?.index ?? text.length;
    checkedUpTo = end;
    nested.lastIndex = end;
    if (end - start > MAX_HEADER_BLOCK) continue;
    const block = text.slice(start + 1, end).replace(/^[\r\n]+/, '');
    const check = checkKestrelCopy(Buffer.from(`${block}\r\n\r\n`, 'latin1'), secret);
    if (check.kind === 'verified') return check.messageId;
  }
  return undefined;
}

/** A delivery status notification (RFC 3464) saying one of Kestrel's copies could not be delivered. */
export interface CopyBounce {
  /** The bounced copy's Message-ID. */
  messageId: string;
  /** The address the report says failed (Final-Recipient), lower case. */
  recipient: string;
  /** `5.2.2`: always permanent (5.x.x); delay notices and successes are not bounces. */
  status: string;
  /** The remote server's words, addresses replaced. */
  diagnostic?: string;
}

const ADDRESS = /[^\s<>"'@]+@[^\s<>"'@]+/g;

/** The direct parts of a multipart body, each as its raw entity (header and body); at most a few. */
function directParts(raw: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`\n--${boundary}`, 'latin1');
  const parts: Buffer[] = [];
  let at = raw.indexOf(delimiter, splitEntity(raw).bodyStart - 1);
  while (at >= 0 && parts.length < 8) {
    const lineEnd = raw.indexOf(0x0a, at + delimiter.length);
    if (lineEnd < 0 || raw.subarray(at + delimiter.length, at + delimiter.length + 2).toString('latin1') === '--') break;
    const next = raw.indexOf(delimiter, lineEnd);
    const end = next < 0 ? raw.length : raw[next - 1] === 0x0d ? next - 1 : next;
    parts.push(raw.subarray(lineEnd + 1, end));
    at = next;
  }
  return parts;
}

function partType(part: Buffer): string {
  return parseContentType(fieldValue(parseHeader(splitEntity(part).header), 'content-type')).type;
}

/**
 * A bounce of one of Kestrel's copies: a multipart/report of type delivery-status whose status part
 * says the delivery failed for good (Action: failed, Status: 5.x.x) and whose returned part
 * (message/rfc822 or text/rfc822-headers) has the copy's signed header as its own header.
 * Anything else (a delay notice, a read receipt, a forward of a copy) is undefined.
 */
export function kestrelCopyBounce(raw: Buffer, secret: Buffer): CopyBounce | undefined {
  const { header } = splitEntity(raw);
  if (header.length > MAX_HEADER_BLOCK) return undefined;
  const contentType = parseContentType(fieldValue(parseHeader(header), 'content-type'));
  if (contentType.type !== 'multipart/report' || contentType.params['report-type']?.toLowerCase() !== 'delivery-status' || !contentType.params['boundary']) return undefined;
  const parts = directParts(raw, contentType.params['boundary']);
  const statusPart = parts.find((p) => partType(p) === 'message/delivery-status');
  const returned = parts.find((p) => ['message/rfc822', 'text/rfc822-headers', 'message/global', 'message/global-headers'].includes(partType(p)));
  if (!statusPart || !returned) return undefined;
  // The returned message (or its header block) is the part's body: its own header must be the copy's.
  const copy = checkKestrelCopy(returned.subarray(splitEntity(returned).bodyStart), secret);
  if (copy.kind !== 'verified') return undefined;
  // The per-recipient fields follow the per-message ones (RFC 3464 2.1): one recipient per copy.
  const fields = parseHeader(statusPart.subarray(splitEntity(statusPart).bodyStart).toString('latin1').replace(/\r?\n\r?\n/g, '\r\n'));
  const action = fieldValue(fields, 'action')?.trim().toLowerCase();
  const status = /^5\.\d{1,3}\.\d{1,3}/.exec(fieldValue(fields, 'status')?.trim() ?? '')?.[0];
  const recipient = /;\s*<?([^\s<>;]+@[^\s<>;]+)>?/.exec(fieldValue(fields, 'final-recipient') ?? '')?.[1]?.toLowerCase();
  if (action !== 'failed' || !status || !recipient) return undefined;
  const diagnostic = fieldValue(fields, 'diagnostic-code')?.replace(/^[\w-]+;\s*/, '').replace(ADDRESS, '<address>').trim().slice(0, 300);
  return { messageId: copy.messageId, recipient, status, ...(diagnostic ? { diagnostic } : {}) };
}

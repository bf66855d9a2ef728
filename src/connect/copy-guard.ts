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

const NESTED_COPY_HEADER = /^X-Kestrel-Copy:/gim;
const BLANK_LINE = /\r?\n\r?\n/g;

/**
 * The Message-ID of a signed Kestrel copy carried in the body of a message: a bounce returning it
 * (message/rfc822 or text/rfc822-headers), or a copy forwarded as an attachment. Undefined when
 * there is none (a copy's own header is not in its body).
 */
export function nestedKestrelCopy(raw: Buffer, secret: Buffer): string | undefined {
  const text = raw.toString('latin1');
  const bodyStart = splitEntity(raw).bodyStart;
  for (const found of text.slice(bodyStart).matchAll(NESTED_COPY_HEADER)) {
    const at = bodyStart + found.index;
    // The header block the field belongs to: from the blank line before it to the one after.
    const start = Math.max(text.lastIndexOf('\n\n', at), text.lastIndexOf('\n\r\n', at));
    BLANK_LINE.lastIndex = at;
    const end = BLANK_LINE.exec(text)?.index ?? text.length;
    const block = text.slice(start + 1, end).replace(/^[\r\n]+/, '');
    const check = checkKestrelCopy(Buffer.from(`${block}\r\n\r\n`, 'latin1'), secret);
    if (check.kind === 'verified') return check.messageId;
  }
  return undefined;
}

/** A delivery status notification (RFC 3464) about one of Kestrel's copies. */
export interface CopyBounce {
  /** The bounced copy's Message-ID. */
  messageId: string;
  /** `5.2.2`: permanent (5) or a delay notice (4); undefined when the report gives none. */
  status?: string;
  /** The remote server's words, addresses replaced. */
  diagnostic?: string;
}

const STATUS_FIELD = /^Status:[ \t]*([245]\.\d{1,3}\.\d{1,3})/im;
const DIAGNOSTIC_FIELD = /^Diagnostic-Code:[ \t]*(?:[\w-]+;[ \t]*)?([^\r\n]{1,300})/im;
const ADDRESS = /[^\s<>"'@]+@[^\s<>"'@]+/g;

/** A bounce report (multipart/report) returning one of Kestrel's signed copies; undefined for anything else. */
export function kestrelCopyBounce(raw: Buffer, secret: Buffer): CopyBounce | undefined {
  const contentType = parseContentType(fieldValue(parseHeader(splitEntity(raw).header), 'content-type'));
  if (contentType.type !== 'multipart/report') return undefined;
  const messageId = nestedKestrelCopy(raw, secret);
  if (messageId === undefined) return undefined;
  const text = raw.toString('latin1');
  const status = STATUS_FIELD.exec(text)?.[1];
  const diagnostic = DIAGNOSTIC_FIELD.exec(text)?.[1]?.replace(ADDRESS, '<address>').trim();
  return { messageId, ...(status ? { status } : {}), ...(diagnostic ? { diagnostic } : {}) };
}

/**
 * Loop prevention: the e-safety monitor's copies of flagged mail must not be flagged again when a
 * connector watches the monitor's mailbox (or a journal records the copy). The copier signs each
 * copy with an HMAC over the flag id and the copy's Message-ID; a header without a valid signature
 * is ignored, so nobody can make mail skip scanning by adding the header themselves.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fieldValue, normaliseMessageId, parseHeader, splitEntity } from '../scan/parse/mime-header.js';

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
 * Whether the body of a message carries one of Kestrel's own copies, signed: a bounce returning
 * it (message/rfc822 or text/rfc822-headers), or a copy forwarded as an attachment. Such a
 * message is scanned and recorded like any other, but sends no copy of its own: a bounce from a
 * full mailbox would otherwise make a copy that bounces again, for ever.
 */
export function carriesKestrelCopy(raw: Buffer, secret: Buffer): boolean {
  const text = raw.toString('latin1');
  const bodyStart = splitEntity(raw).bodyStart;
  for (const found of text.slice(bodyStart).matchAll(NESTED_COPY_HEADER)) {
    const at = bodyStart + found.index;
    // The header block the field belongs to: from the blank line before it to the one after.
    const start = Math.max(text.lastIndexOf('\n\n', at), text.lastIndexOf('\n\r\n', at));
    BLANK_LINE.lastIndex = at;
    const end = BLANK_LINE.exec(text)?.index ?? text.length;
    const block = text.slice(start + 1, end).replace(/^[\r\n]+/, '');
    if (checkKestrelCopy(Buffer.from(`${block}\r\n\r\n`, 'latin1'), secret).kind === 'verified') return true;
  }
  return false;
}

import PostalMime, { decodeWords } from 'postal-mime';
import type { Address, Attachment, Email, PostalMimeOptions } from 'postal-mime';
import type { AttachmentInfo, TextField } from '../types.js';
import { findExtractor, type ExtractResult, type ExtractedText } from './attachments.js';
import { decodeText, printable, resolveCharset } from './charset.js';
import { installFastBlob } from './fast-blob.js';
import { formatBytes, formatCount, sliceChars } from './format.js';
import { htmlToText } from './html-to-text.js';
import { inspectAttachment } from './risk.js';
import { scanMime, type MimeScan, type ScannedPart } from './mime-scan.js';
import { clipRanges, findQuotedRanges, mergeRanges, shiftRanges, type TextRange } from './quotes.js';
import { installWindows1252Decoder } from './windows-1252.js';

// Every thread that parses mail gets the faster Blob postal-mime needs (fast-blob.ts says why), and
// a windows-1252 decoder that decodes curly quotes on the Node versions that do not (windows-1252.ts).
installFastBlob();
installWindows1252Decoder();

export interface ParseLimits {
  /** Longest text field kept for scanning, in UTF-16 code units. */
  maxTextChars: number;
  /** Longest HTML body converted to text. */
  maxHtmlChars: number;
  /** Attachments larger than this are listed but not extracted. */
  maxAttachmentBytes: number;
  /** Attachments after this many are listed but not extracted. */
  maxAttachments: number;
  /** How many levels of attached messages (message/rfc822) are opened. */
  maxDepth: number;
}

export interface ParsedAddress {
  address: string;
  name?: string;
}

export interface ParsedMail {
  messageId?: string;
  /** ISO 8601 when parseable, else the raw header. */
  date?: string;
  subject: string;
  from?: ParsedAddress;
  sender?: ParsedAddress;
  to: ParsedAddress[];
  cc: ParsedAddress[];
  bcc: ParsedAddress[];
  replyTo: ParsedAddress[];
  /** Lower-case names, every occurrence in order, encoded words decoded. */
  headers: Record<string, string[]>;
  /** `subject` first, then `body`, an optional `html`, then `attachment:<n>` fields. */
  texts: TextField[];
  attachments: AttachmentInfo[];
  problems: string[];
  rawBytes: number;
}

/**
 * message/rfc822 parts always become attachments so that we, not postal-mime, open them:
 * postal-mime would inline them into the body and, past its own depth limit, silently keep
 * their content out of the text. The MIME nesting limit is postal-mime's default, made explicit.
 */
const POSTAL_MIME_OPTIONS: PostalMimeOptions = {
  attachmentEncoding: 'arraybuffer',
  forceRfc822Attachments: true,
  maxRfc822NestingDepth: 0,
  maxNestingDepth: 256,
};

/** How much of a header-less buffer is checked for NUL bytes before treating it as text. */
const BINARY_SNIFF_BYTES = 8192;

export function parseMail(raw: Buffer, limits: ParseLimits): Promise<ParsedMail> {
  return parseAtDepth(raw, limits, 0);
}

async function parseAtDepth(raw: Buffer, limits: ParseLimits, depth: number): Promise<ParsedMail> {
  const problems: string[] = [];
  const bytes = stripMboxFromLine(raw);
  // Checked before postal-mime, which would read a header-less file as one huge header
  // (throwing past 2 MiB) and hide its first paragraph in `headers`.
  if (!startsWithHeader(bytes)) return headerless(raw.byteLength, bytes, limits);

  const first = await parseOnce(bytes);
  // Headers always come from the message as sent, even if the body is re-read below.
  const head = first.email;
  let { email, scan } = first;
  let rawBody: string | undefined;

  // Our scan can misread an exotic header (RFC 2231 boundary*0=...), so only act when
  // postal-mime really came back empty-handed.
  const gotNothing = email.text === undefined && email.html === undefined && email.attachments.length === 0;
  const emptyRoot = gotNothing ? scan.empty.find((m) => m.isRoot) : undefined;
  if (emptyRoot) {
    const recovered = await recoverRootBoundary(bytes, scan, emptyRoot.contentType, emptyRoot.boundary);
    if (recovered) {
      ({ email, scan } = recovered);
      problems.push(
        `${emptyRoot.contentType} boundary ${quoteOrNone(emptyRoot.boundary)} never appears; ` +
          `re-read with boundary "${printable(recovered.boundary)}" found in the body`,
      );
    } else {
      rawBody = decodeText(bytes.subarray(scan.rootBodyStart), undefined).text;
      problems.push(`${emptyRoot.contentType} has no readable parts; its raw body is scanned as text`);
    }
  }
  problems.push(...structureProblems(scan));

  const cut = (field: string, text: string): string => cutText(field, text, limits, problems);

  const texts: TextField[] = [];
  const subject = head.subject ?? '';
  texts.push({ field: 'subject', text: cut('subject', subject), quoted: [] });

  const convertHtml = (field: string, html: string): { text: string; quoted: TextRange[] } => {
    let source = html;
    if (source.length > limits.maxHtmlChars) {
      problems.push(`${field}: HTML cut to ${formatCount(limits.maxHtmlChars)} characters before conversion`);
      source = source.slice(0, limits.maxHtmlChars);
    }
    const converted = htmlToText(source, limits.maxTextChars);
    if (converted.truncated && source.length === html.length) {
      problems.push(`${field}: text cut to ${formatCount(limits.maxTextChars)} characters for scanning`);
    }
    const quoted = mergeRanges([...converted.quoted, ...findQuotedRanges(converted.text)], converted.text);
    return { text: converted.text, quoted };
  };

  if (rawBody !== undefined || email.text !== undefined) {
    const body = cut('body', normaliseNewlines(rawBody ?? email.text ?? ''));
    texts.push({ field: 'body', text: body, quoted: findQuotedRanges(body) });
    if (rawBody === undefined && email.html !== undefined) {
      const fromHtml = convertHtml('html', email.html);
      // Plain and HTML alternatives usually say the same; only keep HTML that says more.
      if (fromHtml.text.length > body.length * 1.5) texts.push({ field: 'html', ...fromHtml });
    }
  } else if (email.html !== undefined) {
    texts.push({ field: 'body', ...convertHtml('body', email.html) });
  } else {
    texts.push({ field: 'body', text: '', quoted: [] });
  }
  for (const field of texts) {
    if (field.field !== 'subject' && field.text.includes('\ufffd')) {
      problems.push(`${field.field}: contains bytes that did not decode in the declared charset`);
    }
  }

  const charsets = attachmentCharsets(scan, email.attachments);
  if (!charsets && email.attachments.length > 0) {
    problems.push('attachment charsets unknown (MIME structure did not line up); decoded as UTF-8');
  }

  const attachments: AttachmentInfo[] = [];
  for (const [index, attachment] of email.attachments.entries()) {
    const field = `attachment:${index}`;
    const content = contentBytes(attachment);
    const info: AttachmentInfo = { contentType: attachment.mimeType, size: content.byteLength };
    if (attachment.filename) info.filename = attachment.filename;
    attachments.push(info);
    // Before the extraction limits: a large or unextractable attachment can still be a program.
    const inspected = await inspectAttachment(content);
    if (inspected.risk) info.risk = inspected.risk;
    problems.push(...inspected.problems.map((p) => `${field}: ${p}`));

    const extractor = findExtractor(attachment.mimeType, attachment.filename ?? undefined);
    if (index >= limits.maxAttachments) {
      info.skipped = `more than ${formatCount(limits.maxAttachments)} attachments; not extracted`;
      continue;
    }
    if (content.byteLength > limits.maxAttachmentBytes) {
      info.skipped = `larger than the ${formatBytes(limits.maxAttachmentBytes)} text-extraction limit`;
      continue;
    }
    if (!extractor) {
      info.skipped = `no text extractor for ${attachment.mimeType}`;
      continue;
    }

    const charset = charsets?.[index];
    const result = await extractor.extract(
      {
        bytes: content,
        contentType: attachment.mimeType,
        ...(charset !== undefined && { charset }),
        ...(attachment.filename && { filename: attachment.filename }),
      },
      {
        maxTextChars: limits.maxTextChars,
        parseMessage: (inner) => parseAttachedMessage(inner, limits, depth),
      },
    );
    problems.push(...result.problems.map((p) => `${field}: ${p}`));
    if ('skipped' in result) {
      info.skipped = result.skipped;
      continue;
    }

    const text = cut(field, normaliseNewlines(result.text));
    const textField: TextField = { field, text, quoted: clipRanges(result.quoted, text.length) };
    const label = result.label ?? attachment.filename ?? undefined;
    if (label) textField.label = label;
    texts.push(textField);
    info.textField = field;
  }

  const from = head.from ? addressList([head.from])[0] : undefined;
  const sender = head.sender ? addressList([head.sender])[0] : undefined;
  const parsed: ParsedMail = {
    ...(head.messageId && { messageId: head.messageId }),
    ...(head.date && { date: head.date }),
    subject,
    ...(from && { from }),
    ...(sender && { sender }),
    to: addressList(head.to),
    cc: addressList(head.cc),
    bcc: addressList(head.bcc),
    replyTo: addressList(head.replyTo),
    headers: headerRecord(head),
    texts,
    attachments,
    problems,
    rawBytes: raw.byteLength,
  };
  return parsed;
}

/** Not mail: kept as plain text (unless binary) so a misrouted file is still scanned. */
function headerless(rawBytes: number, bytes: Buffer, limits: ParseLimits): ParsedMail {
  const problems = ['no headers found'];
  const text = looksLikeText(bytes) ? normaliseNewlines(decodeText(bytes, undefined).text) : '';
  const body = cutText('body', text, limits, problems);
  return {
    subject: '',
    to: [],
    cc: [],
    bcc: [],
    replyTo: [],
    headers: Object.create(null) as Record<string, string[]>,
    texts: [
      { field: 'subject', text: '', quoted: [] },
      { field: 'body', text: body, quoted: findQuotedRanges(body) },
    ],
    attachments: [],
    problems,
    rawBytes,
  };
}

function cutText(field: string, text: string, limits: ParseLimits, problems: string[]): string {
  if (text.length <= limits.maxTextChars) return text;
  problems.push(`${field}: text cut to ${formatCount(limits.maxTextChars)} characters for scanning`);
  return sliceChars(text, limits.maxTextChars);
}

async function parseOnce(bytes: Buffer): Promise<{ email: Email; scan: MimeScan }> {
  let email: Email;
  try {
    email = await PostalMime.parse(bytes, POSTAL_MIME_OPTIONS);
  } catch (err) {
    throw new Error(`postal-mime could not parse the message: ${errorMessage(err)}`, { cause: err });
  }
  return { email, scan: scanMime(bytes) };
}

/**
 * postal-mime returns nothing for a multipart whose declared boundary never appears (or
 * that declares none). If the body has `--token` lines, re-read it with that boundary by
 * putting a corrected Content-Type first: postal-mime uses the first Content-Type it sees.
 */
async function recoverRootBoundary(
  bytes: Buffer,
  scan: MimeScan,
  contentType: string,
  declared: string | undefined,
): Promise<{ email: Email; scan: MimeScan; boundary: string } | undefined> {
  const boundary = scan.rootBoundaryCandidate;
  if (boundary === undefined || boundary === declared) return undefined;
  const patched = Buffer.concat([
    Buffer.from(`Content-Type: ${contentType}; boundary="${boundary}"\r\n`, 'latin1'),
    bytes,
  ]);
  const second = await parseOnce(patched);
  if (second.scan.empty.some((m) => m.isRoot)) return undefined;
  return { ...second, boundary };
}

function structureProblems(scan: MimeScan): string[] {
  const problems: string[] = [];
  for (const m of scan.unterminated) {
    problems.push(
      `truncated MIME: ${m.contentType} (boundary ${quoteOrNone(m.boundary)}) has no closing boundary`,
    );
  }
  for (const m of scan.empty) {
    if (m.isRoot) continue;
    problems.push(`${m.contentType} part (boundary ${quoteOrNone(m.boundary)}) has no parts; its content is not scanned`);
  }
  const seen = new Set<string>();
  for (const part of scan.leaves) {
    if (!isInlineText(part) || part.charset === undefined || seen.has(part.charset)) continue;
    seen.add(part.charset);
    if (resolveCharset(part.charset) === null) {
      problems.push(
        `unknown charset "${printable(part.charset)}" in a ${part.contentType} part; decoded as windows-1252`,
      );
    }
  }
  return problems;
}

/** postal-mime's rule for parts that become body text rather than attachments. */
function isInlineText(part: ScannedPart): boolean {
  return part.disposition !== 'attachment' && (part.contentType === 'text/plain' || part.contentType === 'text/html');
}

/**
 * postal-mime's Attachment has no charset, so take it from our own scan of the same parts.
 * Both list non-text leaves in document order; if they disagree, charsets are not guessed.
 */
function attachmentCharsets(scan: MimeScan, attachments: readonly Attachment[]): Array<string | undefined> | undefined {
  const parts = scan.leaves.filter((p) => !isInlineText(p));
  if (parts.length !== attachments.length) return undefined;
  const charsets: Array<string | undefined> = [];
  for (const [i, part] of parts.entries()) {
    if (part.contentType !== attachments[i]?.mimeType) return undefined;
    charsets.push(part.charset);
  }
  return charsets;
}

async function parseAttachedMessage(bytes: Uint8Array, limits: ParseLimits, depth: number): Promise<ExtractResult> {
  if (depth + 1 > limits.maxDepth) {
    const skipped = `attached message nested more than ${limits.maxDepth} levels deep; not opened`;
    return { skipped, problems: [skipped] };
  }
  let inner: ParsedMail;
  try {
    inner = await parseAtDepth(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), limits, depth + 1);
  } catch (err) {
    const skipped = `attached message could not be parsed: ${errorMessage(err)}`;
    return { skipped, problems: [skipped] };
  }
  return flattenMessage(inner);
}

/** An attached message as one text: its fields in order, blank-line separated. */
function flattenMessage(inner: ParsedMail): ExtractedText {
  const parts: string[] = [];
  const quoted: TextRange[] = [];
  let length = 0;
  for (const field of inner.texts) {
    if (field.text === '') continue;
    if (length > 0) {
      const separator = parts[parts.length - 1]?.endsWith('\n') ? '\n' : '\n\n';
      parts.push(separator);
      length += separator.length;
    }
    quoted.push(...shiftRanges(field.quoted, length));
    parts.push(field.text);
    length += field.text.length;
  }
  const problems = inner.problems.map((p) => `in attached message: ${p}`);
  for (const a of inner.attachments) {
    // Skips that are problems in their own right (depth, parse failure) are already listed.
    if (!a.skipped || inner.problems.some((p) => p.endsWith(a.skipped ?? ''))) continue;
    problems.push(`in attached message: ${a.filename ?? a.contentType} not scanned (${a.skipped})`);
  }
  const result: ExtractedText = { text: parts.join(''), quoted, problems };
  if (inner.subject) result.label = inner.subject;
  return result;
}

function addressList(addresses: readonly Address[] | undefined): ParsedAddress[] {
  const out: ParsedAddress[] = [];
  for (const entry of addresses ?? []) {
    for (const mailbox of entry.group ?? [entry]) {
      if (!mailbox.address) continue;
      const parsed: ParsedAddress = { address: mailbox.address };
      if (mailbox.name) parsed.name = mailbox.name;
      out.push(parsed);
    }
  }
  return out;
}

/** Null prototype: header names come from the message, and `__proto__` is a valid one. */
function headerRecord(email: Email): Record<string, string[]> {
  const headers = Object.create(null) as Record<string, string[]>;
  for (const { key, value } of email.headers) {
    const list = headers[key] ?? (headers[key] = []);
    list.push(decodeWords(value));
  }
  return headers;
}

/** The first line is `name: value` with an RFC 5322 field name (ruling out text and binary). */
function startsWithHeader(bytes: Buffer): boolean {
  const head = bytes.toString('latin1', 0, Math.min(bytes.length, 1000));
  return /^[!-9;-~]+[ \t]*:/.test(head);
}

/** mbox files start each message with `From sender date`, which is not a header. */
function stripMboxFromLine(raw: Buffer): Buffer {
  if (raw.length < 5 || raw.toString('latin1', 0, 5) !== 'From ') return raw;
  const newline = raw.indexOf(0x0a);
  return newline < 0 ? raw.subarray(raw.length) : raw.subarray(newline + 1);
}

function looksLikeText(bytes: Buffer): boolean {
  return bytes.subarray(0, BINARY_SNIFF_BYTES).indexOf(0) < 0;
}

function contentBytes(attachment: Attachment): Uint8Array {
  const { content } = attachment;
  if (typeof content === 'string') return new TextEncoder().encode(content);
  return content instanceof Uint8Array ? content : new Uint8Array(content);
}

function normaliseNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function quoteOrNone(boundary: string | undefined): string {
  return boundary === undefined ? '(none declared)' : `"${printable(boundary)}"`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

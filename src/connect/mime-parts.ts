/**
 * Splitting a multipart body into its parts, byte for byte (a journal report's attached original
 * must reach the scanner exactly as the sender's server stored it), and undoing a part's
 * Content-Transfer-Encoding.
 */
import { fieldValue, parseContentType, parseHeader, splitEntity, type ContentType, type HeaderField } from '../scan/parse/mime-header.js';

export interface MimePart {
  fields: HeaderField[];
  contentType: ContentType;
  /** The part's body as it appears in the message, still transfer-encoded. */
  body: Buffer;
}

export interface MimeEntity {
  fields: HeaderField[];
  contentType: ContentType;
  body: Buffer;
}

export function readEntity(entity: Buffer): MimeEntity {
  const { header, bodyStart } = splitEntity(entity);
  const fields = parseHeader(header);
  return { fields, contentType: parseContentType(fieldValue(fields, 'content-type')), body: entity.subarray(bodyStart) };
}

/**
 * The parts of a multipart body (RFC 2046 5.1.1): each part runs from after one delimiter line to
 * the line break that precedes the next, which belongs to the delimiter.
 */
export function splitMultipart(body: Buffer, boundary: string): MimePart[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const parts: MimePart[] = [];
  let partStart = -1;
  let searchFrom = 0;
  for (;;) {
    const at = text.indexOf(delimiter, searchFrom);
    if (at < 0) break;
    searchFrom = at + delimiter.length;
    if (at > 0 && text[at - 1] !== '\n') continue;
    const lineEnd = text.indexOf('\n', searchFrom);
    const closing = text.startsWith('--', searchFrom);
    if (partStart >= 0) {
      let end = at;
      if (end > 0 && text[end - 1] === '\n') end--;
      if (end > 0 && text[end - 1] === '\r') end--;
      const entity = readEntity(body.subarray(partStart, Math.max(partStart, end)));
      parts.push({ fields: entity.fields, contentType: entity.contentType, body: entity.body });
    }
    if (closing || lineEnd < 0) break;
    partStart = lineEnd + 1;
  }
  return parts;
}

export function decodeTransfer(body: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

function decodeQuotedPrintable(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/[ \t]+(\r?\n)/g, '$1').replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(c & 0xff);
    }
  }
  return Buffer.from(out);
}

/** A text part as a string, in its declared charset (UTF-8 when unknown or unsupported). */
export function decodeText(part: { fields: HeaderField[]; contentType: ContentType; body: Buffer }): string {
  const bytes = decodeTransfer(part.body, fieldValue(part.fields, 'content-transfer-encoding'));
  const charset = part.contentType.params.charset ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * Just enough RFC 5322 / MIME header reading for the connector (loop guard, journal reports,
 * rebuilt oversized messages) and message keys, without a full parse of what may be a very large
 * message. Text is read as latin1, so string offsets are byte offsets.
 */
import { parseStructured } from './mime-scan.js';

export interface HeaderField {
  /** Lower case. */
  name: string;
  /** Unfolded, trimmed. */
  value: string;
}

export interface SplitEntity {
  /** The header block, without the blank line that ends it. */
  header: Buffer;
  /** Offset of the body in the entity. */
  bodyStart: number;
}

/** Splits an entity at its first empty line (CRLF or bare LF); an entity with no body is all header. */
export function splitEntity(entity: Buffer): SplitEntity {
  if (entity[0] === 0x0a) return { header: entity.subarray(0, 0), bodyStart: 1 };
  if (entity[0] === 0x0d && entity[1] === 0x0a) return { header: entity.subarray(0, 0), bodyStart: 2 };
  for (let i = 0; i < entity.length; i++) {
    if (entity[i] !== 0x0a) continue;
    if (entity[i + 1] === 0x0a) return { header: entity.subarray(0, i + 1), bodyStart: i + 2 };
    if (entity[i + 1] === 0x0d && entity[i + 2] === 0x0a) return { header: entity.subarray(0, i + 1), bodyStart: i + 3 };
  }
  return { header: entity, bodyStart: entity.length };
}

export function parseHeader(header: Buffer | string): HeaderField[] {
  const text = typeof header === 'string' ? header : header.toString('latin1');
  const fields: HeaderField[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.value = `${last.value} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return fields;
}

export function fieldValue(fields: HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

export interface ContentType {
  /** Lower case `type/subtype`; `text/plain` when absent, as RFC 2045 says. */
  type: string;
  params: Record<string, string>;
}

export function parseContentType(value: string | undefined): ContentType {
  if (!value) return { type: 'text/plain', params: {} };
  const { value: type, params } = parseStructured(value);
  return { type: type || 'text/plain', params };
}

/** The first `<...>` of a Message-ID header, or the trimmed value when it has none. */
export function normaliseMessageId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bracketed = /<[^<>\s]+>/.exec(value);
  const id = bracketed ? bracketed[0] : value.trim();
  return id === '' ? undefined : id;
}

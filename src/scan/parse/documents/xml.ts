/**
 * Streaming XML for document parts: htmlparser2 (already ours for HTML mail) in XML mode, fed in
 * chunks as they are unzipped, so a part is never held whole and reading can stop at any point.
 * Handlers see local names (`p` for `w:p`): producers other than Microsoft choose other prefixes.
 */
import { Parser } from 'htmlparser2';

export type Attributes = Record<string, string>;

export interface XmlHandler {
  open?(name: string, attributes: Attributes): void;
  close?(name: string): void;
  text?(text: string): void;
}

export interface XmlStream {
  write(chunk: string): void;
  end(): void;
}

export function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** An attribute by its local name, whatever its prefix (`r:id`, `table:name`). */
export function attribute(attributes: Attributes, name: string): string | undefined {
  const direct = attributes[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(attributes)) {
    if (localName(key) === name) return attributes[key];
  }
  return undefined;
}

/** A whole-number attribute, or `fallback` when it is absent or not a positive integer. */
export function countAttribute(attributes: Attributes, name: string, fallback: number): number {
  const value = Number(attribute(attributes, name));
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

export function xmlStream(handler: XmlHandler): XmlStream {
  const parser = new Parser(
    {
      onopentag: (name, attributes) => handler.open?.(localName(name), attributes),
      onclosetag: (name) => handler.close?.(localName(name)),
      ontext: (text) => handler.text?.(text),
    },
    { xmlMode: true, decodeEntities: true },
  );
  return { write: (chunk) => parser.write(chunk), end: () => parser.end() };
}

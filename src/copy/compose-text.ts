/**
 * What a Kestrel message says, as a small document of headings, paragraphs, facts and evidence,
 * and its plain-text part. compose-html.ts renders the same document as HTML, so both parts of a
 * message always say the same thing.
 */

/** A run of words: plain, the matched words of evidence, emphasised, or a link. */
export type Inline = string | { marked: string } | { strong: string } | { link: string; href: string };

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; content: Inline[] }
  /** What must be read first: urgency, escalation. */
  | { kind: 'alert'; content: Inline[] }
  | { kind: 'facts'; rows: Array<{ label: string; value: Inline[] }> }
  | { kind: 'list'; items: Inline[][] }
  /** A quoted excerpt of the flagged message, with a label saying where it came from. */
  | { kind: 'evidence'; label: string; excerpt: Inline[] }
  /** A data table; `nowrap` columns (times, links) are kept on one line in HTML. */
  | { kind: 'table'; columns: Array<{ title: string; nowrap?: boolean }>; rows: Inline[][][] }
  | { kind: 'button'; text: string; href: string };

export interface MailDocument {
  title: string;
  blocks: Block[];
}

const WIDTH = 72;

// Control characters could rewrite lines or hide text in a terminal or a plain client, and bidi
// overrides can make an excerpt read differently from what was written: both become U+FFFD.
const UNPRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Content from mail, made safe to print on one line. */
export function printable(text: string): string {
  return text.replace(/[\t\r\n\u2028\u2029]+/g, ' ').replace(UNPRINTABLE, '\uFFFD');
}

/** Categories, rule ids and route names are fixed identifiers, but only these characters reach a subject or header. */
export function headerToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_.:-]/g, '');
}

function inlineText(content: Inline[]): string {
  return content
    .map((part) => {
      if (typeof part === 'string') return printable(part);
      if ('marked' in part) return `[[${printable(part.marked)}]]`;
      if ('strong' in part) return printable(part.strong);
      return part.link === part.href ? part.href : `${printable(part.link)} <${part.href}>`;
    })
    .join('');
}

/** Wraps on spaces; a word longer than the line (a URL) stays whole rather than being broken. */
function wrap(text: string, width: number, firstPrefix: string, restPrefix: string): string[] {
  const lines: string[] = [];
  let line = firstPrefix;
  let empty = true;
  for (const word of text.split(' ').filter((w) => w !== '')) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = restPrefix + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

function renderBlock(block: Block): string[] {
  switch (block.kind) {
    case 'heading': {
      const text = printable(block.text);
      if (block.level === 3) return [text];
      return [text, (block.level === 1 ? '=' : '-').repeat(Math.min(text.length, WIDTH))];
    }
    case 'paragraph':
      return wrap(inlineText(block.content), WIDTH, '', '');
    case 'alert': {
      const rule = '*'.repeat(WIDTH);
      return [rule, ...wrap(inlineText(block.content), WIDTH, '', ''), rule];
    }
    case 'facts': {
      const labelWidth = Math.max(...block.rows.map((r) => r.label.length)) + 2;
      return block.rows.flatMap((row) => wrap(inlineText(row.value), WIDTH, `${row.label}:`.padEnd(labelWidth), ' '.repeat(labelWidth)));
    }
    case 'list':
      return block.items.flatMap((item) => wrap(inlineText(item), WIDTH, '- ', '  '));
    case 'evidence':
      return [...wrap(`${printable(block.label)}:`, WIDTH, '  ', '  '), ...wrap(`“${inlineText(block.excerpt)}”`, WIDTH, '    ', '    ')];
    case 'table':
      return block.rows.flatMap((row) => wrap(row.map(inlineText).join(' · '), WIDTH, '- ', '  '));
    case 'button':
      return [`${printable(block.text)}:`, block.href];
  }
}

/** The plain-text part: blocks separated by blank lines, lines wrapped at 72 characters, matched words in [[ ]]. */
export function renderText(doc: MailDocument): string {
  return doc.blocks.map((block) => renderBlock(block).join('\r\n')).join('\r\n\r\n') + '\r\n';
}

/** `Sunday, 9 March 2025 at 22:41 GMT`: the zone's abbreviation says whether summer time applied. */
export function inWords(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(date);
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Links are built from config, but a `javascript:` URL must never reach a document. */
export function checkedUrl(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`${what} must be an http(s) URL, got ${parsed.protocol}`);
  return parsed.href;
}

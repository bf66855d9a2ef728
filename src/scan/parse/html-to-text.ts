import { Parser } from 'htmlparser2';
import type { TextRange } from './quotes.js';

export interface HtmlText {
  text: string;
  truncated: boolean;
  /** Ranges of `text` that came from `<blockquote>` elements (quoted history in mail clients). */
  quoted: TextRange[];
}

/** Elements whose content a reader never sees as text. */
const SKIPPED = new Set(['script', 'style', 'title', 'template', 'noscript', 'svg']);

/** Elements a browser keeps inside <head>; anything else there ends the head and is shown. */
const HEAD_CONTENT = new Set(['title', 'meta', 'link', 'style', 'script', 'base', 'noscript', 'template']);

/** Blocks separated by a blank line. */
const PARAGRAPH = new Set([
  'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'table', 'ul', 'ol', 'dl', 'pre', 'hr',
  'figure', 'address', 'fieldset', 'center',
]);

/** Blocks that start on a new line. */
const LINE = new Set([
  'div', 'li', 'tr', 'dt', 'dd', 'section', 'article', 'aside', 'header', 'footer', 'nav', 'main',
  'form', 'caption', 'figcaption', 'details', 'summary', 'thead', 'tbody', 'tfoot', 'option',
  'legend', 'dialog', 'menu', 'dir', 'hgroup', 'body', 'html', 'textarea', 'select',
]);

const CELL_SEPARATOR = ' | ';
const CHUNK = 64 * 1024;
/** HTML whitespace plus NBSP: `&nbsp;` spacing should not split or glue words for the scanner. */
const WHITESPACE_RUN = /[\t\n\f\r \u00a0]+/g;

/**
 * Converts mail HTML to the text a reader sees, with blockquotes recorded as quoted ranges.
 * Output is bounded by `maxChars`; input beyond `maxChars * 4` is not even parsed, so a
 * hostile 50 MB HTML part costs at most a few multiples of the output budget.
 */
export function htmlToText(html: string, maxChars: number): HtmlText {
  let truncated = false;
  let input = html;
  const inputCap = maxChars * 4;
  if (input.length > inputCap) {
    input = input.slice(0, inputCap);
    // A tag cut in half would otherwise surface as text when the tokenizer flushes.
    const lastOpen = input.lastIndexOf('<');
    if (lastOpen > input.lastIndexOf('>')) input = input.slice(0, lastOpen);
    truncated = true;
  }

  const out = new TextBuilder(maxChars);
  let skipDepth = 0;
  let inHead = false;
  let preDepth = 0;
  const cellCounts: number[] = [];

  const parser = new Parser(
    {
      onopentag(name) {
        if (name === 'head') {
          inHead = true;
          return;
        }
        if (inHead && !HEAD_CONTENT.has(name)) inHead = false;
        if (SKIPPED.has(name)) {
          skipDepth++;
          return;
        }
        if (skipDepth > 0) return;

        if (name === 'br') out.lineBreak();
        else if (name === 'td' || name === 'th') {
          const row = cellCounts.length - 1;
          const count = cellCounts[row] ?? 0;
          if (count > 0) out.cellBreak();
          if (row >= 0) cellCounts[row] = count + 1;
        } else if (name === 'tr') {
          cellCounts.push(0);
          out.blockBreak(1);
        } else if (PARAGRAPH.has(name)) out.blockBreak(2);
        else if (LINE.has(name)) out.blockBreak(1);

        if (name === 'blockquote') out.openQuote();
        if (name === 'pre' || name === 'textarea') preDepth++;
      },
      onclosetag(name) {
        if (name === 'head') {
          inHead = false;
          return;
        }
        if (SKIPPED.has(name)) {
          if (skipDepth > 0) skipDepth--;
          return;
        }
        if (skipDepth > 0) return;

        if (name === 'tr') cellCounts.pop();
        if (name === 'blockquote') out.closeQuote();
        if ((name === 'pre' || name === 'textarea') && preDepth > 0) preDepth--;
        if (PARAGRAPH.has(name)) out.blockBreak(2);
        else if (LINE.has(name)) out.blockBreak(1);
      },
      ontext(data) {
        if (skipDepth > 0) return;
        if (inHead) {
          if (data.replace(WHITESPACE_RUN, '') === '') return;
          inHead = false;
        }
        if (preDepth > 0) out.preformatted(data);
        else out.flowText(data);
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );

  for (let pos = 0; pos < input.length && !out.full; pos += CHUNK) {
    parser.write(input.slice(pos, pos + CHUNK));
  }
  if (!out.full) parser.end();

  const result = out.finish();
  return { text: result.text, quoted: result.quoted, truncated: truncated || result.truncated };
}

/**
 * Accumulates output text. Separators (spaces, cell bars, line breaks) are held pending and
 * only written before the next visible text, so runs collapse, leading/trailing breaks
 * vanish, and quote ranges start exactly at quoted text rather than at a newline.
 */
class TextBuilder {
  private readonly parts: string[] = [];
  private length = 0;
  private pendingNewlines = 0;
  private pendingCell = false;
  private pendingSpace = false;
  private quoteDepth = 0;
  private quoteStart: number | null = null;
  private quoteStartPending = false;
  private readonly ranges: TextRange[] = [];
  full = false;

  constructor(private readonly maxChars: number) {}

  lineBreak(): void {
    this.pendingNewlines = Math.min(2, this.pendingNewlines + 1);
  }

  blockBreak(newlines: 1 | 2): void {
    this.pendingNewlines = Math.max(this.pendingNewlines, newlines);
  }

  cellBreak(): void {
    this.pendingCell = true;
  }

  openQuote(): void {
    if (this.quoteDepth === 0) this.quoteStartPending = true;
    this.quoteDepth++;
  }

  closeQuote(): void {
    if (this.quoteDepth === 0) return;
    this.quoteDepth--;
    if (this.quoteDepth === 0) this.endQuote();
  }

  flowText(data: string): void {
    const collapsed = data.replace(WHITESPACE_RUN, ' ');
    if (collapsed === ' ' || collapsed === '') {
      if (collapsed === ' ') this.pendingSpace = true;
      return;
    }
    const leading = collapsed.startsWith(' ');
    const trailing = collapsed.endsWith(' ');
    if (leading) this.pendingSpace = true;
    this.append(collapsed.slice(leading ? 1 : 0, trailing ? -1 : undefined));
    if (trailing) this.pendingSpace = true;
  }

  /** <pre> keeps its spaces; its newlines go through lineBreak so runs stay capped at two. */
  preformatted(data: string): void {
    const lines = data.replace(/\r\n?/g, '\n').split('\n');
    lines.forEach((line, i) => {
      if (i > 0) this.lineBreak();
      if (line.length > 0) this.append(line);
    });
  }

  private append(text: string): void {
    if (this.full || text.length === 0) return;
    let separator = '';
    if (this.length > 0) {
      if (this.pendingNewlines > 0) separator = '\n'.repeat(this.pendingNewlines);
      else if (this.pendingCell) separator = CELL_SEPARATOR;
      else if (this.pendingSpace) separator = ' ';
    }
    this.pendingNewlines = 0;
    this.pendingCell = false;
    this.pendingSpace = false;

    const room = this.maxChars - this.length;
    if (separator.length >= room) {
      this.full = true;
      return;
    }
    this.push(separator);
    if (this.quoteStartPending) {
      this.quoteStart = this.length;
      this.quoteStartPending = false;
    }
    if (text.length > room - separator.length) {
      let cut = room - separator.length;
      // Never leave half a surrogate pair at the end.
      const last = text.charCodeAt(cut - 1);
      if (last >= 0xd800 && last <= 0xdbff) cut--;
      this.push(text.slice(0, cut));
      this.full = true;
      return;
    }
    this.push(text);
  }

  private push(s: string): void {
    if (s.length === 0) return;
    this.parts.push(s);
    this.length += s.length;
  }

  private endQuote(): void {
    if (this.quoteStart !== null && this.length > this.quoteStart) {
      this.ranges.push({ start: this.quoteStart, end: this.length });
    }
    this.quoteStart = null;
    this.quoteStartPending = false;
  }

  finish(): HtmlText {
    this.endQuote();
    return { text: this.parts.join(''), truncated: this.full, quoted: this.ranges };
  }
}

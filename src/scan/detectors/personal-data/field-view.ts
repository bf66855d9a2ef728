/**
 * What a recognizer may ask about the text around a value: the words near it, the header of the
 * table column it sits in, and whether it is in a signature or a quoted message's header lines.
 * Built once per field and answered lazily: most fields need none of it.
 */
import { normalise } from '../../normalise.js';
import { tokenise } from '../../tokenise.js';
import type { AnalysedField, Token } from '../../types.js';
import type { ContextWords } from './recognizer.js';

interface Line {
  start: number;
  end: number;
}

export interface TableCell {
  /** The header row's text for this cell's column. */
  header: string;
  /** Data rows in the table (the header excluded). */
  rows: number;
}

interface Table {
  delimiter: string;
  /** Line index of the header row. */
  top: number;
  bottom: number;
  header: Line[];
}

const DELIMITERS = ['\t', ',', ';', '|'] as const;

/** Closing lines that start a signature block. */
const SIGN_OFF =
  /^[\s>]*(?:kind(?:est)? regards|best regards|warm(?:est)? regards|regards|best wishes|many thanks|thanks(?: again| so much)?|thank you|cheers|yours (?:sincerely|faithfully|truly)|all the best|with (?:thanks|best wishes)|take care|best|sent from my \w+(?: \w+)?|--)[\s,.!]*$/i;
/** Header lines of a quoted or forwarded message: addresses here are the thread's, not shared data. */
const QUOTE_HEADER = /^[\s>]*(?:(?:from|sent|to|cc|bcc|date|subject|reply-to)\s*:|-{2,}\s*(?:original|forwarded) message|begin forwarded message)|wrote:\s*$/i;
const SIGNATURE_MAX_LINES = 15;
/** Longer than any column title. */
const MAX_HEADER_CELL = 40;

/** Split one delimited row into cell spans, honouring double quotes (`"Smith, Jo",7A`). */
function splitRow(text: string, line: Line, delimiter: string): Line[] {
  const cells: Line[] = [];
  let cellStart = line.start;
  let inQuotes = false;
  for (let i = line.start; i < line.end; i++) {
    const ch = text[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (ch === delimiter && !inQuotes) {
      cells.push({ start: cellStart, end: i });
      cellStart = i + 1;
    }
  }
  cells.push({ start: cellStart, end: line.end });
  return cells;
}

const phraseCache = new Map<string, string[]>();

function phraseWords(phrase: string): string[] {
  let words = phraseCache.get(phrase);
  if (!words) {
    words = tokenise(normalise(phrase).text).map((t) => t.norm);
    phraseCache.set(phrase, words);
  }
  return words;
}

/** The longest of `phrases` that occurs as consecutive words in `words`, if any. */
export function findPhrase(words: readonly string[], phrases: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestLength = 0;
  for (const phrase of phrases) {
    const wanted = phraseWords(phrase);
    if (wanted.length <= bestLength) continue;
    for (let i = 0; i + wanted.length <= words.length; i++) {
      let j = 0;
      while (j < wanted.length && words[i + j] === wanted[j]) j++;
      if (j === wanted.length) {
        best = phrase;
        bestLength = wanted.length;
        break;
      }
    }
  }
  return best;
}

export class FieldView {
  readonly text: string;
  readonly field: AnalysedField;
  private lineList: Line[] | undefined;
  private signatures: Line[] | undefined;
  private tables: Map<number, Table | null> | undefined;

  constructor(field: AnalysedField) {
    this.field = field;
    this.text = field.text;
  }

  get tokens(): readonly Token[] {
    return this.field.tokens;
  }

  /** Index of the first token ending after `position`. */
  tokenIndexAt(position: number): number {
    const tokens = this.field.tokens;
    let lo = 0;
    let hi = tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tokens[mid]!.end <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Normalised words from `before` words before `start` to `after` words after `end`, excluding the value itself. */
  wordsAround(start: number, end: number, before: number, after: number): { before: string[]; after: string[] } {
    const tokens = this.field.tokens;
    const first = this.tokenIndexAt(start);
    let last = first;
    while (last < tokens.length && tokens[last]!.start < end) last++;
    return {
      before: tokens.slice(Math.max(0, first - before), first).map((t) => t.norm),
      after: tokens.slice(last, last + after).map((t) => t.norm),
    };
  }

  /** The first context word or phrase near the value or in its table column's header. */
  contextWord(start: number, end: number, context: ContextWords): string | undefined {
    const near = this.wordsAround(start, end, context.before ?? 6, context.after ?? 3);
    const found = findPhrase(near.before, context.words) ?? findPhrase(near.after, context.words);
    if (found !== undefined) return found;
    const cell = this.tableCell(start);
    if (!cell) return undefined;
    return findPhrase(
      tokenise(normalise(cell.header).text).map((t) => t.norm),
      context.words,
    );
  }

  get lines(): readonly Line[] {
    if (!this.lineList) {
      const lines: Line[] = [];
      let start = 0;
      for (;;) {
        const nl = this.text.indexOf('\n', start);
        const end = nl < 0 ? this.text.length : nl;
        lines.push({ start, end: end > start && this.text[end - 1] === '\r' ? end - 1 : end });
        if (nl < 0) break;
        start = nl + 1;
      }
      this.lineList = lines;
    }
    return this.lineList;
  }

  lineIndexAt(position: number): number {
    const lines = this.lines;
    let lo = 0;
    let hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lines[mid]!.start <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  lineText(index: number): string {
    const line = this.lines[index]!;
    return this.text.slice(line.start, line.end);
  }

  /** Is the position on a header line of quoted or forwarded history (`From: ...`, `On ... wrote:`)? */
  isQuoteHeader(position: number): boolean {
    return QUOTE_HEADER.test(this.lineText(this.lineIndexAt(position)));
  }

  private isQuoted(position: number): boolean {
    return this.field.quoted.some((r) => r.start <= position && position < r.end);
  }

  /**
   * Is the position in a signature: the lines after a sign-off (`Kind regards`, `--`), up to a
   * quoted message's header or 15 lines? A sender's own and the school's numbers live there.
   */
  inSignature(position: number): boolean {
    if (!this.signatures) {
      const blocks: Line[] = [];
      const lines = this.lines;
      for (let i = 0; i < lines.length; i++) {
        if (!SIGN_OFF.test(this.lineText(i))) continue;
        const quoted = this.isQuoted(lines[i]!.start);
        let last = i;
        for (let j = i + 1; j < lines.length && j <= i + SIGNATURE_MAX_LINES; j++) {
          if (QUOTE_HEADER.test(this.lineText(j)) || this.isQuoted(lines[j]!.start) !== quoted) break;
          last = j;
        }
        blocks.push({ start: lines[i]!.start, end: lines[last]!.end });
        i = last;
      }
      this.signatures = blocks;
    }
    return this.signatures.some((b) => b.start <= position && position <= b.end);
  }

  /**
   * The header of the column the position sits in, when its line is a data row of a delimited table
   * (CSV, tab-separated paste): at least two rows of the same number of cells under a header row.
   * A header cell longer than a column title is prose: two lines with a comma each pass for a table.
   */
  tableCell(position: number): TableCell | undefined {
    const index = this.lineIndexAt(position);
    const table = this.tableAt(index);
    if (!table || index === table.top) return undefined;
    const cells = splitRow(this.text, this.lines[index]!, table.delimiter);
    const column = cells.findIndex((c) => c.start <= position && position <= c.end);
    const cell = table.header[column];
    if (!cell) return undefined;
    const header = this.cellText(cell);
    return header.length > MAX_HEADER_CELL ? undefined : { header, rows: table.bottom - table.top };
  }

  /** The cells of one line split as a table row, quotes honoured and stripped. */
  rowCells(index: number, delimiter: string): string[] {
    return splitRow(this.text, this.lines[index]!, delimiter).map((c) => this.cellText(c));
  }

  private cellText(cell: Line): string {
    return this.text.slice(cell.start, cell.end).replace(/"/g, '').trim();
  }

  /** The table a line belongs to, found once for all its rows: big CSV attachments ask per value. */
  tableAt(index: number): Table | undefined {
    this.tables ??= new Map();
    if (this.tables.has(index)) return this.tables.get(index) ?? undefined;
    const lines = this.lines;
    let found: Table | undefined;
    for (const delimiter of DELIMITERS) {
      const width = splitRow(this.text, lines[index]!, delimiter).length;
      if (width < 2) continue;
      const sameShape = (i: number) => {
        const l = lines[i]!;
        return l.end > l.start && splitRow(this.text, l, delimiter).length === width;
      };
      let top = index;
      while (top > 0 && sameShape(top - 1)) top--;
      let bottom = index;
      while (bottom + 1 < lines.length && sameShape(bottom + 1)) bottom++;
      if (bottom === top) continue;
      found = { delimiter, top, bottom, header: splitRow(this.text, lines[top]!, delimiter) };
      break;
    }
    if (found) for (let i = found.top; i <= found.bottom; i++) this.tables.set(i, found);
    else this.tables.set(index, null);
    return found;
  }
}

/**
 * The text a document becomes: lines, blocks separated by a blank line, and tables as one line
 * per row with TAB-separated cells under their header row, so the personal-data detector can read
 * a value's column header (`UPN`, `DOB`). Everything stops at the scanning limit.
 */
import { sliceChars } from '../format.js';

export class TextOutput {
  private readonly parts: string[] = [];
  private length = 0;
  private cut = false;

  constructor(readonly max: number) {}

  get size(): number {
    return this.length;
  }

  /** The limit was reached: further writes are dropped, and readers should stop. */
  get full(): boolean {
    return this.cut || this.length >= this.max;
  }

  line(text: string): void {
    this.append(`${text}\n`);
  }

  /** Starts a block: a blank line after whatever came before (every write ends its line). */
  block(): void {
    if (this.length === 0 || this.parts[this.parts.length - 1] === '\n') return;
    this.append('\n');
  }

  text(): string {
    return this.parts.join('').replace(/\n+$/, '');
  }

  private append(text: string): void {
    if (this.full) return;
    const room = this.max - this.length;
    let piece = text;
    if (piece.length > room) {
      piece = sliceChars(piece, room);
      this.cut = true;
    }
    this.parts.push(piece);
    this.length += piece.length;
  }
}

/**
 * A cell as it can sit in a TAB-separated line: line breaks and tabs become spaces, and a cell
 * with a double quote is quoted CSV-style, since the detector's row splitter pairs up quotes.
 */
function cellText(text: string): string {
  const flat = text.replace(/[\t\n\v\f\r\u0085\u2028\u2029]+/g, ' ').trim();
  return flat.includes('"') ? `"${flat.replace(/"/g, '""')}"` : flat;
}

/**
 * Rows as lines, every line as wide as the widest row: the detector takes a table to be lines of
 * the same number of cells. Blank rows are left out so that a gap in a sheet does not cut the rows
 * below it off from their header, and columns empty in every row are left out at either side.
 */
export function tableLines(rows: readonly (readonly string[])[]): string[] {
  const kept: string[][] = [];
  let first = Infinity;
  let width = 0;
  for (const row of rows) {
    const cells = row.map(cellText);
    const start = cells.findIndex((c) => c !== '');
    if (start < 0) continue;
    let end = cells.length;
    while (cells[end - 1] === '') end--;
    first = Math.min(first, start);
    width = Math.max(width, end);
    kept.push(cells);
  }
  return kept.map((cells) => {
    const line: string[] = [];
    for (let i = first; i < width; i++) line.push(cells[i] ?? '');
    return line.join('\t');
  });
}

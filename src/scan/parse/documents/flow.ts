/**
 * Running text with tables (Word, PowerPoint, OpenDocument): each paragraph a line, each table a
 * block of TAB-separated rows. The format readers translate their XML into these calls.
 */
import { formatCount } from '../format.js';
import { tableLines, type TextOutput } from './output.js';

interface Row {
  cells: string[];
  /** Empty cells not yet added: a trailing run of them (ODF repeats one 16,000 times) never is. */
  pendingEmpty: number;
  repeat: number;
}

interface Cell {
  paragraphs: string[];
  repeat: number;
  /** Grid columns the cell covers (Word leaves merged-over cells out of the XML). */
  span: number;
}

interface Table {
  name: string | undefined;
  rows: string[][];
  row: Row | undefined;
  cell: Cell | undefined;
}

export class FlowBuilder {
  private readonly paragraphs: string[][] = [];
  private readonly tables: Table[] = [];
  /** Characters held in open paragraphs and tables, not yet written. */
  private pending = 0;
  private columnsCut = false;

  constructor(
    private readonly out: TextOutput,
    private readonly maxColumns: number,
  ) {}

  /** Reading can stop: what is held already fills the output. */
  get full(): boolean {
    return this.out.full || this.out.size + this.pending >= this.out.max;
  }

  openParagraph(): void {
    this.paragraphs.push([]);
  }

  text(text: string): void {
    const paragraph = this.paragraphs[this.paragraphs.length - 1];
    if (!paragraph) return;
    paragraph.push(text);
    this.pending += text.length;
  }

  /** In a table cell a tab or line break would split the row, so there it is a space. */
  tab(): void {
    this.text(this.currentCell() ? ' ' : '\t');
  }

  lineBreak(): void {
    this.text(this.currentCell() ? ' ' : '\n');
  }

  closeParagraph(): void {
    const parts = this.paragraphs.pop();
    if (!parts) return;
    const text = parts.join('');
    this.pending -= text.length;
    if (text.trim() === '') return;
    // A cell's text is counted again once its row is complete.
    const cell = this.currentCell();
    if (cell) cell.paragraphs.push(text.trim());
    else this.out.line(text);
  }

  /** `name` is written on its own line before the rows (a spreadsheet's sheet name). */
  openTable(name?: string): void {
    this.tables.push({ name, rows: [], row: undefined, cell: undefined });
  }

  openRow(repeat = 1): void {
    const table = this.tables[this.tables.length - 1];
    if (table) table.row = { cells: [], pendingEmpty: 0, repeat };
  }

  openCell(repeat = 1): void {
    const table = this.tables[this.tables.length - 1];
    if (table?.row) table.cell = { paragraphs: [], repeat, span: 1 };
  }

  spanCell(columns: number): void {
    const cell = this.currentCell();
    if (cell) cell.span = columns;
  }

  closeCell(): void {
    const table = this.tables[this.tables.length - 1];
    if (table) this.endCell(table);
  }

  closeRow(): void {
    const table = this.tables[this.tables.length - 1];
    if (table) this.endRow(table);
  }

  closeTable(): void {
    const table = this.tables.pop();
    if (!table) return;
    // A row still open when reading stopped is kept: it may be the last one that fitted.
    this.endCell(table);
    this.endRow(table);
    for (const row of table.rows) this.pending -= rowChars(row);
    const lines = tableLines(table.rows);
    const outer = this.currentCell();
    if (outer) {
      // A table inside a table cell stays in that cell: its rows become the cell's text.
      if (lines.length > 0) outer.paragraphs.push(lines.join(' ').replace(/\t/g, ' '));
      return;
    }
    if (lines.length === 0) return;
    this.out.block();
    if (table.name !== undefined) this.out.line(table.name);
    for (const line of lines) this.out.line(line);
    this.out.block();
  }

  /** Writes whatever is still open, innermost first (reading stopped part-way through). */
  finish(): void {
    while (this.tables.length > 0 || this.paragraphs.length > 0) {
      if (this.paragraphs.length > 0) this.closeParagraph();
      else this.closeTable();
    }
  }

  problems(): string[] {
    return this.columnsCut ? [`table columns after the first ${formatCount(this.maxColumns)} not read`] : [];
  }

  private currentCell(): Cell | undefined {
    return this.tables[this.tables.length - 1]?.cell;
  }

  private endCell(table: Table): void {
    const { row, cell } = table;
    if (!row || !cell) return;
    table.cell = undefined;
    const text = cell.paragraphs.join(' ');
    if (text === '') {
      row.pendingEmpty += cell.repeat * cell.span;
      return;
    }
    for (let i = 0; i < cell.repeat; i++) {
      if (!this.addCell(row, text)) break;
      row.pendingEmpty += cell.span - 1;
    }
  }

  private endRow(table: Table): void {
    const { row } = table;
    if (!row) return;
    table.row = undefined;
    if (row.cells.length === 0) return;
    for (let i = 0; i < row.repeat && !this.full; i++) {
      table.rows.push(row.cells);
      this.pending += rowChars(row.cells);
    }
  }

  private addCell(row: Row, text: string): boolean {
    if (row.cells.length + row.pendingEmpty >= this.maxColumns) {
      this.columnsCut = true;
      return false;
    }
    for (; row.pendingEmpty > 0; row.pendingEmpty--) row.cells.push('');
    row.cells.push(text);
    return true;
  }
}

/** A row's length as a line: its cells and their separators. */
function rowChars(cells: readonly string[]): number {
  return cells.reduce((n, c) => n + c.length + 1, 0);
}

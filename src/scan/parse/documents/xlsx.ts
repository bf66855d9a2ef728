/**
 * Excel (.xlsx, .xlsm) workbooks: every worksheet in workbook order, hidden ones too, each as its
 * sheet name on a line and then its rows. Cells show what Excel shows where it matters for
 * personal data: shared and inline strings, dates as dd/mm/yyyy (a serial number under a `DOB`
 * header would hide a date of birth), zero-padded numbers (`00000000000` keeps a phone number's 0).
 */
import { formatCount } from '../format.js';
import { tableLines } from './output.js';
import { relationshipId, type PackageReader } from './package.js';
import { attribute } from './xml.js';

type CellFormat = { kind: 'date' | 'time' | 'datetime' } | { kind: 'pad'; digits: number };

interface Styles {
  /** By cell style index (a cell's `s`). */
  formats: Array<CellFormat | undefined>;
}

interface SharedStrings {
  strings: string[];
  /** Reading stopped at the text limit: later strings are unknown. */
  cut: boolean;
}

/** Built-in number formats that show a date or time (ECMA-376 18.8.30, and the East Asian ones). */
function builtinFormat(id: number): CellFormat | undefined {
  if ((id >= 14 && id <= 17) || (id >= 27 && id <= 36) || (id >= 50 && id <= 58)) return { kind: 'date' };
  if ((id >= 18 && id <= 21) || (id >= 45 && id <= 47)) return { kind: 'time' };
  if (id === 22) return { kind: 'datetime' };
  return undefined;
}

/** A custom format code's kind, judged on its first section with literals and [colours] removed. */
export function classifyFormat(code: string): CellFormat | undefined {
  const section = code.split(';')[0] ?? '';
  const bare = section.replace(/"[^"]*"|\\.|_.|\*.|\[[^\]]*\]/g, '');
  if (/^0{2,}$/.test(bare)) return { kind: 'pad', digits: bare.length };
  const date = /[dy]/i.test(bare);
  const time = /[hs]/i.test(bare);
  if (date && time) return { kind: 'datetime' };
  if (date) return { kind: 'date' };
  if (time) return { kind: 'time' };
  if (/m/i.test(bare)) return { kind: 'date' };
  return undefined;
}

const DAY_MS = 86_400_000;

/** An Excel serial date as dd/mm/yyyy (and/or hh:mm[:ss]), or undefined when out of range. */
export function serialToText(serial: number, date1904: boolean, kind: 'date' | 'time' | 'datetime'): string | undefined {
  if (!Number.isFinite(serial) || serial < 0 || serial > 2_958_466) return undefined;
  let days = Math.floor(serial);
  // Excel counts a 29 February 1900 that never was, so serials before 1 March 1900 are a day out.
  if (!date1904 && days < 61) days += 1;
  const epoch = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
  const at = new Date(epoch + days * DAY_MS + Math.round((serial - Math.floor(serial)) * 86_400) * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${two(at.getUTCDate())}/${two(at.getUTCMonth() + 1)}/${at.getUTCFullYear()}`;
  const seconds = at.getUTCSeconds();
  const time = `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}${seconds ? `:${two(seconds)}` : ''}`;
  return kind === 'date' ? date : kind === 'time' ? time : `${date} ${time}`;
}

/** A number as Excel's General format shows it: at most 15 significant digits (no 0.30000000000000004). */
function numberText(value: string): string {
  const n = Number(value);
  return Number.isFinite(n) && value.trim() !== '' ? String(Number(n.toPrecision(15))) : value;
}

function formatNumber(value: string, format: CellFormat | undefined, date1904: boolean): string {
  if (!format) return numberText(value);
  if (format.kind === 'pad') return /^\d+$/.test(value) ? value.padStart(format.digits, '0') : numberText(value);
  return serialToText(Number(value), date1904, format.kind) ?? numberText(value);
}

/** `t="d"` cells hold ISO 8601 dates. */
function isoDateText(value: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return match ? `${match[3]}/${match[2]}/${match[1]}` : value;
}

/** Column index (0-based) of a cell reference such as `AB12`, or undefined without one. */
function columnOf(reference: string | undefined): number | undefined {
  const letters = /^[A-Za-z]+/.exec(reference ?? '')?.[0];
  if (!letters) return undefined;
  let column = 0;
  for (const ch of letters.toUpperCase()) column = column * 26 + (ch.charCodeAt(0) - 64);
  return column - 1;
}

async function readSharedStrings(reader: PackageReader, part: string | undefined, maxChars: number): Promise<SharedStrings> {
  const strings: string[] = [];
  let total = 0;
  let current: string[] | undefined;
  let inText = false;
  let phonetic = 0;
  if (part !== undefined) {
    await reader.pkg.parse(
      part,
      {
        open(name) {
          if (name === 'si') current = [];
          else if (name === 't') inText = true;
          // Phonetic readings (`rPh`) repeat Japanese text in kana.
          else if (name === 'rPh') phonetic++;
        },
        close(name) {
          if (name === 'si' && current) {
            const text = current.join('');
            strings.push(text);
            total += text.length;
            current = undefined;
          } else if (name === 't') inText = false;
          else if (name === 'rPh') phonetic--;
        },
        text(text) {
          if (inText && phonetic === 0) current?.push(text);
        },
      },
      // Excel numbers strings by first use, so strings past the text limit belong to cells past it.
      () => total >= maxChars,
    );
    if (reader.pkg.exhausted) reader.where = 'the shared strings';
  }
  return { strings, cut: total >= maxChars };
}

async function readStyles(reader: PackageReader, part: string | undefined): Promise<Styles> {
  const custom = new Map<number, CellFormat | undefined>();
  const formats: Array<CellFormat | undefined> = [];
  let inCellXfs = false;
  if (part !== undefined) {
    await reader.pkg.parse(part, {
      open(name, attributes) {
        if (name === 'numFmt') {
          custom.set(Number(attribute(attributes, 'numFmtId')), classifyFormat(attribute(attributes, 'formatCode') ?? ''));
        } else if (name === 'cellXfs') inCellXfs = true;
        else if (name === 'xf' && inCellXfs) {
          const id = Number(attribute(attributes, 'numFmtId') ?? 0);
          formats.push(custom.has(id) ? custom.get(id) : builtinFormat(id));
        }
      },
      close(name) {
        if (name === 'cellXfs') inCellXfs = false;
      },
    });
  }
  return { formats };
}

interface CellState {
  column: number;
  type: string;
  style: number;
  parts: string[];
}

async function readSheet(
  reader: PackageReader,
  part: string,
  name: string,
  strings: SharedStrings,
  styles: Styles,
  date1904: boolean,
): Promise<void> {
  const { out, maxColumns } = reader;
  const rows: string[][] = [];
  let pending = 0;
  let row: string[] | undefined;
  let rowNumber = 0;
  let nextColumn = 0;
  let cell: CellState | undefined;
  let inValue = false;
  let inInline = false;
  let phonetic = 0;

  const value = (c: CellState): string => {
    const raw = c.parts.join('');
    switch (c.type) {
      case 's': {
        const text = strings.strings[Number(raw)];
        if (text === undefined && strings.cut) reader.problem('shared strings past the text limit not read; their cells are blank');
        return text ?? '';
      }
      case 'b':
        return raw === '1' ? 'TRUE' : raw === '0' ? 'FALSE' : raw;
      case 'd':
        return isoDateText(raw);
      case 'inlineStr':
      case 'str':
      case 'e':
        return raw;
      default:
        return formatNumber(raw, styles.formats[c.style], date1904);
    }
  };

  try {
    await reader.pkg.parse(
      part,
      {
        open(element, attributes) {
          switch (element) {
            case 'row':
              row = [];
              nextColumn = 0;
              rowNumber = Number(attribute(attributes, 'r')) || rowNumber + 1;
              break;
            case 'c':
              cell = {
                column: columnOf(attribute(attributes, 'r')) ?? nextColumn,
                type: attribute(attributes, 't') ?? 'n',
                style: Number(attribute(attributes, 's') ?? 0),
                parts: [],
              };
              break;
            case 'v':
              inValue = cell !== undefined;
              break;
            case 'is':
              inInline = true;
              break;
            case 't':
              if (inInline) inValue = true;
              break;
            case 'rPh':
              phonetic++;
              break;
          }
        },
        close(element) {
          switch (element) {
            case 'v':
            case 't':
              inValue = false;
              break;
            case 'is':
              inInline = false;
              break;
            case 'rPh':
              phonetic--;
              break;
            case 'c': {
              if (!cell || !row) break;
              nextColumn = cell.column + 1;
              const text = value(cell);
              if (text !== '' && cell.column >= maxColumns) {
                reader.problem(`table columns after the first ${formatCount(maxColumns)} not read`);
              } else if (text !== '') {
                row[cell.column] = text;
                pending += text.length + 1;
              }
              cell = undefined;
              break;
            }
            case 'row':
              if (row && row.length > 0) rows.push(Array.from(row, (c) => c ?? ''));
              row = undefined;
              break;
          }
        },
        text(text) {
          if (inValue && phonetic === 0) cell?.parts.push(text);
        },
      },
      () => out.size + pending >= out.max,
    );
  } finally {
    // Rows read before damaged data are still scanned.
    if (out.size + pending >= out.max || reader.pkg.exhausted) reader.where = `sheet "${name}" row ${formatCount(rowNumber)}`;
    const lines = tableLines(rows);
    if (lines.length > 0) {
      out.block();
      out.line(name);
      for (const line of lines) out.line(line);
    }
  }
}

export async function readWorkbook(reader: PackageReader, main: string): Promise<void> {
  const related = await reader.relationships(main);
  const sheets: Array<{ name: string; id: string }> = [];
  let date1904 = false;
  await reader.pkg.parse(main, {
    open(name, attributes) {
      if (name === 'workbookPr') {
        const flag = attribute(attributes, 'date1904');
        date1904 = flag === '1' || flag === 'true';
      } else if (name === 'sheet') {
        const id = relationshipId(attributes);
        if (id !== undefined) sheets.push({ name: attribute(attributes, 'name') ?? '', id });
      }
    },
  });
  const partOf = (type: string) => related.find((rel) => rel.type === type)?.target;
  const strings = await readSharedStrings(reader, partOf('sharedStrings'), reader.out.max);
  const styles = await readStyles(reader, partOf('styles'));
  let unread = 0;
  for (const sheet of sheets) {
    // Chart sheets and dialog sheets hold no cells.
    const target = related.find((rel) => rel.id === sheet.id && rel.type === 'worksheet')?.target;
    if (target === undefined) continue;
    if (reader.stopped) unread++;
    else await readSheet(reader, target, sheet.name, strings, styles, date1904);
  }
  if (unread > 0) reader.problem(`${formatCount(unread)} sheet${unread === 1 ? '' : 's'} not read`);
}

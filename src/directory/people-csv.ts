/**
 * The trust's people export (name,address,role,academy). It is the most authoritative source
 * of who is a pupil, so a bad row is an error rather than a skipped line: a pupil silently
 * treated as external would escape the pupil-email rules.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import type { PartyRole } from '../scan/types.js';
import { oneOf, SourceError } from '../config/yaml-source.js';

export interface PersonRecord {
  address: string;
  name?: string;
  role: PartyRole;
  academy?: string;
  /** Line in the CSV where the row starts, for duplicate reports. */
  line: number;
}

const COLUMNS = ['name', 'address', 'role', 'academy'] as const;
const REQUIRED_COLUMNS = ['address', 'role'] as const;
const ROLES: readonly PartyRole[] = ['staff', 'pupil', 'external'];

interface ParsedRow {
  record: Partial<Record<string, string>>;
  info: { lines: number };
  raw: string;
}

export function readPeopleCsv(file: string): Map<string, PersonRecord> {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError([`${shown}: ${code === 'ENOENT' ? 'directory CSV not found' : `cannot read directory CSV (${code ?? String(error)})`}`]);
  }
  return parsePeopleCsv(shown, text);
}

/** `file` is only used to label problems. Keys of the result are lower-cased addresses. */
export function parsePeopleCsv(file: string, text: string): Map<string, PersonRecord> {
  const headerProblems: string[] = [];
  let sawHeader = false;

  let rows: ParsedRow[];
  try {
    rows = parse<ParsedRow>(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      info: true,
      raw: true,
      columns: (header: string[]) => {
        sawHeader = true;
        const names = header.map((h) => h.trim().toLowerCase());
        headerProblems.push(...checkHeader(file, names));
        return names;
      },
    });
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines ?? 1;
      throw new SourceError([`${file}:${line}: ${error.message.replace(/ (?:on|at) line \d+$/, '')}`]);
    }
    throw error;
  }

  if (!sawHeader) throw new SourceError([`${file}:1: empty file; expected a header row ${COLUMNS.join(',')}`]);
  if (headerProblems.length > 0) throw new SourceError(headerProblems);

  const people = new Map<string, PersonRecord>();
  const problems: string[] = [];
  for (const row of rows) {
    const line = startLine(row);
    const checked = checkRow(row.record, line);
    if (typeof checked === 'string') {
      problems.push(`${file}:${line}: ${checked}`);
      continue;
    }
    const earlier = people.get(checked.address);
    if (earlier) {
      problems.push(`${file}:${line}: address: ${JSON.stringify(checked.address)} is already listed on line ${earlier.line}`);
      continue;
    }
    people.set(checked.address, checked);
  }
  if (problems.length > 0) throw new SourceError(problems);
  return people;
}

function checkHeader(file: string, names: readonly string[]): string[] {
  const problems: string[] = [];
  const known = new Set<string>(COLUMNS);
  for (const name of names) {
    if (!known.has(name)) {
      problems.push(`${file}:1: unknown column ${JSON.stringify(name)}; the header row must name columns from ${COLUMNS.join(',')}`);
    }
  }
  for (const required of REQUIRED_COLUMNS) {
    if (!names.includes(required)) problems.push(`${file}:1: missing column ${JSON.stringify(required)}`);
  }
  return problems;
}

/** A row or the first problem with it, as `column: what is wrong`. */
function checkRow(record: Partial<Record<string, string>>, line: number): PersonRecord | string {
  const address = (record.address ?? '').toLowerCase();
  if (address === '') return 'address: missing';
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) return `address: expected an email address, got ${JSON.stringify(record.address)}`;

  const roleText = (record.role ?? '').toLowerCase();
  const role = ROLES.find((r) => r === roleText);
  if (!role) return `role: expected ${oneOf(ROLES)}, got ${JSON.stringify(record.role ?? '')}`;

  const person: PersonRecord = { address, role, line };
  if (record.name) person.name = record.name;
  if (record.academy) person.academy = record.academy;
  return person;
}

/** csv-parse reports the line a record ends on; a quoted multi-line name would otherwise mislead. */
function startLine(row: ParsedRow): number {
  const body = row.raw.replace(/^[\r\n]+/, '').replace(/[\r\n]+$/, '');
  const innerBreaks = body.match(/\n/g)?.length ?? 0;
  return row.info.lines - innerBreaks;
}

/** Relative to the working directory when inside it, so messages read `people.csv:4:`. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

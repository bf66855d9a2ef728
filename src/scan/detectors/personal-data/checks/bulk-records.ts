/**
 * Bulk records: a table or list with rows of people's data, pasted into the body or attached (CSV,
 * spreadsheets and document tables arrive as delimited text). One leaked class list is worse than
 * one leaked phone number, so it is its own finding, scored by its row count and the kinds of data
 * its columns hold. A table whose columns hold SEN, medical or welfare data is special category
 * data as well.
 */
import { findPhrase, type FieldView } from '../field-view.js';
import type { CheckContext, MessageCheck, PersonalDataHit } from '../detector.js';
import { normalise } from '../../../normalise.js';
import { tokenise } from '../../../tokenise.js';
import type { Finding } from '../../../types.js';

const POLICY = '000_84beb20efc1da5e6.txt 11.1';

/** Column headers that say a row is about a person. */
const PERSON_COLUMNS = ['name', 'full name', 'first name', 'forename', 'forenames', 'surname', 'last name', 'legal name', 'pupil', 'student', 'child', 'learner', 'parent', 'carer', 'staff member', 'employee'];

/** A cheap test before looking for tables: a field with neither a person column nor enough values has none worth reporting. */
const PERSON_HEADER_HINT = /\b(?:name|names|forenames?|surname|pupil|student|child|learner|parent|carer|staff member|employee)\b/i;

/** Column headers of personal data, by the label a reviewer reads. */
const DATA_COLUMNS: ReadonlyArray<{ label: string; words: readonly string[]; special?: boolean }> = [
  { label: 'date of birth', words: ['dob', 'd o b', 'date of birth', 'birth date', 'birthday'] },
  { label: 'UPN', words: ['upn', 'unique pupil number'] },
  { label: 'ULN', words: ['uln', 'unique learner number'] },
  { label: 'NHS number', words: ['nhs', 'nhs number', 'nhs no'] },
  { label: 'NI number', words: ['ni number', 'ni no', 'nino', 'national insurance'] },
  { label: 'address', words: ['address', 'home address', 'postcode', 'post code'] },
  { label: 'phone', words: ['phone', 'mobile', 'telephone', 'tel', 'contact number', 'emergency contact'] },
  { label: 'email', words: ['email', 'e mail', 'email address'] },
  { label: 'SEN', words: ['sen', 'send', 'sen need', 'sen status', 'ehcp', 'need', 'needs', 'primary need'], special: true },
  { label: 'medical', words: ['medical', 'medical needs', 'medical conditions', 'allergies', 'allergy', 'medication', 'diagnosis', 'condition', 'health'], special: true },
  { label: 'FSM / pupil premium', words: ['fsm', 'free school meals', 'pupil premium', 'pp', 'disadvantaged'], special: true },
  { label: 'safeguarding', words: ['cp', 'cin', 'lac', 'cla', 'looked after', 'child protection', 'safeguarding', 'social worker', 'cp status'], special: true },
  { label: 'ethnicity', words: ['ethnicity', 'ethnic group', 'ethnic origin'], special: true },
  { label: 'religion', words: ['religion', 'faith'], special: true },
];

/** Values that mean "nothing recorded" in a special-category column. */
const EMPTY_CELL = /^\s*(?:-+|n|no|none|nil|n\/a|na|0|)\s*$/i;

function headerWords(cell: string): string[] {
  return tokenise(normalise(cell).text).map((t) => t.norm);
}

interface TableFacts {
  field: number;
  headerStart: number;
  headerEnd: number;
  rows: number;
  person: boolean;
  columns: string[];
  special: boolean;
}

function describeTable(view: FieldView, field: number, top: number, bottom: number, delimiter: string): TableFacts {
  const header = view.rowCells(top, delimiter);
  const columns: string[] = [];
  let person = false;
  let special = false;
  header.forEach((cell, column) => {
    const words = headerWords(cell);
    if (findPhrase(words, PERSON_COLUMNS) !== undefined) person = true;
    const kind = DATA_COLUMNS.find((k) => words.length <= 4 && findPhrase(words, k.words) !== undefined);
    if (!kind) return;
    if (!columns.includes(kind.label)) columns.push(kind.label);
    if (kind.special) {
      // A special-category column counts only when some row has something in it.
      for (let row = top + 1; row <= bottom; row++) {
        const value = view.rowCells(row, delimiter)[column] ?? '';
        if (!EMPTY_CELL.test(value)) special = true;
      }
    }
  });
  const line = view.lines[top]!;
  return { field, headerStart: line.start, headerEnd: line.end, rows: bottom - top, person, columns, special };
}

/** Every delimited table in a field, once each. */
function tablesOf(view: FieldView, field: number): TableFacts[] {
  const tables: TableFacts[] = [];
  const lines = view.lines;
  for (let i = 0; i < lines.length; i++) {
    const line = view.lineText(i);
    if (!/[\t,;|]/.test(line)) continue;
    const table = view.tableAt(i);
    if (!table) continue;
    tables.push(describeTable(view, field, table.top, table.bottom, table.delimiter));
    i = table.bottom;
  }
  return tables;
}

/** Lines of a field that carry at least one recognized value: a pasted list of people with their data. */
function linesWithData(view: FieldView, hits: readonly PersonalDataHit[]): Set<number> {
  return new Set(hits.map((h) => view.lineIndexAt(h.candidate.start)));
}

export const bulkRecords: MessageCheck = {
  id: 'personal_data.bulk_records',
  check(message, context: CheckContext): Finding[] {
    const findings: Finding[] = [];
    const minRows = context.settings.bulkRows;
    context.views.forEach((view, field) => {
      const hits = context.hits.filter((h) => h.field === field);
      const dataLines = linesWithData(view, hits);
      const worthLooking = dataLines.size >= minRows || PERSON_HEADER_HINT.test(view.text);
      let reportedTable = false;
      for (const table of worthLooking ? tablesOf(view, field) : []) {
        if (table.rows < minRows) continue;
        const first = view.lineIndexAt(table.headerStart);
        let rowsWithHits = 0;
        for (let row = first + 1; row <= first + table.rows; row++) if (dataLines.has(row)) rowsWithHits++;
        const isPeople = (table.person && table.columns.length > 0) || rowsWithHits >= minRows;
        if (!isPeople) continue;
        const kinds = table.columns.length > 0 ? table.columns.join(', ') : [...new Set(hits.map((h) => h.recognizer.kind))].join(', ');
        findings.push({
          rule: 'personal_data.bulk_records',
          description: `A table of ${table.rows} people's records (${kinds})`,
          category: 'personal_data.bulk_records',
          severity: context.severityFor(table.special ? 'special' : 'identifier', { bulk: true }),
          score: Math.min(1, 0.5 + table.rows / 40),
          policy: POLICY,
          evidence: [context.evidence(field, table.headerStart, table.headerEnd)],
        });
        if (table.special) {
          findings.push({
            rule: 'personal_data.bulk_records.special',
            description: `Special category or welfare columns in a table of ${table.rows} people (${table.columns.join(', ')})`,
            category: 'personal_data.special_category',
            severity: context.severityFor('special', { bulk: true }),
            score: 0.9,
            policy: '002_ac353918cf928566.txt Data Security',
            evidence: [context.evidence(field, table.headerStart, table.headerEnd)],
          });
        }
        reportedTable = true;
      }
      // A list without delimiters: one person per line, each line carrying a recognized value.
      if (!reportedTable && dataLines.size >= minRows) {
        const lines = [...dataLines].sort((a, b) => a - b);
        const firstLine = view.lines[lines[0]!]!;
        findings.push({
          rule: 'personal_data.bulk_records',
          description: `${dataLines.size} lines of people's data (${[...new Set(hits.map((h) => h.recognizer.kind))].join(', ')})`,
          category: 'personal_data.bulk_records',
          severity: context.severityFor('identifier', { bulk: true }),
          score: Math.min(1, 0.5 + dataLines.size / 40),
          policy: POLICY,
          evidence: [context.evidence(field, firstLine.start, firstLine.end)],
        });
      }
    });
    return findings;
  },
};

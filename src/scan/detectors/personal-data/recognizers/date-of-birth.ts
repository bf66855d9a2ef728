/**
 * Date of birth: a date in one of the forms people write (12/03/2011, 12.03.11, 2011-03-12,
 * 12th March 2011, March 12, 2011) labelled as a birth date (DOB, d.o.b., date of birth, born) or
 * under a DOB column. School mail is full of dates (trips, deadlines, birthday parties), so a date
 * alone never counts; the label is what makes it personal data. The date must exist (no 31 June)
 * and its year must fit a living person; detectors never read the clock, so the year is only held
 * to 1900-2099 and a future "DOB" still passes when the writer labels it so.
 */
import type { FieldView } from '../field-view.js';
import { patternRecognizer } from '../recognizer.js';

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAME = new RegExp(`(?<![a-z])(${MONTH_NAMES.join('|')})`);
const MONTH = String.raw`(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?`;
const ORDINAL = String.raw`(?:st|nd|rd|th)?`;
const EDGE_BEFORE = String.raw`(?<![\p{L}\p{N}/.\-])`;
const EDGE_AFTER = String.raw`(?![\p{L}\p{N}]|[/.\-]\p{N})`;

/** Day, month and year with one separator used twice: 12/03/2011, 12.03.11, 12-3-2011. */
const NUMERIC = new RegExp(String.raw`${EDGE_BEFORE}\d{1,2}([/.\-])\d{1,2}\1(?:\d{4}|\d{2})${EDGE_AFTER}`, 'gu');
const ISO = new RegExp(String.raw`${EDGE_BEFORE}\d{4}([/.\-])\d{1,2}\1\d{1,2}${EDGE_AFTER}`, 'gu');
const DAY_MONTH_YEAR = new RegExp(String.raw`${EDGE_BEFORE}\d{1,2}${ORDINAL}(?: of)? ${MONTH},? \d{4}${EDGE_AFTER}`, 'giu');
const MONTH_DAY_YEAR = new RegExp(String.raw`(?<![\p{L}\p{N}])${MONTH} \d{1,2}${ORDINAL},? \d{4}${EDGE_AFTER}`, 'giu');

/** A birth label in any spelling: DOB, D.O.B., date of birth, born. */
const BIRTH_LABEL = /d\.?\s?o\.?\s?b|birth|born/i;
const RANGE_WORDS = new Set(['between', 'after', 'before', 'since', 'until', 'till', 'from']);
/** The words that end a birth label, as tokens: "dob" also stands for D.O.B. */
const LABEL_TOKENS = new Set(['dob', 'born', 'birth', 'birthdate']);
const YEAR = /^(?:19|20)\d{2}$/;
const CELL_PADDING = new Set([' ', '"', "'"]);
const CELL_EDGE = new Set(['\t', ',', ';', '|', '\r', '\n']);

/** Is [start, end) alone in its cell: only quotes and spaces between it and the delimiters? */
function aloneInCell(text: string, start: number, end: number): boolean {
  let before = start - 1;
  while (before >= 0 && CELL_PADDING.has(text[before]!)) before--;
  let after = end;
  while (after < text.length && CELL_PADDING.has(text[after]!)) after++;
  return (before < 0 || CELL_EDGE.has(text[before]!)) && (after >= text.length || CELL_EDGE.has(text[after]!));
}

const EARLIEST_BIRTH_YEAR = 1900;
const LATEST_YEAR = 2099;

function daysIn(month: number, year: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isRealDate(day: number, month: number, year: number): boolean {
  return year >= EARLIEST_BIRTH_YEAR && year <= LATEST_YEAR && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year);
}

/** A two-digit year: 00-29 this century (a pupil born in '11), 30-99 the last (a parent born in '84). */
function fullYear(year: string): number {
  const n = Number(year);
  if (year.length === 4) return n;
  return n <= 29 ? 2000 + n : 1900 + n;
}

/**
 * Is `value` a date that exists in a plausible birth year? Numeric dates are read day first, as
 * in the UK, and month first when that is the only reading that exists (03/27/2015).
 */
export function isPlausibleBirthDate(value: string): boolean {
  const lower = value.toLowerCase();
  const numbers = lower.match(/\d+/g) ?? [];
  const monthName = MONTH_NAME.exec(lower)?.[1];
  if (monthName !== undefined) {
    const [day, year] = numbers;
    return day !== undefined && year !== undefined && isRealDate(Number(day), MONTH_NAMES.indexOf(monthName) + 1, Number(year));
  }
  const [a, b, c] = numbers;
  if (a === undefined || b === undefined || c === undefined) return false;
  if (a.length === 4) return isRealDate(Number(c), Number(b), Number(a));
  const year = fullYear(c);
  return isRealDate(Number(a), Number(b), year) || isRealDate(Number(b), Number(a), year);
}

/**
 * Is the date not the one the birth label gives? Either it bounds a range ("born between 1
 * September 2011 and 31 August 2012": a year group, nobody's birthday), or a year stands between
 * the label and the date ("born in 2011 ... on 12/07/2025", "DOB 12/03/2011, start 01/09/2024").
 */
function notTheLabelledDate(view: FieldView, start: number, end: number): boolean {
  const before = view.wordsAround(start, end, 8, 0).before;
  const previous = before[before.length - 1];
  if (previous !== undefined && (RANGE_WORDS.has(previous) || (previous === 'and' && before.includes('between')))) return true;
  const label = before.findLastIndex((word) => LABEL_TOKENS.has(word));
  return label >= 0 && before.slice(label + 1).some((word) => YEAR.test(word));
}

export const dateOfBirth = patternRecognizer({
  id: 'personal_data.date_of_birth',
  kind: 'date_of_birth',
  description: 'A date of birth (a date labelled DOB, date of birth or born)',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  patterns: [
    { name: 'date (day month year)', regex: DAY_MONTH_YEAR, score: 0.15 },
    { name: 'date (month day year)', regex: MONTH_DAY_YEAR, score: 0.15 },
    { name: 'date (year-month-day)', regex: ISO, score: 0.15 },
    { name: 'date (dd/mm/yy)', regex: NUMERIC, score: 0.15 },
  ],
  // Reported only beside a label, so a field without one is not searched for dates at all.
  fieldMustMatch: BIRTH_LABEL,
  validate: (value) => (isPlausibleBirthDate(value) ? undefined : false),
  // In a table the column says what a date is: the header row above must not lend its "DOB" to
  // the start dates beside it. Prose lines with commas can pass for a table; a date alone in its
  // cell cannot.
  exclude(view, start, end) {
    if (notTheLabelledDate(view, start, end)) return true;
    if (!aloneInCell(view.text, start, end)) return false;
    const cell = view.tableCell(start);
    return cell !== undefined && !BIRTH_LABEL.test(cell.header);
  },
  // "the date of birth we have for Zara: 10.12.10": the label can stand a few words back.
  context: { words: ['dob', 'date of birth', 'birth date', 'birthdate', 'born'], before: 8, after: 3 },
  contextBoost: 0.4,
  keep: { start: 0, end: 2 },
  examples: {
    mustMatch: [
      "Chloe's date of birth is 6 June 2015 - the trip insurance needs it.",
      'Poppy Roberts (d.o.b. 2015-03-27) has started today.',
      'Please check: Leo Lewis born 10.12.10.',
      'DOB: 12th Mar 2011, NHS number to follow.',
      'She was born on March 12, 2011 in Leeds.',
      'D.O.B 12-3-2011',
      'Name,Form,DOB\n"Aisha Morris",11C,"01.01.08"\n"Leo Ward",9B,"20/01/2013"',
      'Name\tDOB\tUPN\nHarvey Dunn\t14/02/2011\tV907401212041\nLily Morgan\t03/07/2011\tT907401212057',
    ],
    mustNotMatch: [
      "Sam's birthday party is on 14 June 2025 at the leisure centre.",
      'Please bring your birth certificate to the office by 12 May 2025.',
      'Pupils born between 1 September 2011 and 31 August 2012 are in Year 8.',
      'Reports for pupils born in 2011 will be sent home on 12/07/2025.',
      'The Year 8 trip to the Science Museum is on 12/03/2025; payment by 01/03/2025.',
      'Please do not email NHS numbers or dates of birth - use the secure portal instead.',
      'Date of birth: 31/06/2011 (for exam registration).',
      'DOB 12/13/1899',
      'Invoice 2024-11-05 ref 12/03/2011-44 attached.',
      'Version 1.2.3 was released on 4.5.2011.',
    ],
  },
});

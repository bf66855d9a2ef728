/**
 * National Insurance number (NINO): the tax and benefits identifier every UK adult has, sent around a
 * school for payroll, pensions and supply staff. Two prefix letters, six digits and a suffix A-D,
 * often spaced `YZ 61 48 68 B`. There is no check digit, but HMRC's rules (NIM39110) rule out much:
 * D, F, I, Q, U and V are never prefix letters, O never the second one, BG GB KN NK NT TN ZZ are never
 * issued, and the administrative prefixes CR MW NC PP PY PZ (and OO, FY, already out on letters)
 * belong to reference numbers that are not NINOs.
 *
 * An upper-case value with its suffix is distinctive enough to report alone. Lower-case values and
 * values without the suffix (it is not needed for uniqueness, and forms often drop it) need an NI
 * label: without the suffix, `ON 12 03 24` is a date.
 */
import { compact, patternRecognizer } from '../recognizer.js';

const NEVER_ISSUED_PREFIXES = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);
const ADMINISTRATIVE_PREFIXES = new Set(['CR', 'MW', 'NC', 'PP', 'PY', 'PZ']);

export function ninoValid(value: string): boolean {
  const nino = compact(value);
  if (!/^[A-Z]{2}\d{6}[A-D]?$/.test(nino)) return false;
  if ('DFIQUV'.includes(nino[0]!) || 'DFIOQUV'.includes(nino[1]!)) return false;
  const prefix = nino.slice(0, 2);
  return !NEVER_ISSUED_PREFIXES.has(prefix) && !ADMINISTRATIVE_PREFIXES.has(prefix);
}

export const niNumber = patternRecognizer({
  id: 'personal_data.ni_number',
  kind: 'ni_number',
  description: 'A National Insurance number (valid prefix and suffix)',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  patterns: [
    {
      name: 'prefix, six digits and suffix',
      regex: /(?<![\p{L}\p{N}])[A-Z]{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-D](?![\p{L}\p{N}])/gu,
      score: 0.6,
    },
    {
      // Lower case with its suffix; either case without it, written solid or, in capitals, spaced.
      // A lone character after the digits is a wrong suffix (`AA 12 34 56 H`), not a missing one.
      name: 'prefix and six digits',
      regex:
        /(?<![\p{L}\p{N}])(?:[A-Za-z]{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-Da-d]|(?:[A-Za-z]{2}\d{6}|[A-Z]{2}[ -]\d{2}[ -]\d{2}[ -]\d{2})(?![ -][\p{L}\p{N}](?![\p{L}\p{N}])))(?![\p{L}\p{N}])/gu,
      score: 0.3,
    },
  ],
  validate: (value) => (ninoValid(value) ? undefined : false),
  context: { words: ['ni', 'ni number', 'ni no', 'nino', 'national insurance', 'insurance number', 'nat ins'] },
  keep: { start: 2, end: 1 },
  examples: {
    mustMatch: [
      'My National Insurance number is YZ 61 48 68 B, for the payroll form.',
      'Supply teacher details: Amy Clarke, NI PR 123612C.',
      'Pension enrolment for Tom Reid: NI number jl636880d.',
      'HR need your national insurance no. - I have AC 35 32 87 on file, can you confirm?',
      'Name,Role,NI number\n"Jo Smith",TA,OC725849A\n"Sam Patel",Cover supervisor,ST931110A',
    ],
    mustNotMatch: [
      'My National Insurance number is AA 12 34 56 H, for the payroll form.',
      'Pension enrolment for Tom Reid: NI number DA707380B.',
      'Supply teacher details: Amy Clarke, NI OV631189C.',
      'HR need your national insurance no. - I have nt 99 88 77 a on file, can you confirm?',
      'HR need your national insurance no. - I have MW 12 34 56 A on file, can you confirm?',
      'My National Insurance number is AB 12 34 56 1, for the payroll form.',
      'Part AB123456 is back in stock.',
      'Please do not email NI numbers; payroll has them already.',
      'The coach company VAT number is GB 770 381 235.',
      'Supplier VAT no. GB 242338087388 (catering contract).',
    ],
  },
});

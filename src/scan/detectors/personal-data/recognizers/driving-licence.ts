/**
 * UK (DVLA) driving licence number: asked for by trusts that let staff drive minibuses and by hire
 * firms for trips. Sixteen characters that encode the holder: the first five letters of the surname
 * padded with 9s, the decade digit of the birth year, the birth month (plus 50 for women), the day,
 * the year digit, two initials (the second a 9 when there is none), a tie-break digit and two
 * computer check letters. `MORGA753116SM9IJ` is Morgan, a woman born 11 March 1976, initials S M.
 *
 * The check letters' algorithm is not published, so the date is validated instead (month 01-12 or
 * 51-62, a day that month has). A well-formed value is reported alone: sixteen characters in this
 * mix of letters, padded 9s and a real date are not an order number. A licence label raises it.
 */
import { compact, patternRecognizer } from '../recognizer.js';

/** Longest day in each month; 29 for February because the licence holds no century. */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

export function drivingLicenceDateValid(value: string): boolean {
  const licence = compact(value);
  if (licence.length !== 16) return false;
  const monthField = Number(licence.slice(6, 8));
  const month = monthField > 50 ? monthField - 50 : monthField;
  const day = Number(licence.slice(8, 10));
  return month >= 1 && month <= 12 && day >= 1 && day <= DAYS_IN_MONTH[month - 1]!;
}

export const drivingLicence = patternRecognizer({
  id: 'personal_data.driving_licence',
  kind: 'driving_licence',
  description: 'A UK driving licence number (valid date of birth)',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  patterns: [
    {
      // Surname (9s only as padding), birth digits, initials, tie-break digit, check letters; the
      // licence prints it solid, people copy it in three blocks.
      name: 'surname, birth date, initials and check letters',
      regex:
        /(?<![\p{L}\p{N}])[A-Z](?:[A-Z]{4}|[A-Z]{3}9|[A-Z]{2}99|[A-Z]999|9999) ?\d[0156]\d[0-3]\d\d ?[A-Z][A-Z9]\d[A-Z]{2}(?![\p{L}\p{N}])/gu,
      score: 0.3,
    },
  ],
  validate: drivingLicenceDateValid,
  checkedScore: 0.6,
  context: { words: ['driving licence', 'driving license', 'licence', 'license', 'dvla', 'licence number', 'driver number'] },
  keep: { start: 0, end: 2 },
  examples: {
    mustMatch: [
      'Minibus driver check: Sarah Morgan, licence MORGA753116SM9IJ, categories B and D1.',
      'For the van hire they need your driving licence number - I have JONES 610042 AB9CD on file.',
      'Name,Role,Driving licence\n"Sarah Morgan",PE,MORGA753116SM9IJ\n"Ian Li",Science,LI999801011IL9XY',
    ],
    mustNotMatch: [
      'Minibus driver check: Sarah Morgan, licence MORGA752306SM9IJ, categories B and D1.',
      'Minibus driver check: Sarah Morgan, licence MORGA763116SM9IJ.',
      'Tracking reference MORGA753116SM9IJX is with the courier.',
      'Please do not email driving licence numbers; bring the licence to the office.',
      'The coach company VAT number is GB 770 381 235.',
    ],
  },
});

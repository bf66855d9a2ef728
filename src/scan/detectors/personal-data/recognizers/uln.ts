/**
 * Unique Learner Number (ULN): the Learning Records Service's ten-digit number for everyone over 13
 * in publicly funded education, on exam entries, apprenticeship and college applications. The last
 * digit is a check: the first nine digits weighted 10 down to 2, summed, mod 11; a remainder of 0 is
 * never issued and otherwise the check digit is 10 minus the remainder (ESFA ILR rule ULN_04, whose
 * remainder 10 gives check digit 0). ULNs never start with 0, which keeps UK phone numbers out.
 *
 * One random ten-digit number in eleven passes, so a number is reported only with a label near it
 * (`ULN`, `unique learner number`) or under a ULN column. The NHS number has the same shape and a
 * similar check; where both pass, the label decides which kind is reported.
 */
import { compact, insideLongerNumber, patternRecognizer } from '../recognizer.js';

export function ulnCheckDigitValid(value: string): boolean {
  const digits = compact(value);
  if (!/^[1-9]\d{9}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
  const remainder = sum % 11;
  return remainder !== 0 && 10 - remainder === Number(digits[9]);
}

export const uln = patternRecognizer({
  id: 'personal_data.uln',
  kind: 'uln',
  description: 'A Unique Learner Number (valid check digit) given with its label',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  fieldMustMatch: /uln|learner|lrs/i,
  // A leading `+` is an international phone number's.
  patterns: [{ name: 'ten digits', regex: /(?<![\p{L}\p{N}+])[1-9]\d{9}(?![\p{L}\p{N}])/gu, score: 0.2 }],
  validate: ulnCheckDigitValid,
  checkedScore: 0.4,
  exclude: (view, start, end) => insideLongerNumber(view.text, start, end),
  context: { words: ['uln', 'ulns', 'unique learner number', 'learner number', 'learner no', 'lrs'] },
  keep: { start: 0, end: 3 },
  examples: {
    mustMatch: [
      'Apprenticeship application for Jack Lewis: ULN 1000000043, DOB on file.',
      'The exam board rejected the entry for Holly, unique learner number 7596577570. Is it right?',
      'Name,Form,ULN\n"Chloe Johnson",12B,2269759965\n"Ava Wood",13A,4949322957',
    ],
    mustNotMatch: [
      'Apprenticeship application for Jack Lewis: ULN 1000000004, DOB on file.',
      'The exam board rejected the entry for Holly, ULN 2410925880. Is it right?',
      'Order 1000000043 has been dispatched.',
      'Call the exams officer on 01632 960 123 or +441632960123 about the ULN upload.',
      'Invoice 4111 1000000043 was paid.',
      'Please do not email ULNs or exam results to parents.',
      'The coach company VAT number is GB 770 381 235.',
    ],
  },
});

/**
 * NHS number: ten digits, usually written 3-3-4, whose last digit is a mod-11 check over the first
 * nine (weights 10 down to 2). One random ten-digit number in eleven passes, so a number is reported
 * only with a label near it (`NHS no.`) or under an `NHS number` column.
 */
import { compact, insideLongerNumber, patternRecognizer } from '../recognizer.js';

export function nhsCheckDigitValid(value: string): boolean {
  const digits = compact(value);
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 10) return false;
  return (check === 11 ? 0 : check) === Number(digits[9]);
}

export const nhsNumber = patternRecognizer({
  id: 'personal_data.nhs_number',
  kind: 'nhs_number',
  description: 'An NHS number (valid mod-11 check digit) given with its label',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  patterns: [{ name: 'ten digits (3-3-4)', regex: /(?<![\p{L}\p{N}])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\p{L}\p{N}])/gu, score: 0.2 }],
  validate: nhsCheckDigitValid,
  checkedScore: 0.4,
  exclude: (view, start, end) => insideLongerNumber(view.text, start, end),
  context: { words: ['nhs', 'nhs no', 'nhs number', 'health number', 'chi number', 'patient number'] },
  keep: { start: 3, end: 0 },
  examples: {
    mustMatch: [
      'Please note NHS number 943 476 5919 against Chloe in the medical tab.',
      'Consent form received (NHS no. 9434765919).',
      'Name,Form,NHS number\n"Chloe Johnson",10B,"943 476 5919"\n"Ava Wood",7A,"999 020 8409"',
    ],
    mustNotMatch: [
      'Please note NHS number 943 476 5918 against Chloe in the medical tab.',
      'Order 943 476 5919 has been dispatched.',
      'Card 4111 943 476 5919 was charged.',
      'Please do not email NHS numbers or dates of birth - use the secure portal instead.',
    ],
  },
});

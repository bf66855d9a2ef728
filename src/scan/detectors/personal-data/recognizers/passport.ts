/**
 * Passport number: trip lists and right-to-work checks put pupils' and staff's passport numbers in
 * mail. A UK passport number is nine digits, every generation including the 2020 blue booklet (NHS
 * Data Dictionary: nine numeric characters); pupils on a trip list also travel on Irish, Polish,
 * Italian and Indian passports, whose numbers are one or two letters and seven digits.
 *
 * There is no check digit outside the machine-readable zone, and nine digits are anything, so a
 * number is reported only with `passport` next to it or as a passport column header.
 */
import { insideLongerNumber, patternRecognizer } from '../recognizer.js';

export const passportNumber = patternRecognizer({
  id: 'personal_data.passport',
  kind: 'passport',
  description: 'A passport number given with its label',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  fieldMustMatch: /passport/i,
  patterns: [
    { name: 'nine digits, or letters and seven digits', regex: /(?<![\p{L}\p{N}])(?:\d{9}|[A-Z]{1,2}\d{7})(?![\p{L}\p{N}])/gu, score: 0.2 },
  ],
  exclude: (view, start, end) => insideLongerNumber(view.text, start, end),
  context: { words: ['passport', 'passports', 'passport no', 'passport number'], before: 5, after: 2 },
  keep: { start: 0, end: 3 },
  examples: {
    mustMatch: [
      "For the Paris trip insurance: Ella Brown, passport number 925076473, expires 2031.",
      'Passport no. PA1234567 (Irish) for Conor - please add it to the visit form.',
      'Name,Form,Passport number\n"Chloe Johnson",9B,925076473\n"Ava Wood",9A,533401372',
    ],
    mustNotMatch: [
      'Order 925076473 has been dispatched.',
      'Please bring your passport (or other right-to-work document) on your first day.',
      'Passport office helpline: 0300 222 0000.',
      'Please do not email passport scans or numbers; upload them to the trip portal.',
      'The coach company VAT number is GB 770 381 235.',
    ],
  },
});

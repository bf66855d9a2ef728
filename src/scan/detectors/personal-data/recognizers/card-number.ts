/**
 * Payment card number (PAN): parents send them for trip deposits and ParentPay top-ups, staff for
 * expenses. 12 to 19 digits, written solid, in fours, or 4-6-5 / 4-6-4 for Amex and Diners. The last
 * digit is a Luhn check, which one random number in ten passes, so a number is reported alone only
 * when its first digits (the IIN) and its length also belong to a card scheme. A Luhn-valid number
 * from outside the table (a new range, a store or fuel card) is reported only with a card word near it.
 */
import { compact, insideLongerNumber, patternRecognizer } from '../recognizer.js';

interface CardScheme {
  name: string;
  /** Inclusive ranges of the leading digits; both ends have the same number of digits. */
  ranges: ReadonlyArray<readonly [number, number]>;
  lengths: readonly number[];
}

const SIXTEEN_TO_NINETEEN = [16, 17, 18, 19];

/** Issuer ranges and lengths of the schemes accepted in the UK (the schemes' published IIN tables). */
const CARD_SCHEMES: readonly CardScheme[] = [
  { name: 'Visa', ranges: [[4, 4]], lengths: [13, 16, 19] },
  { name: 'Mastercard', ranges: [[51, 55], [2221, 2720]], lengths: [16] },
  { name: 'American Express', ranges: [[34, 34], [37, 37]], lengths: [15] },
  { name: 'Discover', ranges: [[6011, 6011], [644, 649], [65, 65]], lengths: SIXTEEN_TO_NINETEEN },
  { name: 'Diners Club', ranges: [[300, 305], [36, 36], [38, 39]], lengths: [14, 15, 16, 17, 18, 19] },
  { name: 'JCB', ranges: [[3528, 3589]], lengths: SIXTEEN_TO_NINETEEN },
  { name: 'Dankort', ranges: [[5019, 5019]], lengths: [16] },
  { name: 'UnionPay', ranges: [[62, 62]], lengths: SIXTEEN_TO_NINETEEN },
  { name: 'Maestro', ranges: [[50, 50], [56, 69]], lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
];

/** `GB` right before the digits makes them a VAT registration number, 12 digits for a branch. */
const AFTER_VAT_PREFIX = /(?<![\p{L}\p{N}])GB ?$/u;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** The scheme whose issuer range and length the number has, if any. */
export function cardScheme(digits: string): string | undefined {
  const scheme = CARD_SCHEMES.find(
    (s) =>
      s.lengths.includes(digits.length) &&
      s.ranges.some(([low, high]) => {
        const lead = Number(digits.slice(0, String(low).length));
        return lead >= low && lead <= high;
      }),
  );
  return scheme?.name;
}

export const cardNumber = patternRecognizer({
  id: 'personal_data.card_number',
  kind: 'card_number',
  description: 'A payment card number (valid Luhn check)',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  patterns: [
    {
      name: 'card number',
      regex:
        /(?<![\p{L}\p{N}])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}|\d{12,19})(?![\p{L}\p{N}])/gu,
      score: 0.3,
    },
  ],
  // A scheme number is as good as a passing check digit; an unknown range keeps the pattern's score.
  validate(value) {
    const digits = compact(value);
    if (digits.length < 12 || digits.length > 19 || !luhnValid(digits)) return false;
    return cardScheme(digits) !== undefined ? true : undefined;
  },
  checkedScore: 0.8,
  exclude: (view, start, end) =>
    insideLongerNumber(view.text, start, end) || AFTER_VAT_PREFIX.test(view.text.slice(Math.max(0, start - 3), start)),
  // Card numbers are often introduced at some length ("my card ending in the number below ..."):
  // a wider window than most labels.
  context: {
    words: ['card', 'cards', 'credit', 'debit', 'visa', 'mastercard', 'amex', 'maestro', 'diners', 'jcb', 'cvv', 'cvc', 'expiry'],
    before: 10,
  },
  keep: { start: 0, end: 4 },
  examples: {
    mustMatch: [
      "Use this card for the residential deposit: 4484070000000000, it's in my name.",
      'I paid for the trip with my card 4012-8888-8888-1881, expiry 09/27, can you refund it?',
      'For the ParentPay top up you can use 3714 496353 98431.',
      'Mastercard 5555 5555 5555 4444 - please charge the music lessons to this.',
      'My card ending in the number below was charged twice: 1748503543012',
      'Name,Trip,Card number\n"Jo Smith",Paris,4484070000000000\n"Sam Patel",Paris,5019717010103742',
    ],
    mustNotMatch: [
      'I paid for the trip with my card 4012-8888-8888-1882, expiry 09/27, can you refund it?',
      "Use this card for the residential deposit: 6011000400000002, it's in my name.",
      'Your order 1748503543012 has been dispatched.',
      'Tracking: 9400 1000 0000 0000 0000 00 is on its way.',
      'Please do not email card numbers; parents should pay through ParentPay.',
      'The coach company VAT number is GB 770 381 235.',
      'Supplier VAT no. GB 242338087388 (catering contract).',
      'Card payments are invoiced under VAT GB 242338087388.',
    ],
  },
});

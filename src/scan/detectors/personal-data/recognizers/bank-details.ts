/**
 * Bank details: a parent's account for a refund, a member of staff's for expenses, a supplier's
 * "new bank details" (the classic invoice-fraud lure). Two forms:
 *
 * - IBAN: country code, two check digits, then the national account number, printed in fours
 *   (`GB29 NWBK 6016 1331 9268 19`). The check digits are ISO 7064 mod 97-10, which one random value
 *   in 97 passes, and each country has one fixed length; together they are reported alone.
 * - A UK sort code and account number: `20-00-00` is also a date and eight digits are anything, so a
 *   sort code counts only under a `sort code` label and only with an eight-digit account number
 *   close by. Both values are reported, as one finding.
 */
import type { FieldView } from '../field-view.js';
import { insideLongerNumber, maskValue, patternRecognizer, type Candidate, type Recognizer } from '../recognizer.js';

/** IBAN length per country, from the SWIFT IBAN registry. */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
  IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
  LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
  SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

export function ibanValid(value: string): boolean {
  const iban = value.replace(/ /g, '');
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  // Country code and check digits move to the end; letters count 10..35; the remainder must be 1.
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const digits = code >= 65 ? String(code - 55) : ch;
    for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

const IDENTITY = {
  id: 'personal_data.bank_details',
  kind: 'bank_details',
  description: 'Bank account details (an IBAN with valid check digits, or a labelled sort code with its account number)',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
} as const;

const ibans = patternRecognizer({
  ...IDENTITY,
  patterns: [
    {
      // Solid or in fours; the last group may be short.
      name: 'IBAN',
      regex: /(?<![\p{L}\p{N}])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\p{L}\p{N}])/gu,
      score: 0.3,
    },
  ],
  validate: ibanValid,
  // The registered recognizer, bankDetails below, carries the examples for both forms.
  examples: { mustMatch: [], mustNotMatch: [] },
});

/** Cheap test before looking for sort codes at all: most fields never mention one. */
const SORT_CODE_HINT = /sort|s\/c/i;
const SORT_CODE = /(?<![\p{L}\p{N}])(?:\d{2}([- ])\d{2}\1\d{2}|\d{6})(?![\p{L}\p{N}])/gu;
const ACCOUNT_NUMBER = /(?<![\p{L}\p{N}])\d{4} ?\d{4}(?![\p{L}\p{N}])/gu;
const SORT_CODE_LABEL = { words: ['sort code', 'sortcode', 's/c'], before: 4, after: 2 };
/** How far from its sort code an account number may be: the rest of a sentence or a table row. */
const PAIR_DISTANCE = 60;
const PAIR_SCORE = 0.9;

/** The first account number within reach of a sort code: after it, else before it. */
function accountNear(text: string, sortStart: number, sortEnd: number): { start: number; end: number } | undefined {
  const inWindow = (from: number, to: number) => {
    const found: Array<{ start: number; end: number }> = [];
    ACCOUNT_NUMBER.lastIndex = from;
    for (let m = ACCOUNT_NUMBER.exec(text); m !== null && m.index + m[0].length <= to; m = ACCOUNT_NUMBER.exec(text)) {
      const end = m.index + m[0].length;
      if (!insideLongerNumber(text, m.index, end)) found.push({ start: m.index, end });
    }
    return found;
  };
  return inWindow(sortEnd, sortEnd + PAIR_DISTANCE)[0] ?? inWindow(Math.max(0, sortStart - PAIR_DISTANCE), sortStart).at(-1);
}

function sortCodesWithAccounts(view: FieldView): Candidate[] {
  const text = view.text;
  if (!SORT_CODE_HINT.test(text)) return [];
  const found: Candidate[] = [];
  // Account numbers are regex matches at word boundaries: two either coincide or do not touch.
  const pairedAccounts = new Set<number>();
  SORT_CODE.lastIndex = 0;
  for (let m = SORT_CODE.exec(text); m !== null; m = SORT_CODE.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    if (insideLongerNumber(text, start, end)) continue;
    const label = view.contextWord(start, end, SORT_CODE_LABEL);
    if (label === undefined) continue;
    const lastIndex = SORT_CODE.lastIndex;
    const account = accountNear(text, start, end);
    SORT_CODE.lastIndex = lastIndex;
    if (!account || pairedAccounts.has(account.start)) continue;
    pairedAccounts.add(account.start);
    const reason = `sort code and account number, near "${label}"`;
    found.push({ start, end, score: PAIR_SCORE, reason }, { ...account, score: PAIR_SCORE, reason });
  }
  return found;
}

export const bankDetails: Recognizer = {
  ...IDENTITY,
  find(view) {
    const found = ibans.find(view);
    const pairs = sortCodesWithAccounts(view);
    // An IBAN holds a sort code and account number, but solid or in fours, never as separate values.
    return found.length === 0 ? pairs : [...found, ...pairs.filter((p) => !found.some((c) => c.start < p.end && p.start < c.end))];
  },
  // The country code of an IBAN says little; of a sort code or account number, only the last digits show.
  mask: (value) => maskValue(value, /^[A-Z]/.test(value) ? { start: 2, end: 2 } : { start: 0, end: 2 }),
  examples: {
    mustMatch: [
      'Can finance update my bank details to GB29 NWBK 6016 1331 9268 19?',
      'Supplier bank change request: new IBAN GB82WEST12345698765432.',
      'Please refund the trip to my account: sort code 20-00-00, account number 55779911.',
      'Account 55779911, s/c 40 47 84, name Mrs J Patel.',
      'Name,Sort code,Account number\n"Jo Smith",20-00-00,55779911\n"Sam Patel",40-47-84,70872490',
    ],
    mustNotMatch: [
      'Can finance update my bank details to GB29 NWBK 6016 1331 9268 18?',
      'Parent asked for the overpayment to go to GB20LOYD32887612367380.',
      'Our sort code changed on 20-00-00 and nothing else.',
      'Trip payment of 12-03-24 for 55779911 pupils.',
      'Please do not email bank details or sort codes; use the secure form.',
      'The coach company VAT number is GB 770 381 235.',
      'Supplier VAT no. GB 242338087388 (catering contract).',
    ],
  },
};

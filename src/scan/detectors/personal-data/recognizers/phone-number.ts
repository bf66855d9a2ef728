/**
 * UK phone number tied to a person. School mail is full of phone numbers that are nobody's
 * personal data: the switchboard in every signature, the attendance line in a letter, the
 * council's admissions team. What leaks is a parent's mobile, a child's emergency contact, a
 * pupil's own number. So:
 *   - the number must have the shape of a UK number a person can hold (Ofcom's plan: 11 digits,
 *     10 for some 01 areas; 07 mobiles, 01/02 geographic, 03 non-geographic; never 08 or 09);
 *   - it is reported only when words near it tie it to a person (mum's mobile, emergency contact,
 *     text me), name its owner (`Mia's number`), or head its table column (`Mobile`, `Tel`). Even
 *     a mobile needs them: a bare mobile in a newsletter is as often the trip phone as anyone's;
 *   - in a signature, on a letterhead line, or beside organisational words (office, reception,
 *     switchboard, trip), it is dropped unless words name a third party ("Sam's mum's mobile -
 *     the office hasn't got it"), or the sender offers their own mobile ("text me on 07...").
 * A mobile scores above a landline, because people have mobiles and organisations have landlines.
 */
import type { FieldView } from '../field-view.js';
import { compact, insideLongerNumber, patternRecognizer, type Candidate, type Recognizer } from '../recognizer.js';
import { onHeaderLine, wordInClause } from './contact-context.js';

/** `+44 `, `0044 `, with the national `(0)` people keep after it: `+44 (0)20 ...`. */
const INTERNATIONAL = String.raw`(?:\+|00)44[ -]?(?:\(0\)[ -]?)?`;
/** Up to 13 digits in three or four groups, so two numbers side by side are not read as one. */
const GROUPS = String.raw`[ -]?\d{3,4}[ -]?\d{3,4}(?![\p{L}\p{N}])`;
const NOT_AFTER = String.raw`(?<![\p{L}\p{N}+/.])`;

const MOBILE = new RegExp(`${NOT_AFTER}(?:${INTERNATIONAL}|0)7\\d{1,3}${GROUPS}`, 'gu');
const LANDLINE = new RegExp(`${NOT_AFTER}(?:${INTERNATIONAL}\\(?|\\(0|0)[1-3]\\d{1,3}\\)?${GROUPS}`, 'gu');

/** The number as dialled inside the UK: `+44 (0)20 7946 0123` -> `02079460123`. */
export function nationalDigits(value: string): string {
  const digits = compact(value);
  if (digits.startsWith('0044')) return `0${digits.slice(4).replace(/^0/, '')}`;
  if (value.trimStart().startsWith('+') && digits.startsWith('44')) return `0${digits.slice(2).replace(/^0/, '')}`;
  return digits;
}

/**
 * Does the number fit the UK numbering plan for a number a person could hold: 07 mobiles (not 070
 * personal-numbering or 076 pager ranges, except the Isle of Man's 07624), 01 and 02 geographic,
 * 03 non-geographic?
 */
export function ukPhoneShapeValid(value: string): boolean {
  const national = nationalDigits(value);
  if (/^07(?:[1-57-9]\d{8}|624\d{6})$/.test(national)) return true;
  if (/^01[1-9]\d{7,8}$/.test(national)) return true;
  if (/^02[03489]\d{8}$/.test(national)) return true;
  return /^03[0347]\d{8}$/.test(national);
}

/**
 * Words that name the person whose number it is, other than the sender. Near the number they
 * outweigh organisational words ("Sam's mum's mobile - the office doesn't have it") and even a
 * signature block around it, which holds the sender's own details, never "dad's mobile".
 */
const THIRD_PARTY_WORDS = [
  'mum', "mum's", 'mummy', 'mother', "mother's", 'dad', "dad's", 'daddy', 'father', "father's", 'carer', "carer's",
  'guardian', "guardian's", 'grandma', "grandma's", 'grandad', "grandad's", 'grandpa', 'gran', "gran's", 'granny',
  'nan', "nan's", 'nana', 'nanna', 'grandparent', 'grandparents', 'aunt', 'auntie', 'aunty', 'uncle', 'stepmum',
  'stepdad', 'brother', "brother's", 'sister', "sister's", 'husband', "husband's", 'wife', "wife's",
  'childminder', 'foster', 'next of kin', 'emergency contact', 'emergency number', 'her number', 'his number',
  'their number', 'her mobile', 'his mobile', 'text her', 'call her', 'ring her', 'phone her', 'text him',
  'call him', 'ring him', 'phone him', 'her phone', 'his phone', 'parent contact', 'parent contacts', 'home number',
  'home phone', 'home tel', 'home landline',
] as const;

/**
 * The sender giving their own number ("text me on"). That is not organisational either, so it
 * outweighs a signature block around it; beside organisational words it outweighs them only for a
 * mobile, because "call me at the office on 0161 ..." is the office's line.
 */
const SELF_WORDS = [
  'my number', 'my mobile', 'my phone', 'my new number', 'text me', 'call me', 'ring me', 'phone me', 'message me',
  'whatsapp me', 'reach me', 'me on', 'me at',
] as const;

/** Words that tie a number to a person: the above, and the kind of number. */
const PERSONAL_WORDS = [
  ...THIRD_PARTY_WORDS,
  ...SELF_WORDS,
  'parent', "parent's", 'parents', 'mobile', 'mob', 'cell', 'whatsapp', 'contact number', 'contact no',
  'contact tel', 'phone number', 'phone no', 'home', 'personal number', 'private number', 'new number',
  'their phone', 'your number',
] as const;

/** Words that make a number an organisation's: the school's, the council's, a service's, a trip's. */
const ORGANISATIONAL_WORDS = [
  'office', 'reception', 'switchboard', 'main school', 'school', "school's", 'academy', "academy's", 'trust',
  'admissions', 'attendance', 'enquiries', 'enquiry', 'fax', 'helpline', 'hotline', 'freephone', 'council',
  "council's", 'team', 'department', 'dept', 'service', 'services', 'desk', 'surgery', 'clinic', 'hospital', 'ltd',
  'limited', 'plc', 'company', 'us', 'option', 'ext', 'extension', 'trip', 'trips', 'work', 'duty', 'on call',
] as const;

/** What a possessive owner may have: `Mia's number`, `Jo's phone`. */
const OWNED_NUMBER_WORDS = new Set(['number', 'no', 'phone', 'mobile', 'tel', 'landline', 'contact']);
/** Possessives that are an organisation's, not a person's. */
const ORGANISATIONAL_OWNERS = new Set<string>(ORGANISATIONAL_WORDS.filter((w) => w.endsWith("'s")));

/**
 * A table's phone column: rows of a table are records, mostly of people, and a column header says
 * "Phone" or "Tel" where a sentence would say whose number it is. Organisational rows ("Riverbank
 * Academy, 020 ...") are dropped before this by the words beside the number.
 */
const PHONE_COLUMN = /phone|\btel\b|mobile|contact|number/i;

/** Lifts either kind of number over the detector's 0.5 once something ties it to a person. */
const TIE_BOOST = 0.35;

/** `Mia's number: 07700 900123`: a named person's number, just before it. */
function possessiveOwner(view: FieldView, start: number, end: number): string | undefined {
  const before = view.wordsAround(start, end, 4, 0).before;
  for (let i = 0; i + 1 < before.length; i++) {
    const owner = before[i]!;
    if (owner.endsWith("'s") && !ORGANISATIONAL_OWNERS.has(owner) && OWNED_NUMBER_WORDS.has(before[i + 1]!)) return `${owner} ${before[i + 1]}`;
  }
  return undefined;
}

function phoneColumn(view: FieldView, start: number): string | undefined {
  const header = view.tableCell(start)?.header;
  return header !== undefined && PHONE_COLUMN.test(header) ? header : undefined;
}

const scoredNumbers = patternRecognizer({
  id: 'personal_data.phone_number',
  kind: 'phone_number',
  description: "A UK phone number tied to a person (a parent's mobile, an emergency contact)",
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'contact',
  patterns: [
    { name: 'UK mobile number', regex: MOBILE, score: 0.3 },
    { name: 'UK landline number', regex: LANDLINE, score: 0.2 },
  ],
  validate: (value) => (ukPhoneShapeValid(value) ? undefined : false),
  exclude(view, start, end) {
    if (insideLongerNumber(view.text, start, end) || onHeaderLine(view, start)) return true;
    const organisationalWord = wordInClause(view, start, end, { words: ORGANISATIONAL_WORDS, before: 8, after: 3 }) !== undefined;
    if (!organisationalWord && !view.inSignature(start)) return false;
    if (wordInClause(view, start, end, { words: THIRD_PARTY_WORDS, before: 8, after: 4 }) !== undefined) return false;
    const offeredAsOwn = wordInClause(view, start, end, { words: SELF_WORDS, before: 6, after: 2 }) !== undefined;
    const mobile = nationalDigits(view.text.slice(start, end)).startsWith('07');
    return !(offeredAsOwn && (mobile || !organisationalWord));
  },
  // Every well-shaped number comes back: `phoneNumber` below decides what ties it to a person.
  threshold: 0,
  keep: { start: 3, end: 0 },
  examples: {
    mustMatch: [
      "Maya's mum's mobile is 07700 900123 if you need to call her.",
      'Emergency contact for Theo Hughes: 0161 496 0499 (dad).',
      'My new number is 07700900123, please update the contact sheet.',
      'Text me on +44 7700 900456 when you are outside.',
      'Can you ring her nan on (020) 7946 0123 after 4pm?',
      "Mia's number: 07700 900123",
      "I'm at school till 4 - text me on 07700 900426 when you're outside.",
      'Please call her on +44 (0)20 7946 0017 about the pick-up.',
      'Name,Form,Contact number\n"Mia Williams",10D,"01632 960123"\n"Ava Wood",7A,"0113 496 0689"',
      'Child\tParent/carer\tMobile\nArlo Bennett\tChris Bennett\t07700 900238\nIvy Nkemelu\tChidi Nkemelu\t07700 900675',
      'Pupil,Tel\nAva Hall,0113 496 0689\nLeo Ward,0161 496 0499',
    ],
    mustNotMatch: [
      'Kind regards,\nJo Smith\nAttendance Officer\nTel: 0161 496 0000\nMobile: 07700 900123',
      'Rhiannon Hughes\nHead of English\nRiverbank Academy\nT: 020 7946 0210 | www.riverbank-trust.sch.uk',
      'If your child is absent, please phone the school office on 0161 496 0000 before 9am.',
      'Contact IT Support straight away on 020 7946 0100 option 2 so we can reset your password.',
      'For a place in September, call the council admissions team on 0300 123 4567.',
      'Order 07700 900123 4455 has been dispatched.',
      'Fax: +44 (0)20 7493 5922.',
      'The trip mobile on the day will be 07700 900999.',
      "The school's number is 0161 496 0000.",
      "Maya's mum's mobile is 09098 790123 if you need to call her.",
      'Invoice 0161 496 0499 is attached.',
      'School,Phone\nRiverbank Academy,020 7946 0210\nAshgrove Academy,020 7946 0455',
    ],
  },
});

/** What ties a number to a person: words in its own clause, a possessive owner, or its column. */
function personalTie(view: FieldView, start: number, end: number): string | undefined {
  return (
    wordInClause(view, start, end, { words: PERSONAL_WORDS, before: 8, after: 4 }) ??
    possessiveOwner(view, start, end) ??
    phoneColumn(view, start)
  );
}

export const phoneNumber: Recognizer = {
  ...scoredNumbers,
  find(view) {
    const found: Candidate[] = [];
    for (const candidate of scoredNumbers.find(view)) {
      const tie = personalTie(view, candidate.start, candidate.end);
      if (tie !== undefined) found.push({ ...candidate, score: candidate.score + TIE_BOOST, reason: `${candidate.reason}, near "${tie}"` });
    }
    return found;
  },
};

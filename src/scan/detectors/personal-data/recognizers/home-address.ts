/**
 * Home address: a UK postcode with a street address before it (house number and street) or with
 * words that make it someone's address (moved to, lives at, send the letter to). The postcode is
 * the anchor because it is cheap to find and hard to mistake, and it is validated against the
 * Royal Mail format rules (which letters may stand where), not a list of real areas, so invented
 * areas in test data and new areas pass alike. A postcode alone in running text is usually a venue
 * ("the match is at WX4 9PT"), so it needs one of the two.
 *
 * The value reported, and masked, is the whole address: the run of house numbers and capitalised
 * words before the postcode on its line or the line above, so the evidence never shows the street.
 * Every school signature, letterhead and registered-office footer carries an address: those are
 * dropped by the signature test and by organisational words (academy, registered office, council,
 * club) just before the street, unless words in the same sentence say it is a person's home
 * ("moved to", "lives at", "her nan's"). An address written in a sentence ("could you drop the
 * forms round to ...") is not a signature's, wherever the signature test thinks one starts.
 */
import type { FieldView } from '../field-view.js';
import { maskValue, type Candidate, type Recognizer } from '../recognizer.js';
import { onHeaderLine, wordInClause } from './contact-context.js';

/**
 * Outward code (A9, A99, AA9, AA99, A9A, AA9A with the letters each position allows), an optional
 * space, inward code (digit and two letters, never C I K M O V). Matched without regard to case and
 * then required to be all one case.
 */
const POSTCODE =
  /(?<![\p{L}\p{N}])(?:[A-PR-UWYZ](?:\d[\dA-HJKPSTUW]?|[A-HK-Y]\d[\dABEHMNPRV-Y]?) ?\d[ABD-HJLNP-UW-Z]{2})(?![\p{L}\p{N}])/giu;

const STREET_WORDS = new Set([
  'road', 'rd', 'street', 'st', 'avenue', 'ave', 'close', 'lane', 'ln', 'drive', 'dr', 'way', 'court', 'ct',
  'crescent', 'cres', 'gardens', 'gdns', 'garden', 'place', 'pl', 'terrace', 'tce', 'grove', 'row', 'walk',
  'mews', 'square', 'sq', 'hill', 'park', 'view', 'rise', 'green', 'bank', 'parade', 'gate', 'wharf', 'yard',
  'vale', 'fields', 'field', 'meadow', 'meadows', 'croft', 'chase', 'mead', 'boulevard', 'broadway', 'parkway',
  'circus', 'embankment', 'esplanade', 'promenade', 'quay', 'wynd', 'end', 'heights', 'cottages', 'approach',
  'common', 'villas', 'path', 'dene', 'brow', 'orchard', 'hollow', 'nook', 'glade', 'copse', 'crossing',
]);
/** One-word street names: Kingsway, Eastgate, Parkside, Whitefield. */
const STREET_SUFFIX = /(?:way|gate|side|fields?|wood|dale|bank|hill|grove|lane|moor)$/i;
/** `14`, `3a`, `14-16`. */
const HOUSE_NUMBER = /^\d{1,4}[A-Za-z]?(?:-\d{1,4}[A-Za-z]?)?$/;
/** A word of an address run: a house number or a capitalised word (`Larch`, `St.`). */
const ADDRESS_WORD = /^(?:\d{1,4}[A-Za-z]?(?:-\d{1,4}[A-Za-z]?)?|\p{Lu}[\p{L}'’.-]*)$/u;
const WORD_CHAR = /[\p{L}\p{N}'’.-]/u;
const MAX_ADDRESS_WORDS = 10;
const LOWER_CASE_WORD = /(?<![\p{L}\p{N}])\p{Ll}+/gu;
const MIN_PROSE_WORDS = 3;
const MAX_PROSE_LEAD = 200;
/** Words between a house number and the street word: `14 Larch Close`, `2 The Old Mill Lane`. */
const MAX_STREET_NAME_WORDS = 4;

/** Words that make the postcode someone's address. */
const ADDRESS_WORDS = [
  'address',
  'home address',
  'postal address',
  'postcode',
  'post code',
  'moved to',
  'moving to',
  'move to',
  'lives at',
  'live at',
  'living at',
  'lives on',
  'staying at',
  'stays at',
  'resides at',
  'letter to',
  'post it to',
  'posted to',
  'send it to',
  'deliver to',
  'up from',
  'collect from',
  'collected from',
  'drop off at',
  'dropped off at',
  'taxi',
  'home',
  'house',
] as const;

/**
 * Words naming a person's home outright. They outweigh organisational words nearby and the
 * signature block around the address, which holds the sender's or the school's, never "moved to".
 */
const PERSONAL_WORDS = [
  'home address',
  'moved to',
  'moving to',
  'lives at',
  'live at',
  'living at',
  'staying at',
  'my address',
  'her address',
  'his address',
  'their address',
  'new address',
  'staying with',
  'lives with',
  'up from',
  'taxi',
  'mum',
  "mum's",
  'dad',
  "dad's",
  'nan',
  "nan's",
  'gran',
  "gran's",
  'grandma',
  "grandma's",
  'grandad',
  "grandad's",
  'grandparents',
  'aunt',
  'auntie',
  'uncle',
  'carer',
  "carer's",
  'foster',
] as const;

/** Words before an address that make it an organisation's: a school, a council, a company. */
const ORGANISATIONAL_WORDS = [
  'registered office',
  'registered address',
  'po box',
  'p o box',
  'office',
  'academy',
  'academies',
  'school',
  'college',
  'trust',
  'council',
  'centre',
  'center',
  'headquarters',
  'hq',
  'ltd',
  'limited',
  'plc',
  'llp',
  'inc',
  'company',
  'services',
  'department',
  'reception',
  'surgery',
  'practice',
  'church',
  'library',
  'club',
  'clubhouse',
  'fc',
  'afc',
  'rfc',
  'hall',
  'museum',
  'stadium',
  'leisure',
  'theatre',
  'hotel',
  'university',
  'nursery',
  'hospital',
  'clinic',
  'pharmacy',
  'police',
  'station',
] as const;

const ORGANISATIONAL_NAME_WORDS = new Set<string>(ORGANISATIONAL_WORDS);

/** Start of the run of address words that ends at `end`: back over one line break at most. */
export function addressRunStart(text: string, end: number): number {
  let start = end;
  let lineBreaks = 0;
  for (let words = 0; words < MAX_ADDRESS_WORDS; words++) {
    let at = start;
    while (at > 0 && /[ ,(\r\n]/.test(text[at - 1]!)) {
      if (text[at - 1] === '\n' && ++lineBreaks > 1) return start;
      at--;
    }
    let wordStart = at;
    while (wordStart > 0 && WORD_CHAR.test(text[wordStart - 1]!)) wordStart--;
    if (wordStart === at || !ADDRESS_WORD.test(text.slice(wordStart, at))) return start;
    start = wordStart;
  }
  return start;
}

/** Index of the house number that starts a street address in `words`, or -1. */
export function streetNumberIndex(words: readonly string[]): number {
  for (let i = 0; i < words.length; i++) {
    if (!HOUSE_NUMBER.test(words[i]!)) continue;
    for (let j = i + 1; j < words.length && j <= i + MAX_STREET_NAME_WORDS; j++) {
      const word = words[j]!.replace(/\.$/, '');
      if (HOUSE_NUMBER.test(word)) break;
      if (STREET_WORDS.has(word.toLowerCase()) || STREET_SUFFIX.test(word)) return i;
    }
  }
  return -1;
}

/**
 * Does the address follow a sentence on its line ("could you drop the forms round to ...")? A
 * signature's address lines are fragments ("Mill Lane, Westvale WX3 7QP"), so a sentence found
 * inside what looks like a signature block was written as text.
 */
function readsAsProse(view: FieldView, start: number): boolean {
  const lineStart = view.lines[view.lineIndexAt(start)]!.start;
  const lead = view.text.slice(Math.max(lineStart, start - MAX_PROSE_LEAD), start);
  return (lead.match(LOWER_CASE_WORD) ?? []).length >= MIN_PROSE_WORDS;
}

function isOneCase(value: string): boolean {
  return value === value.toUpperCase() || value === value.toLowerCase();
}

function findAddresses(view: FieldView): Candidate[] {
  const found: Candidate[] = [];
  const text = view.text;
  POSTCODE.lastIndex = 0;
  for (let m = POSTCODE.exec(text); m !== null; m = POSTCODE.exec(text)) {
    if (!isOneCase(m[0])) continue;
    const postcodeStart = m.index;
    const end = postcodeStart + m[0].length;
    if (onHeaderLine(view, postcodeStart)) continue;
    const start = addressRunStart(text, postcodeStart);
    const words = text.slice(start, postcodeStart).split(/[\s,(]+/).filter((w) => w !== '');
    const numberAt = streetNumberIndex(words);
    // Organisational words count just before the street, not in it (School Lane, Church Street),
    // nor further back in the sentence: "the school taxi will drop her at 7 Elm Grove".
    const nameBeforeStreet = words.slice(0, numberAt < 0 ? words.length : numberAt).map((w) => w.toLowerCase());
    const organisational =
      (view.inSignature(postcodeStart) && !readsAsProse(view, start)) ||
      nameBeforeStreet.some((w) => ORGANISATIONAL_NAME_WORDS.has(w)) ||
      wordInClause(view, start, end, { words: ORGANISATIONAL_WORDS, before: 4, after: 2 }) !== undefined;
    const personal = wordInClause(view, start, end, { words: PERSONAL_WORDS, before: 8, after: 3 });
    if (organisational && personal === undefined) continue;
    const label = personal ?? view.contextWord(start, end, { words: ADDRESS_WORDS, before: 8, after: 3 });
    if (numberAt < 0 && label === undefined) continue;
    const reasons = [numberAt >= 0 ? 'street address with postcode' : 'postcode'];
    if (label !== undefined) reasons.push(`near "${label}"`);
    const score = (numberAt >= 0 ? 0.6 : 0.3) + (label !== undefined ? 0.35 : 0);
    found.push({ start, end, score, reason: reasons.join(', ') });
  }
  return found;
}

export const homeAddress: Recognizer = {
  id: 'personal_data.home_address',
  kind: 'home_address',
  description: 'A home address (street address or postcode given as where someone lives)',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'contact',
  find: findAddresses,
  mask: (value) => maskValue(value, { start: 0, end: 0 }),
  examples: {
    mustMatch: [
      'Can you send the letter to 54 Station Road, Bristol NG7 3JB instead please?',
      'Aaron Kowalski has moved to 99 The Crescent, Oxford LE2 3PQ.',
      'mum and Ruby have moved to 31 Poplar Grove,\nWestvale WX6 2NB - please update your records',
      'New home address for Arthur: 62 Church Street, Nottingham B29 5QT.',
      'The taxi should pick Aaron up from 41 Kingsway, Cardiff S10 4BT at 7.45.',
      'ps my number is 07700 900829, I live at 5\nRowan Drive (WX4 6JL) if you want to come round',
      'Her postcode is wx4 9pt, the driver will need it.',
      'Name,Form,Address\n"Amelia Murphy",10D,"94 Church Street, Oxford SE15 9WP"\n"Leo Roberts",11A,"Flat 6, Hazel Court, Exeter BS16 5UE"',
      'Please post it to 14-16 Larch Close, Westvale WX4 9PT.',
    ],
    mustNotMatch: [
      'Rhiannon Hughes\nHead of English\nRiverbank Academy\nMill Lane, Westvale WX3 7QP\nT: 020 7946 0210 | www.riverbank-trust.sch.uk',
      'Riverbank Academies Trust is a company limited by guarantee (company no. 08715362). Registered office: 4 Harbour Court, Quay Street,\nWestvale WX1 1TR.',
      'Kind regards,\nSam Lee\n12 High Street\nLeeds LS6 1ZB',
      'School Admissions Team\nWestvale Council\nCivic Centre, Westvale WX1 2AA\nwww.westvale.gov.uk/admissions',
      'The county final is at the leisure centre, WX4 9PT, on Saturday.',
      'Can you send the letter to 54 Station Road, Bristol NG7 3CB instead please?',
      'Our VAT number is GB 123 4567 89 and order ref LS6 1ZB-2291.',
      'The coach leaves from Riverbank Academy, 2 Mill Lane, Westvale WX3 7QP at 8am.',
    ],
  },
};

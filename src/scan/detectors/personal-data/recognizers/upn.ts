/**
 * Unique Pupil Number (UPN): the DfE's identifier for a pupil in an English state school, on every
 * census return, CTF and exam entry. Thirteen characters: a check letter, then the 3-digit local
 * authority number, the 4-digit establishment number, the last two digits of the year and a 3-digit
 * serial. A temporary UPN, used until the pupil's real one arrives, ends in a letter instead of the
 * serial's last digit (DfE data standard: `AnnnnnnnnnnnA`).
 *
 * The check letter is the sum of each later character's value times its position (2..13), mod 23,
 * as a letter of ABCDEFGHJKLMNPQRTUVWXYZ (I, O and S are never used). One random value in 23 passes,
 * and the local authority number must fall in one of the DfE's blocks; together with the shape, a
 * letter then twelve digits that nothing else in school mail has, that is reported without a label.
 */
import { patternRecognizer } from '../recognizer.js';

/** Check letters and temporary-UPN final letters, in value order: A is 0, Z is 22. */
const UPN_LETTERS = 'ABCDEFGHJKLMNPQRTUVWXYZ';

/**
 * Blocks the DfE numbers local authorities in: inner London 201-213, outer London 301-320,
 * metropolitan districts 330-394, Isles of Scilly 420, Welsh authorities 660-681, shire counties and
 * unitary authorities 800-943. A block, not the list of current codes: reorganisations add codes
 * (838-840, 940-943 since 2019) and old UPNs keep abolished ones.
 */
const LA_NUMBER_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [201, 213],
  [301, 320],
  [330, 394],
  [420, 420],
  [660, 681],
  [800, 943],
];

function characterValue(ch: string): number {
  return ch >= '0' && ch <= '9' ? Number(ch) : UPN_LETTERS.indexOf(ch);
}

export function upnValid(value: string): boolean {
  if (!/^[A-Z]\d{11}[\dA-Z]$/.test(value)) return false;
  const laNumber = Number(value.slice(1, 4));
  if (!LA_NUMBER_BLOCKS.some(([low, high]) => laNumber >= low && laNumber <= high)) return false;
  let sum = 0;
  for (let i = 1; i < 13; i++) {
    const weight = i + 1;
    const charValue = characterValue(value[i]!);
    if (charValue < 0) return false;
    sum += charValue * weight;
  }
  return UPN_LETTERS[sum % 23] === value[0];
}

export const upn = patternRecognizer({
  id: 'personal_data.upn',
  kind: 'upn',
  description: 'A Unique Pupil Number (valid check letter)',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  patterns: [
    {
      name: 'check letter and twelve characters',
      regex: /(?<![\p{L}\p{N}])[A-HJ-NP-RT-Z]\d{11}[\dA-HJ-NP-RT-Z](?![\p{L}\p{N}])/gu,
      score: 0.3,
    },
  ],
  validate: upnValid,
  checkedScore: 0.8,
  context: { words: ['upn', 'upns', 'unique pupil number', 'pupil number', 'former upn', 'temporary upn'] },
  keep: { start: 4, end: 0 },
  examples: {
    mustMatch: [
      'Please can you check the census return for Maisie? Unique Pupil Number K336660215140.',
      "The CTF from Oakfield Primary hasn't arrived, so Leo has the temporary UPN B93540122401K for now.",
      'Name,Form,UPN\n"Chloe Johnson",10B,B801200005001\n"Ava Wood",7A,D866239916670',
      'New starter in 8R (UPN D835691415826), please add her to the register.',
    ],
    mustNotMatch: [
      'Please can you check the census return for Maisie? Unique Pupil Number A801200005001.',
      'The correct UPN for Ruby is E000200005001.',
      'Order reference K3366602151404 has been dispatched.',
      'Part no. X80120000A001 is out of stock.',
      'Please do not email UPNs to parents; use the MIS messaging instead.',
      'The coach company VAT number is GB 770 381 235.',
      'Supplier VAT no. GB 242338087388 (catering contract).',
    ],
  },
});

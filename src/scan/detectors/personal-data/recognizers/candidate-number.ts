/**
 * Exam candidate number: the four digits a centre gives each GCSE and A-level candidate, on seating
 * plans, access-arrangement lists and results queries. With the centre number and a name it finds a
 * pupil's scripts and results. Four digits are a year, a room, a time or a price until someone
 * says "candidate number", so a value is reported only right after that label or under it as a
 * column header.
 */
import { insideLongerNumber, patternRecognizer } from '../recognizer.js';

export const candidateNumber = patternRecognizer({
  id: 'personal_data.candidate_number',
  kind: 'candidate_number',
  description: 'An exam candidate number given with its label',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  fieldMustMatch: /cand/i,
  patterns: [{ name: 'four digits', regex: /(?<![\p{L}\p{N}])\d{4}(?![\p{L}\p{N}])/gu, score: 0.2 }],
  exclude: (view, start, end) => insideLongerNumber(view.text, start, end),
  context: { words: ['candidate number', 'candidate numbers', 'candidate no', 'candidate nos', 'cand no'], before: 3, after: 1 },
  keep: { start: 0, end: 1 },
  examples: {
    mustMatch: [
      'Can you check the access arrangements for Noah Ward (candidate number 4821)? He needs a reader.',
      'Ella Brown, candidate no. 0137, was absent from Paper 2.',
      'Name,Candidate No,Room\n"Chloe Johnson",4821,Hall\n"Ava Wood",4822,Library',
    ],
    mustNotMatch: [
      'Can you check the access arrangements for Noah Ward? He is in room 4821 for Paper 2.',
      'Candidate numbers will be on the seating plan in the hall from Monday 2025.',
      'Results for the 2024 candidates are embargoed until Thursday.',
      'Please do not email candidate numbers with names to the exam board contact.',
      'The coach company VAT number is GB 770 381 235.',
    ],
  },
});

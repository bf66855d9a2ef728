import { describe, expect, it } from 'vitest';
import type { Recognizer } from '../../src/scan/detectors/personal-data/recognizer.js';
import { candidateNumber } from '../../src/scan/detectors/personal-data/recognizers/candidate-number.js';
import { nhsCheckDigitValid } from '../../src/scan/detectors/personal-data/recognizers/nhs-number.js';
import { uln, ulnCheckDigitValid } from '../../src/scan/detectors/personal-data/recognizers/uln.js';
import { upn, upnValid } from '../../src/scan/detectors/personal-data/recognizers/upn.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { findingsOf, plainMail, trustConfig } from './support-mail.js';
import { valuesFound, viewOf } from './support.js';

/** The values a recognizer accepts, each with where it starts in `text`. */
function spans(recognizer: Recognizer, text: string): Array<{ value: string; start: number }> {
  return recognizer.find(viewOf(text)).map((c) => ({ value: text.slice(c.start, c.end), start: c.start }));
}

function scoreOf(recognizer: Recognizer, text: string): number | undefined {
  return recognizer.find(viewOf(text))[0]?.score;
}

describe('UPN', () => {
  it('checks the letter, the shape and the local authority block (python-stdnum and DfE vectors)', () => {
    expect(upnValid('B801200005001')).toBe(true);
    expect(upnValid('A801200005001')).toBe(false); // wrong check letter
    expect(upnValid('E000200005001')).toBe(false); // right check letter, but LA 000 is no authority
    expect(upnValid('X80120000A001')).toBe(false); // letters only first and last
    expect(upnValid('B93540122401K')).toBe(true); // temporary UPN: the final letter counts as K = 9
    expect(upnValid('B93540122401I')).toBe(false); // I, O and S are never used
    expect(upnValid('B801200005001'.toLowerCase())).toBe(false);
  });

  it('finds a UPN with its exact span, labelled or not, and the label raises its score', () => {
    const text = 'Exam entries: Ruby Ahmed (UPN D333207513968) is missing from the mock entries.';
    expect(spans(upn, text)).toEqual([{ value: 'D333207513968', start: text.indexOf('D333') }]);
    const unlabelled = scoreOf(upn, 'Ruby Ahmed D333207513968 is missing.');
    expect(unlabelled).toBeGreaterThanOrEqual(0.5);
    expect(scoreOf(upn, text)).toBeGreaterThan(unlabelled!);
  });

  it('leaves values cut out of longer codes alone', () => {
    expect(valuesFound(upn, 'Ref XD333207513968 and D3332075139680 and D333207513968X')).toEqual([]);
  });

  it('finds every UPN in a pasted class list', () => {
    const list = 'Name\tDOB\tUPN\nHarvey Dunn\t14/02/2011\tV907401212041\nLily Morgan\t03/07/2011\tT907401212057';
    expect(valuesFound(upn, list)).toEqual(['V907401212041', 'T907401212057']);
  });

  it('masks all but the check letter and authority number', () => {
    expect(upn.mask('D333207513968')).toBe('D333*********');
  });
});

describe('ULN', () => {
  it('follows the ESFA check: weights 10..2, mod 11, remainder 0 invalid, check = 10 - remainder', () => {
    expect(ulnCheckDigitValid('1000000043')).toBe(true);
    expect(ulnCheckDigitValid('7596577570')).toBe(true); // remainder 10 gives check digit 0
    expect(ulnCheckDigitValid('5083172479')).toBe(true); // remainder 1 gives check digit 9
    expect(ulnCheckDigitValid('1000000004')).toBe(false);
    expect(ulnCheckDigitValid('0000000042')).toBe(false); // a ULN never starts with 0
    // 2000000010..19: the weighted sum is 22, remainder 0, so no check digit is valid.
    for (let d = 0; d <= 9; d++) expect(ulnCheckDigitValid(`200000001${d}`)).toBe(false);
  });

  it('never shares a number with the NHS check, whose digit is always one more', () => {
    for (let n = 1_000_000_000; n < 1_000_050_000; n++) {
      const value = String(n);
      expect(ulnCheckDigitValid(value) && nhsCheckDigitValid(value)).toBe(false);
    }
  });

  it('reports a number only with its label or under its column', () => {
    expect(valuesFound(uln, 'Order 1000000043 has been dispatched.')).toEqual([]);
    const text = 'Apprenticeship application for Jack: ULN 1000000043, DOB on file.';
    expect(spans(uln, text)).toEqual([{ value: '1000000043', start: text.indexOf('1000000043') }]);
    expect(valuesFound(uln, '1000000043 is the ULN the college has.')).toEqual(['1000000043']);
    expect(valuesFound(uln, 'Name,ULN\n"Jack Lewis",1000000043\n"Ava Wood",2269759965')).toEqual(['1000000043', '2269759965']);
  });

  it('is not fooled by phone numbers or a failing check under its label', () => {
    expect(valuesFound(uln, 'ULN query: ring the exams office on +441632960123 or 01632 960123.')).toEqual([]);
    expect(valuesFound(uln, 'ULN 2410925880 was rejected by the awarding body.')).toEqual([]);
  });

  it('masks all but the last three digits', () => {
    expect(uln.mask('1000000043')).toBe('*******043');
  });
});

describe('candidate number', () => {
  it('reports four digits only right after the candidate-number label or under it', () => {
    const text = 'Ella Brown, candidate no. 0137, was absent from Paper 2.';
    expect(spans(candidateNumber, text)).toEqual([{ value: '0137', start: text.indexOf('0137') }]);
    expect(valuesFound(candidateNumber, 'Name,Candidate number\n"Ella Brown",0137\n"Noah Ward",4821')).toEqual(['0137', '4821']);
    expect(valuesFound(candidateNumber, 'Ella Brown is in room 0137 for Paper 2.')).toEqual([]);
    expect(valuesFound(candidateNumber, 'The candidate number list for 2025 is in the exams office.')).toEqual([]);
    expect(valuesFound(candidateNumber, 'Candidate number 4821-7733 is not a candidate number.')).toEqual([]);
  });

  it('masks all but the last digit', () => {
    expect(candidateNumber.mask('4821')).toBe('***1');
  });
});

describe('school identifiers in a scanned message', () => {
  const scanner = createScanner(trustConfig());

  it('reports each ten-digit number as the kind its label says, masked', async () => {
    const body = 'For the referral: NHS number 943 476 5919 and ULN 1000000043 for Ruby.';
    const report = await scanner.scan(plainMail(body));
    const [health] = findingsOf(report, 'personal_data.nhs_number');
    expect(health!.evidence.map((e) => [e.start, e.end])).toEqual([[body.indexOf('943'), body.indexOf(' and')]]);
    const [learner] = findingsOf(report, 'personal_data.uln');
    expect(learner!.evidence.map((e) => e.match)).toEqual(['*******043']);
    expect(JSON.stringify(report)).not.toContain('1000000043');
  });

  it('reports a number that passes the NHS check under a ULN label as neither', async () => {
    const report = await scanner.scan(plainMail('The exam board rejected the entry for Ruby, ULN 9434765919. Is it right?'));
    expect(findingsOf(report, 'personal_data.uln')).toEqual([]);
    expect(findingsOf(report, 'personal_data.nhs_number')).toEqual([]);
  });
});

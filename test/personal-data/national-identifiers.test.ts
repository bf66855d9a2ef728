import { describe, expect, it } from 'vitest';
import type { Recognizer } from '../../src/scan/detectors/personal-data/recognizer.js';
import { drivingLicence, drivingLicenceDateValid } from '../../src/scan/detectors/personal-data/recognizers/driving-licence.js';
import { niNumber, ninoValid } from '../../src/scan/detectors/personal-data/recognizers/ni-number.js';
import { passportNumber } from '../../src/scan/detectors/personal-data/recognizers/passport.js';
import { valuesFound, viewOf } from './support.js';

function spans(recognizer: Recognizer, text: string): Array<{ value: string; start: number }> {
  return recognizer.find(viewOf(text)).map((c) => ({ value: text.slice(c.start, c.end), start: c.start }));
}

describe('National Insurance number', () => {
  it('applies the NIM39110 prefix and suffix rules', () => {
    expect(ninoValid('YZ614868B')).toBe(true);
    expect(ninoValid('OC725849A')).toBe(true); // O may lead, only not follow
    expect(ninoValid('OV631189C')).toBe(false);
    expect(ninoValid('BO123456A')).toBe(false);
    expect(ninoValid('DA707380B')).toBe(false);
    expect(ninoValid('AB123456E')).toBe(false);
    for (const prefix of ['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']) expect(ninoValid(`${prefix}123456A`)).toBe(false);
    for (const prefix of ['CR', 'MW', 'NC', 'PP', 'PY', 'PZ']) expect(ninoValid(`${prefix}123456A`)).toBe(false);
    expect(ninoValid('AB123456')).toBe(true); // the suffix may be dropped
  });

  it('finds spaced and solid forms with their exact span, without a label', () => {
    const text = 'Supply teacher details: Amy Clarke, YZ 61 48 68 B, starts Monday.';
    expect(spans(niNumber, text)).toEqual([{ value: 'YZ 61 48 68 B', start: text.indexOf('YZ') }]);
    expect(valuesFound(niNumber, 'Pension form: PR 123612C and JL-63-68-80-D.')).toEqual(['PR 123612C', 'JL-63-68-80-D']);
  });

  it('needs the label for lower case and for a missing suffix, and never takes a wrong suffix', () => {
    expect(valuesFound(niNumber, 'Her NI number is jl636880d.')).toEqual(['jl636880d']);
    expect(valuesFound(niNumber, 'Reference jl636880d attached.')).toEqual([]);
    expect(valuesFound(niNumber, 'NI number: JT 62 48 91 on the form.')).toEqual(['JT 62 48 91']);
    expect(valuesFound(niNumber, 'Meeting moved ON 12 03 24 by the head.')).toEqual([]);
    expect(valuesFound(niNumber, 'My National Insurance number is AA 12 34 56 H.')).toEqual([]);
    expect(valuesFound(niNumber, 'My National Insurance number is AB 12 34 56 1.')).toEqual([]);
  });

  it('masks the digits and keeps the prefix and suffix', () => {
    expect(niNumber.mask('YZ 61 48 68 B')).toBe('YZ ** ** ** B');
  });
});

describe('passport number', () => {
  it('reports nine digits, or letters and seven digits, only beside the word passport', () => {
    const text = 'For the Paris trip insurance: Ella Brown, passport number 925076473, expires 2031.';
    expect(spans(passportNumber, text)).toEqual([{ value: '925076473', start: text.indexOf('925076473') }]);
    expect(valuesFound(passportNumber, "Conor's passport: PA1234567 (Irish).")).toEqual(['PA1234567']);
    expect(valuesFound(passportNumber, 'Order 925076473 has been dispatched.')).toEqual([]);
    expect(valuesFound(passportNumber, 'Passport helpline 0300 222 0000, ref 925 076 473.')).toEqual([]);
  });

  it('masks all but the last three digits', () => {
    expect(passportNumber.mask('925076473')).toBe('******473');
  });
});

describe('driving licence number', () => {
  it('validates the encoded date of birth, women’s months included', () => {
    expect(drivingLicenceDateValid('MORGA753116SM9IJ')).toBe(true); // 53 = March, a woman
    expect(drivingLicenceDateValid('JONES610042AB9CD')).toBe(true);
    expect(drivingLicenceDateValid('MORGA763116SM9IJ')).toBe(false); // month 13
    expect(drivingLicenceDateValid('MORGA752306SM9IJ')).toBe(false); // 30 February
    expect(drivingLicenceDateValid('MORGA700116SM9IJ')).toBe(false); // month 00
  });

  it('finds solid and spaced numbers with their span, and nothing in longer codes', () => {
    const text = 'Minibus check: Sarah Morgan, MORGA753116SM9IJ, categories B and D1.';
    expect(spans(drivingLicence, text)).toEqual([{ value: 'MORGA753116SM9IJ', start: text.indexOf('MORGA') }]);
    expect(valuesFound(drivingLicence, 'Driving licence: JONES 610042 AB9CD')).toEqual(['JONES 610042 AB9CD']);
    expect(valuesFound(drivingLicence, 'Tracking MORGA753116SM9IJX and XMORGA753116SM9IJ')).toEqual([]);
    expect(valuesFound(drivingLicence, 'Code M9RGA753116SM9IJ is not a surname.')).toEqual([]);
  });

  it('masks everything but the check letters', () => {
    expect(drivingLicence.mask('MORGA753116SM9IJ')).toBe('**************IJ');
  });
});

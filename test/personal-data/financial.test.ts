import { describe, expect, it } from 'vitest';
import type { Recognizer } from '../../src/scan/detectors/personal-data/recognizer.js';
import { bankDetails, ibanValid } from '../../src/scan/detectors/personal-data/recognizers/bank-details.js';
import { cardNumber, cardScheme, luhnValid } from '../../src/scan/detectors/personal-data/recognizers/card-number.js';
import { RECOGNIZERS } from '../../src/scan/detectors/personal-data/registry.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { findingsOf, PARENT, plainMail, trustConfig } from './support-mail.js';
import { valuesFound, viewOf } from './support.js';

function spans(recognizer: Recognizer, text: string): Array<{ value: string; start: number }> {
  return recognizer.find(viewOf(text)).map((c) => ({ value: text.slice(c.start, c.end), start: c.start }));
}

describe('card number', () => {
  it('checks Luhn and the scheme’s issuer range and length', () => {
    expect(luhnValid('4012888888881881')).toBe(true);
    expect(luhnValid('4012888888881882')).toBe(false);
    expect(cardScheme('4484070000000000')).toBe('Visa');
    expect(cardScheme('371449635398431')).toBe('American Express');
    expect(cardScheme('3714496353984310')).toBeUndefined(); // Amex is 15 digits
    expect(cardScheme('2221000000000009')).toBe('Mastercard');
    expect(cardScheme('2721000000000000')).toBeUndefined();
    expect(cardScheme('30569309025904')).toBe('Diners Club');
    expect(cardScheme('3528000700000000')).toBe('JCB');
    expect(cardScheme('1748503543012')).toBeUndefined();
  });

  it('finds solid, grouped and Amex-grouped numbers with their span', () => {
    const text = 'Please charge 4012-8888-8888-1881 for the trip balance.';
    expect(spans(cardNumber, text)).toEqual([{ value: '4012-8888-8888-1881', start: text.indexOf('4012') }]);
    expect(valuesFound(cardNumber, 'Use 3714 496353 98431 or 5555 5555 5555 4444 or 4484070000000000.')).toEqual([
      '3714 496353 98431',
      '5555 5555 5555 4444',
      '4484070000000000',
    ]);
  });

  it('reports a Luhn-valid number outside the scheme table only beside a card word', () => {
    expect(valuesFound(cardNumber, 'Your order 1748503543012 has been dispatched.')).toEqual([]);
    expect(valuesFound(cardNumber, 'My store card number is 1748503543012.')).toEqual(['1748503543012']);
  });

  it('never reports a failing check, a number inside a longer one, or a VAT number', () => {
    expect(valuesFound(cardNumber, 'My card 4012-8888-8888-1882, expiry 09/27.')).toEqual([]);
    expect(valuesFound(cardNumber, 'Tracking 9400 4484 0700 0000 0000 00 is on its way.')).toEqual([]);
    expect(valuesFound(cardNumber, 'Card payments are invoiced under VAT GB 242338087388.')).toEqual([]);
  });

  it('masks all but the last four digits', () => {
    expect(cardNumber.mask('4484 0700 0000 1234')).toBe('**** **** **** 1234');
  });
});

describe('bank details', () => {
  it('checks IBANs with mod 97 and the country length', () => {
    expect(ibanValid('GB29NWBK60161331926819')).toBe(true);
    expect(ibanValid('GB29 NWBK 6016 1331 9268 19')).toBe(true);
    expect(ibanValid('GB28NWBK60161331926819')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB29NWBK6016133192681')).toBe(false); // one short for GB
    expect(ibanValid('XX29NWBK60161331926819')).toBe(false);
  });

  it('finds an IBAN, spaced or solid, with its span', () => {
    const text = 'Can finance update my bank details to GB29 NWBK 6016 1331 9268 19? Thanks.';
    expect(spans(bankDetails, text)).toEqual([{ value: 'GB29 NWBK 6016 1331 9268 19', start: text.indexOf('GB29') }]);
    expect(valuesFound(bankDetails, 'New IBAN: DE89370400440532013000.')).toEqual(['DE89370400440532013000']);
  });

  it('reports a labelled sort code only with an account number near it, and both values', () => {
    const text = 'Please refund the trip to sort code 20-00-00, account number 55779911.';
    expect(spans(bankDetails, text)).toEqual([
      { value: '20-00-00', start: text.indexOf('20-00-00') },
      { value: '55779911', start: text.indexOf('55779911') },
    ]);
    expect(valuesFound(bankDetails, 'Account 55779911, s/c 40 47 84, Mrs J Patel.')).toEqual(['40 47 84', '55779911']);
    expect(valuesFound(bankDetails, 'Our sort code changed on 20-00-00.')).toEqual([]);
    expect(valuesFound(bankDetails, 'Trip on 20-00-00 for 55779911 pupils.')).toEqual([]);
  });

  it('masks an IBAN down to its country and last digits, a sort code and account down to the last two', () => {
    expect(bankDetails.mask('GB29 NWBK 6016 1331 9268 19')).toBe('GB** **** **** **** **** 19');
    expect(bankDetails.mask('20-00-00')).toBe('**-**-00');
    expect(bankDetails.mask('55779911')).toBe('******11');
  });
});

describe('financial data in a scanned message', () => {
  it('reports card and bank details to a parent masked, never echoing the numbers', async () => {
    const body = 'Refund options: card 4484070000000000 or IBAN GB29NWBK60161331926819.';
    const report = await createScanner(trustConfig()).scan(plainMail(body, { to: [PARENT] }));
    expect(findingsOf(report, 'personal_data.card_number').flatMap((f) => f.evidence.map((e) => e.match))).toEqual(['************0000']);
    expect(findingsOf(report, 'personal_data.bank_details').flatMap((f) => f.evidence.map((e) => e.match))).toEqual(['GB******************19']);
    expect(JSON.stringify(report)).not.toContain('4484070000000000');
    expect(JSON.stringify(report)).not.toContain('GB29NWBK60161331926819');
  });
});

describe('VAT numbers and talk about data', () => {
  const mine = RECOGNIZERS.filter((r) =>
    ['upn', 'uln', 'ni_number', 'passport', 'driving_licence', 'candidate_number', 'card_number', 'bank_details'].includes(r.kind),
  );
  it.each([
    'The coach company VAT number is GB 770 381 235.',
    'Supplier VAT no. GB 242338087388 (catering contract).',
    'VAT reg GB242338087388, GB 003232345 and GB 662 8564 06.',
    'Please do not email UPNs, ULNs, NI numbers, passport or card numbers, or bank details.',
  ])('none of the school, national or financial recognizers fires on: %s', (text) => {
    expect(mine).toHaveLength(8);
    for (const recognizer of mine) expect(valuesFound(recognizer, text)).toEqual([]);
  });
});

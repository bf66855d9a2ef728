import { describe, expect, it } from 'vitest';
import { maskEmail } from '../../src/scan/detectors/personal-data/checks/personal-email.js';
import type { Recognizer } from '../../src/scan/detectors/personal-data/recognizer.js';
import { dateOfBirth, isPlausibleBirthDate } from '../../src/scan/detectors/personal-data/recognizers/date-of-birth.js';
import { addressRunStart, homeAddress, streetNumberIndex } from '../../src/scan/detectors/personal-data/recognizers/home-address.js';
import { nationalDigits, phoneNumber, ukPhoneShapeValid } from '../../src/scan/detectors/personal-data/recognizers/phone-number.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { findingsOf, OTHER_TEACHER, PARENT, plainMail, TEACHER, trustConfig } from './support-mail.js';
import { valuesFound, viewOf } from './support.js';

function spans(recognizer: Recognizer, text: string): Array<{ value: string; start: number }> {
  return recognizer.find(viewOf(text)).map((c) => ({ value: text.slice(c.start, c.end), start: c.start }));
}

describe('phone number', () => {
  it('reads every common spelling of a UK number as the same national number', () => {
    for (const written of ['07700 900123', '07700900123', '+44 7700 900123', '+447700900123', '0044 7700 900123', '+44 (0)7700 900123']) {
      expect(nationalDigits(written)).toBe('07700900123');
    }
    expect(nationalDigits('+44 (0)20 7946 0123')).toBe('02079460123');
    expect(nationalDigits('(020) 7946 0123')).toBe('02079460123');
  });

  it('accepts the shapes of the UK numbering plan a person can hold, and nothing else', () => {
    expect(ukPhoneShapeValid('07700 900123')).toBe(true);
    expect(ukPhoneShapeValid('07624 123456')).toBe(true); // Isle of Man mobile
    expect(ukPhoneShapeValid('0161 496 0499')).toBe(true);
    expect(ukPhoneShapeValid('01632 960123')).toBe(true);
    expect(ukPhoneShapeValid('016977 3456')).toBe(true); // ten-digit 01 area
    expect(ukPhoneShapeValid('029 2018 0322')).toBe(true);
    expect(ukPhoneShapeValid('0300 123 4567')).toBe(true);
    expect(ukPhoneShapeValid('07700 90012')).toBe(false); // a digit short
    expect(ukPhoneShapeValid('07600 900123')).toBe(false); // pager range
    expect(ukPhoneShapeValid('07000 900123')).toBe(false); // personal-numbering range
    expect(ukPhoneShapeValid('0800 123 4567')).toBe(false);
    expect(ukPhoneShapeValid('09098 790123')).toBe(false);
    expect(ukPhoneShapeValid('021 7946 0123')).toBe(false); // 021 is not in use
    expect(ukPhoneShapeValid('0161 496 04990')).toBe(false);
  });

  it('reports the number with its exact span when words tie it to a person', () => {
    const text = "Please ring Zara's nan on (0113) 496 0735 after school finishes.";
    expect(spans(phoneNumber, text)).toEqual([{ value: '(0113) 496 0735', start: text.indexOf('(0113)') }]);
    expect(valuesFound(phoneNumber, 'Emergency contact for Ruby: +44 (0)20 7946 0433 (dad).')).toEqual(['+44 (0)20 7946 0433']);
    expect(valuesFound(phoneNumber, "Mia's number: 07700 900123")).toEqual(['07700 900123']);
  });

  it('needs such words even for a mobile, and never reports a service number', () => {
    expect(valuesFound(phoneNumber, 'Order 07700 900123 was dispatched.')).toEqual([]);
    expect(valuesFound(phoneNumber, 'The minibus is booked; ref 0161 496 0499.')).toEqual([]);
    expect(valuesFound(phoneNumber, "Sam's mum's mobile is 0800 123 4567.")).toEqual([]);
  });

  it('drops organisational numbers: signatures, letterheads, offices, helplines', () => {
    const signature = 'See you Friday.\n\nKind regards,\nJo Smith\nAttendance Officer\nMobile: 07700 900123\nTel: 0161 496 0000';
    expect(valuesFound(phoneNumber, signature)).toEqual([]);
    expect(valuesFound(phoneNumber, 'Rhiannon Hughes\nHead of English\nT: 020 7946 0210 | www.riverbank-trust.sch.uk')).toEqual([]);
    expect(valuesFound(phoneNumber, 'If Sam is ill, parents should ring the school office on 0161 496 0000.')).toEqual([]);
    expect(valuesFound(phoneNumber, "The school's mobile for the trip is 07700 900999.")).toEqual([]);
  });

  it('keeps a third-party number beside organisational words, or inside a signature block', () => {
    expect(valuesFound(phoneNumber, "The office doesn't have it yet: Sam's mum's mobile is 07700 900123.")).toEqual(['07700 900123']);
    const afterSignOff = 'Regards\n--\nIvan\nEmergency contact for Ethan Brown: 0117 496 0741 (dad).';
    expect(valuesFound(phoneNumber, afterSignOff)).toEqual(['0117 496 0741']);
  });

  it('judges a number by its own sentence or line, not by the paragraph before', () => {
    expect(valuesFound(phoneNumber, 'If you can help, let us know.\n\nMy new number is 0121 496 0562, please update the sheet.')).toEqual(['0121 496 0562']);
    expect(valuesFound(phoneNumber, "Thanks for passing on Sam's mum's message.\n\nThe office number is 0161 496 0000.")).toEqual([]);
    expect(valuesFound(phoneNumber, 'Office:\n0161 496 0000\nMobile (for trips): 07700 900999')).toEqual([]);
    expect(valuesFound(phoneNumber, "Mum's mobile:\n07700 900123")).toEqual(['07700 900123']);
  });

  it('does not read two numbers side by side, or a number inside a longer one, as one number', () => {
    expect(valuesFound(phoneNumber, 'Mum: 07700 900123 / dad: 07700 900456')).toEqual(['07700 900123', '07700 900456']);
    expect(valuesFound(phoneNumber, 'Mum: 4411 07700 900123 8812')).toEqual([]);
  });

  it('masks all but the first three digits', () => {
    expect(phoneNumber.mask('07700 900123')).toBe('077** ******');
    expect(phoneNumber.mask('+44 (0)20 7946 0123')).toBe('+44 (0)** **** ****');
  });
});

describe('home address', () => {
  it('reports the whole street address up to the postcode, over a line break', () => {
    const text = 'Mum and Ruby have moved to 31 Poplar Grove,\nWestvale WX6 2NB - please update your records.';
    expect(spans(homeAddress, text)).toEqual([{ value: '31 Poplar Grove,\nWestvale WX6 2NB', start: text.indexOf('31') }]);
  });

  it('finds where the address starts: back over capitalised words and house numbers, not over a sentence or a cell', () => {
    const text = 'Please send it to Flat 6, Hazel Court, Westvale WX2 7DD today';
    expect(text.slice(addressRunStart(text, text.indexOf('WX2')), text.indexOf('WX2'))).toBe('Flat 6, Hazel Court, Westvale ');
    const row = 'Chris Bennett\t07700 900238\t3 Orchard Row, Westvale WX4 2HB';
    expect(row.slice(addressRunStart(row, row.indexOf('WX4')))).toBe('3 Orchard Row, Westvale WX4 2HB');
    expect(streetNumberIndex(['Flat', '6', 'Hazel', 'Court', 'Westvale'])).toBe(1);
    expect(streetNumberIndex(['41', 'Kingsway', 'Exeter'])).toBe(0);
    expect(streetNumberIndex(['Riverbank', 'Academy', 'Mill', 'Lane'])).toBe(-1);
  });

  it('accepts a street address with a postcode, or a postcode labelled as where someone lives', () => {
    expect(valuesFound(homeAddress, 'Mr and Mrs Patel\n12 Church Road\nBristol BS16 5UE')).toEqual(['12 Church Road\nBristol BS16 5UE']);
    expect(valuesFound(homeAddress, 'Her postcode is wx4 9pt, the driver will need it.')).toEqual(['wx4 9pt']);
    expect(valuesFound(homeAddress, 'The county final is at WX4 9PT on Saturday.')).toEqual([]);
  });

  it('validates the postcode format, whatever the area', () => {
    expect(valuesFound(homeAddress, 'New home address: 62 Church Street, Leeds EC1A 1BB.')).toHaveLength(1);
    expect(valuesFound(homeAddress, 'New home address: 62 Church Street, Leeds LS6 1CB.')).toEqual([]); // C is never in an inward code
    expect(valuesFound(homeAddress, 'New home address: 62 Church Street, Leeds QS6 1AB.')).toEqual([]); // Q never leads
    expect(valuesFound(homeAddress, 'New home address: 62 Church Street, Leeds Ls6 1zB.')).toEqual([]); // mixed case
  });

  it("drops the school's, the council's and a company's address", () => {
    const footer = 'Riverbank Academies Trust (company no. 08715362). Registered office: 4 Harbour Court, Quay Street,\nWestvale WX1 1TR.';
    expect(valuesFound(homeAddress, footer)).toEqual([]);
    expect(valuesFound(homeAddress, 'Hi all,\nCoach leaves from Riverbank Academy, 2 Mill Lane, Westvale WX3 7QP at 8.')).toEqual([]);
    expect(valuesFound(homeAddress, 'Order Report # 5 From:\nM.J. Lee\nP.O. Box 19\n52 Victoria Drive\nLondon SW19 6BD')).toEqual([]);
    expect(valuesFound(homeAddress, 'Thanks,\nSam Lee\n12 High Street\nLeeds LS6 1ZB')).toEqual([]);
  });

  it('keeps an address written in a sentence even where a signature block seems to be', () => {
    expect(valuesFound(homeAddress, 'Cheers\nDave\nCould you drop the forms round to 99 The Crescent, Oxford LE2 3PQ?')).toHaveLength(1);
  });

  it('keeps an address named as a home even beside organisational words or in a signature block', () => {
    expect(valuesFound(homeAddress, 'The school taxi should pick Aaron up from 103 Queens Road, Cardiff S10 4BT.')).toHaveLength(1);
    expect(valuesFound(homeAddress, 'regards\n-- \nIvan Kelly\nNew home address for Jessica: 13 Kingsway, Leeds B29 5QT.')).toHaveLength(1);
  });

  it('masks the whole address', () => {
    expect(homeAddress.mask('14 Larch Close, Westvale WX4 9PT')).toBe('** ***** *****, ******** *** ***');
  });
});

describe('date of birth', () => {
  it('checks that the date exists and fits a living person', () => {
    expect(isPlausibleBirthDate('29/02/2012')).toBe(true);
    expect(isPlausibleBirthDate('29/02/2013')).toBe(false);
    expect(isPlausibleBirthDate('31.06.11')).toBe(false);
    expect(isPlausibleBirthDate('03/27/2015')).toBe(true); // month first: the only reading that exists
    expect(isPlausibleBirthDate('12/03/1899')).toBe(false);
    expect(isPlausibleBirthDate('2011-02-30')).toBe(false);
    expect(isPlausibleBirthDate('12th Mar 2011')).toBe(true);
    expect(isPlausibleBirthDate('March 32, 2011')).toBe(false);
  });

  it('reports a labelled date with its exact span, in every common form', () => {
    const text = 'Poppy Roberts (d.o.b. 2015-03-27) has started today.';
    expect(spans(dateOfBirth, text)).toEqual([{ value: '2015-03-27', start: text.indexOf('2015') }]);
    expect(valuesFound(dateOfBirth, 'Please check: Leo born 10.12.10, and Ava born 4th of May 2012.')).toEqual(['4th of May 2012', '10.12.10']);
    expect(valuesFound(dateOfBirth, 'D.O.B: March 12, 2011')).toEqual(['March 12, 2011']);
  });

  it('reports the dates under a DOB column only', () => {
    const csv = 'Name,DOB,Start date\nAva Hall,26/07/2011,01/09/2024\nLeo Ward,22/11/2010,01/09/2024';
    expect(valuesFound(dateOfBirth, csv)).toEqual(['26/07/2011', '22/11/2010']);
  });

  it('reports only the date the label gives, not a later date or the bounds of a year group', () => {
    expect(valuesFound(dateOfBirth, 'Ava Hall, DOB 26/07/2011, starts on 01/09/2024.')).toEqual(['26/07/2011']);
    expect(valuesFound(dateOfBirth, 'Can you check the date of birth we have for Zara: 10.12.10?')).toEqual(['10.12.10']);
    expect(valuesFound(dateOfBirth, 'Pupils born between 1 September 2011 and 31 August 2012 are in Year 8.')).toEqual([]);
    expect(valuesFound(dateOfBirth, 'Reports for pupils born in 2011 go home on 12/07/2025.')).toEqual([]);
  });

  it('leaves unlabelled dates, birthdays and birth certificates alone', () => {
    expect(valuesFound(dateOfBirth, "Sam's birthday party is on 14 June 2025.")).toEqual([]);
    expect(valuesFound(dateOfBirth, 'The trip is on 12/03/2025 and payment is due 01/03/2025.')).toEqual([]);
    expect(valuesFound(dateOfBirth, 'Please bring your birth certificate to the office by 12 May 2025.')).toEqual([]);
  });

  it('masks all but the last two digits of the year', () => {
    expect(dateOfBirth.mask('12/03/2011')).toBe('**/**/**11');
  });
});

describe('personal e-mail address check', () => {
  const scanner = createScanner(trustConfig());
  const emailFindings = async (body: string, options: Parameters<typeof plainMail>[1] = {}) =>
    findingsOf(await scanner.scan(plainMail(body, options)), 'personal_data.email_address');

  it("reports a third party's personal address written in the text, masked in the evidence", async () => {
    const [finding] = await emailFindings("Hi,\nHer mum's email is jo.smith@gmail.com if you need to reach her about the trip.");
    expect(finding).toBeDefined();
    expect(finding!.description).toContain('gmail.com');
    expect(finding!.severity).toBe('minor');
    expect(finding!.evidence[0]!.match).toBe('**.*****@gmail.com');
    expect(finding!.evidence[0]!.masked).toBe(true);
    expect(JSON.stringify(finding)).not.toContain('jo.smith');
  });

  it('rates it by where the message goes', async () => {
    const [finding] = await emailFindings("Her dad's email address is sam.k@hotmail.co.uk.", { to: ['someone@example.org'] });
    expect(finding!.severity).toBe('minor'); // contact data to an external address: one step below moderate
    const [toPersonal] = await emailFindings("Her dad's email address is sam.k@hotmail.co.uk.", { to: ['someone@gmail.com'] });
    expect(toPersonal!.severity).toBe('moderate');
  });

  it("skips the message's own parties and the quoted thread's header lines", async () => {
    expect(await emailFindings(`Her email is ${PARENT}, she says.`, { to: [PARENT] })).toEqual([]);
    expect(await emailFindings(`Please reply to her email ${PARENT}.`, { cc: [PARENT] })).toEqual([]);
    const quoted = 'Thanks, noted.\n\n________________________________\nFrom: Paul Dunn <pdunn.home@outlook.com>\nSent: Wednesday\nTo: Office <office@staff.oakfield.sch.uk>\n\nPlease contact pdunn.home@outlook.com about my email.';
    expect(await emailFindings(quoted)).toEqual([]);
    expect(await emailFindings('Russell Turpin <deafbox@hotmail.com> writes:\n> my email is down')).toEqual([]);
  });

  it("skips the sender's own address: in a signature or offered as theirs", async () => {
    expect(await emailFindings('See you there.\n\nKind regards,\nJo\nPersonal email: jo.home@gmail.com')).toEqual([]);
    expect(await emailFindings('My personal email is owen1987@gmail.com if school mail is down.')).toEqual([]);
    expect(await emailFindings('You can send it to us at drmradio@ymail.com.')).toEqual([]);
  });

  it('needs words that make it contact details, and a personal domain', async () => {
    expect(await emailFindings('Subscribers: fortean1@msn.com')).toEqual([]);
    expect(await emailFindings("Her mum's email is jo.smith@riverside-dental.co.uk.")).toEqual([]);
  });

  it('masks the mailbox and keeps the domain', () => {
    expect(maskEmail('jo.smith@gmail.com')).toBe('**.*****@gmail.com');
  });

  it('reports at most one finding however many addresses, counting them', async () => {
    const [finding] = await emailFindings('Parent contacts: mum a.jones@gmail.com, dad b.jones@icloud.com.', { from: TEACHER, to: [OTHER_TEACHER] });
    expect(finding!.description).toContain('2 addresses');
    expect(finding!.evidence.map((e) => e.match)).toEqual(['*.*****@gmail.com', '*.*****@icloud.com']);
    const [repeated] = await emailFindings("Mum's email is a.jones@gmail.com (that's A.Jones@gmail.com, not the school one).");
    expect(repeated!.description).not.toContain('addresses');
    expect(repeated!.evidence).toHaveLength(1);
  });
});

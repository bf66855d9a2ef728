import { describe, expect, it } from 'vitest';
import { editDistance } from '../../src/scan/detectors/personal-data/checks/recipients.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { CLUB, findingsOf, OTHER_TEACHER, PARENT, plainMail, PUPIL, TEACHER, trustConfig } from './support-mail.js';

const CLASS_LIST = [
  'Name\tDOB\tSEN\tForm',
  'Harvey Dunn\t14/02/2011\tK - dyslexia\t9R',
  'Lily Morgan\t03/07/2011\t-\t9R',
  'Ryan Briggs\t22/11/2010\t-\t9T',
  'Maisie Clarke\t09/05/2011\tK - anxiety\t9T',
  'Kacper Nowicki\t30/12/2010\t-\t9W',
  'Callum Reid\t17/01/2011\tE - ASD\t9W',
].join('\n');

describe('bulk records', () => {
  const scanner = createScanner(trustConfig());

  it('reports a pasted class list with its row count and columns, and its SEN column as special category', async () => {
    const report = await scanner.scan(plainMail(`Sets for the weekend:\n\n${CLASS_LIST}\n\nOwen`, { to: ['owen1987@gmail.com'] }));
    const [bulk] = findingsOf(report, 'personal_data.bulk_records');
    expect(bulk).toBeDefined();
    expect(bulk!.description).toContain('6 people');
    expect(bulk!.description).toContain('date of birth');
    expect(bulk!.description).toContain('SEN');
    expect(bulk!.evidence[0]!.match).toBe('Name\tDOB\tSEN\tForm');
    // Bulk data to a personal address: the worst case.
    expect(bulk!.severity).toBe('severe');
    expect(findingsOf(report, 'personal_data.special_category').map((f) => f.rule)).toContain('personal_data.bulk_records.special');
  });

  it('rates the same list between two staff accounts minor, and moderate when it holds SEN data', async () => {
    const report = await scanner.scan(plainMail(CLASS_LIST));
    expect(findingsOf(report, 'personal_data.bulk_records')[0]!.severity).toBe('moderate');
    const withoutSen = CLASS_LIST.split('\n').map((l) => l.split('\t').filter((_, i) => i !== 2).join('\t')).join('\n');
    const plainReport = await scanner.scan(plainMail(withoutSen));
    expect(findingsOf(plainReport, 'personal_data.bulk_records')[0]!.severity).toBe('minor');
    expect(findingsOf(plainReport, 'personal_data.special_category')).toEqual([]);
  });

  it('needs the configured number of rows, and a table about people', async () => {
    const short = CLASS_LIST.split('\n').slice(0, 4).join('\n');
    expect(findingsOf(await scanner.scan(plainMail(short)), 'personal_data.bulk_records')).toEqual([]);
    const fixtures = ['Team\tVenue\tKick-off', 'U12\tHome\t10:00', 'U13\tAway\t10:30', 'U14\tHome\t11:00', 'U15\tAway\t11:30', 'U16\tHome\t12:00', 'U18\tAway\t12:30'].join('\n');
    expect(findingsOf(await scanner.scan(plainMail(fixtures)), 'personal_data.bulk_records')).toEqual([]);
    const strict = createScanner(trustConfig('personalData:\n  bulkRows: 3\n'));
    expect(findingsOf(await strict.scan(plainMail(short)), 'personal_data.bulk_records')).toHaveLength(1);
  });
});

describe('bulk records: every table', () => {
  it('reports each class list in a field, not only the first', async () => {
    const scanner = createScanner(trustConfig());
    const report = await scanner.scan(plainMail(`9R:\n\n${CLASS_LIST}\n\n9T:\n\n${CLASS_LIST.replace(/9R|9T|9W/g, '8X')}`));
    expect(findingsOf(report, 'personal_data.bulk_records')).toHaveLength(2);
  });
});

describe('wrong recipients', () => {
  const scanner = createScanner(trustConfig());
  const parents = Array.from({ length: 12 }, (_, i) => `parent${i}@gmail.com`);

  it('reports parents exposed to each other in To, without listing their addresses', async () => {
    const report = await scanner.scan(plainMail('Coach leaves at 8.', { to: parents }));
    const [exposed] = findingsOf(report, 'personal_data.recipients_exposed');
    expect(exposed!.description).toContain('12 external addresses');
    expect(JSON.stringify(exposed)).not.toContain('parent1@gmail.com');
  });

  it('leaves the same letter alone when the parents are in Bcc or there are fewer than the limit', async () => {
    const bcc = plainMail('Coach leaves at 8.', { to: [TEACHER] }).toString().replace('To: ', `Bcc: ${parents.join(', ')}\r\nTo: `);
    expect(findingsOf(await scanner.scan(Buffer.from(bcc)), 'personal_data.recipients_exposed')).toEqual([]);
    expect(findingsOf(await scanner.scan(plainMail('Coach leaves at 8.', { to: parents.slice(0, 9) })), 'personal_data.recipients_exposed')).toEqual([]);
  });

  it('reports a domain one keystroke from the trust or a partner, and not the real ones', async () => {
    for (const typo of ['j.ward@staff.oakfeild.sch.uk', 'admissions@westvale.gov.uk.com', 'admissions@westvaIe.gov.uk', 'j.ward@oakfield.sch.uk.evil.com']) {
      const report = await scanner.scan(plainMail('Minutes attached.', { to: [typo] }));
      const expected = typo.endsWith('oakfeild.sch.uk') || typo.includes('westvaIe') ? 1 : 0;
      expect(findingsOf(report, 'personal_data.misdirected'), typo).toHaveLength(expected);
    }
    const fine = await scanner.scan(plainMail('Minutes attached.', { to: [OTHER_TEACHER, 'admissions@westvale.gov.uk', CLUB] }));
    expect(findingsOf(fine, 'personal_data.misdirected')).toEqual([]);
  });

  it('measures edit distance with transpositions', () => {
    expect(editDistance('oakfield', 'oakfeild', 2)).toBe(1);
    expect(editDistance('oakfield', 'oakfield', 2)).toBe(0);
    expect(editDistance('oakfield', 'oakfiled', 1)).toBe(1);
    expect(editDistance('oakfield', 'westvale', 1)).toBe(2);
  });
});

describe("a pupil's data sent to someone other than the contact the message names", () => {
  const scanner = createScanner(trustConfig());
  const LETTER = "Hi,\nAva Hall's DOB is 26/07/2011 on our records; please check before we submit the entry.\nParent email: jo.smith@gmail.com\nThanks";
  const wrongContact = async (body: string, options: Parameters<typeof plainMail>[1] = {}) =>
    findingsOf(await scanner.scan(plainMail(body, { to: ['amy.hall77@gmail.com'], ...options })), 'personal_data.misdirected');

  it('reports the data sent to another mailbox, with both addresses masked', async () => {
    const [finding] = await wrongContact(LETTER);
    expect(finding).toBeDefined();
    expect(finding!.description).toContain('sent to ***.******@gmail.com');
    expect(finding!.description).toContain('names **.*****@gmail.com as the contact');
    expect(finding!.severity).toBe('severe');
    expect(finding!.evidence[0]).toMatchObject({ match: '**.*****@gmail.com', masked: true });
    expect(JSON.stringify(finding)).not.toMatch(/jo\.smith|amy\.hall77/);
  });

  it("reads a parent word in the address's clause, or an e-mail column, about one family", async () => {
    expect(await wrongContact("Ava's DOB is 26/07/2011. His mum's address is jo.smith@gmail.com if needed.")).toHaveLength(1);
    const csv = 'Entries:\n\nName,DOB,Email\nAva Hall,26/07/2011,jo.smith@gmail.com\nLeo Hall,22/11/2013,jo.smith@gmail.com\n';
    expect(await wrongContact(csv)).toHaveLength(1);
    const families = Array.from({ length: 4 }, (_, i) => `Pupil ${i},1${i}/07/2011,family${i}@gmail.com`).join('\n');
    expect(await wrongContact(`Entries:\n\nName,DOB,Email\n${families}\n`), 'a list of four families').toEqual([]);
    expect(await wrongContact("Ava's DOB is 26/07/2011. For tutoring, email Mrs Jones at jones.tutor@gmail.com.")).toEqual([]);
  });

  it('leaves mail to the named contact alone, or with the contact among the recipients', async () => {
    expect(await wrongContact(LETTER, { to: ['Jo.Smith@gmail.com'] })).toEqual([]);
    expect(await wrongContact(LETTER, { cc: ['jo.smith@gmail.com'] })).toEqual([]);
  });

  it('needs a personal-data value, a staff sender, and a personal mailbox outside the trust as the recipient', async () => {
    expect(await wrongContact(LETTER.replace(" DOB is 26/07/2011 on our records", ' entry form'))).toEqual([]);
    expect(await wrongContact(LETTER, { to: [CLUB] })).toEqual([]);
    expect(await wrongContact(LETTER, { to: ['duty.team@westvale.gov.uk'] })).toEqual([]);
    expect(await wrongContact(LETTER, { to: [OTHER_TEACHER] })).toEqual([]);
    expect(await wrongContact(LETTER, { from: CLUB })).toEqual([]);
  });

  it('does not count an address on the quoted thread or in a signature', async () => {
    const reply =
      "Thanks, Ava's DOB is 26/07/2011.\n\n________________________________\nFrom: Jo Smith <jo.smith@gmail.com>\nSent: Wednesday\nTo: Office <office@staff.oakfield.sch.uk>\n\nCan you confirm Ava's date of birth? Her mum's email is jo.smith@gmail.com now.";
    expect(await wrongContact(reply)).toEqual([]);
    const signed = "Ava's DOB is 26/07/2011, confirmed.\n\nKind regards,\nKaren Patel\nParent governor, k.patel.home@gmail.com";
    expect(await wrongContact(signed)).toEqual([]);
    expect(await wrongContact("Ava's DOB is 26/07/2011. As a parent myself, my email is k.patel.home@gmail.com.")).toEqual([]);
  });
});

describe('a name in the subject', () => {
  const scanner = createScanner(trustConfig());

  it('masks every name and any identifier in the subject, and reads lower-case "send" as a word', async () => {
    const report = await scanner.scan(plainMail('Agenda attached.', { subject: 'PEP - Tyler Brooks and Ruby Hartley (LAC) UPN K336660215140' }));
    const excerpt = findingsOf(report, 'personal_data.subject_name')[0]!.evidence[0]!.excerpt;
    expect(excerpt).not.toContain('Ruby');
    expect(excerpt).not.toContain('660215140');
    const send = await scanner.scan(plainMail('Thanks.', { subject: 'Please send Jack the book' }));
    expect(findingsOf(send, 'personal_data.subject_name')).toEqual([]);
  });

  it('reports a pupil named beside a welfare matter, masking the name', async () => {
    const report = await scanner.scan(plainMail('Agenda attached.', { subject: 'PEP meeting - Tyler Brooks (LAC)' }));
    const [named] = findingsOf(report, 'personal_data.subject_name');
    expect(named!.evidence[0]).toMatchObject({ field: 'subject', masked: true, match: 'T**** B*****' });
    expect(JSON.stringify(report)).not.toContain('Tyler');
    const dashed = await scanner.scan(plainMail('Agenda attached.', { subject: 'Ruby Hartley - CP plan - core group 14 May' }));
    expect(findingsOf(dashed, 'personal_data.subject_name')[0]!.evidence[0]!.match).toBe('R*** H******');
  });

  it('leaves names without a matter, matters without a name, and titled staff alone', async () => {
    for (const subject of ['Parents evening for Jack', 'Updated SEN pupil passports are live', 'Safeguarding meeting with Mrs Patel', 'Year 9 trip to York']) {
      const report = await scanner.scan(plainMail('See you there.', { subject }));
      expect(findingsOf(report, 'personal_data.subject_name'), subject).toEqual([]);
    }
  });
});

describe('special category data about a person', () => {
  const scanner = createScanner(trustConfig());

  it('needs an identified person: a name or a pronoun, not pupils in general', async () => {
    const named = await scanner.scan(plainMail('Just so you know, Isla Morgan has been diagnosed with epilepsy.'));
    expect(findingsOf(named, 'personal_data.special_category')).toHaveLength(1);
    const general = await scanner.scan(plainMail('Pupils with epilepsy should see the school nurse before the trip.'));
    expect(findingsOf(general, 'personal_data.special_category')).toEqual([]);
  });

  it('rates it by where it goes: minor between staff, severe to a personal address or a pupil', async () => {
    const text = 'Isla Morgan is on a child protection plan.';
    const severity = async (to: string) => findingsOf(await scanner.scan(plainMail(text, { to: [to] })), 'personal_data.special_category')[0]!.severity;
    expect(await severity(OTHER_TEACHER)).toBe('minor');
    expect(await severity(PARENT)).toBe('severe');
    expect(await severity(PUPIL)).toBe('severe');
    expect(await severity('duty.team@westvale.gov.uk')).toBe('severe');
  });

  it('counts religion or sexuality only when staff send it outside the trust', async () => {
    const text = 'Aisha is Muslim and will be fasting during the residential.';
    expect(findingsOf(await scanner.scan(plainMail(text)), 'personal_data.special_category')).toEqual([]);
    expect(findingsOf(await scanner.scan(plainMail(text, { from: PUPIL, to: [PARENT] })), 'personal_data.special_category')).toEqual([]);
    expect(findingsOf(await scanner.scan(plainMail(text, { to: [CLUB] })), 'personal_data.special_category')).toHaveLength(1);
  });
});

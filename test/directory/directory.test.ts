import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kestrelConfigSchema } from '../../src/config/schema.js';
import { SourceError } from '../../src/config/yaml-source.js';
import { createDirectory } from '../../src/directory/directory.js';
import { parsePeopleCsv } from '../../src/directory/people-csv.js';
import type { Party } from '../../src/scan/types.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-directory-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A trust section as loadConfig would produce it, so defaults and validation apply. */
function trustConfig(trust: Record<string, unknown>) {
  return kestrelConfigSchema.parse({ trust }).trust;
}

const riverbank = {
  domains: ['riverbank-trust.sch.uk'],
  staff: ['*@staff.riverbank-trust.sch.uk'],
  pupils: ['*@pupils.riverbank-trust.sch.uk', '/^[0-9]{2}[a-z]+@riverbank-trust\\.sch\\.uk$/'],
};

function writeCsv(text: string): string {
  const file = join(dir, 'people.csv');
  writeFileSync(file, text);
  return file;
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    return (error as SourceError).problems;
  }
  throw new Error('expected a SourceError');
}

describe('classify by pattern', () => {
  const directory = createDirectory(trustConfig({ ...riverbank, domains: [] }));

  it('matches globs against the whole address, case-insensitively', () => {
    expect(directory.classify('J.Smith@Staff.Riverbank-Trust.sch.uk').role).toBe('staff');
    expect(directory.classify('amy@pupils.riverbank-trust.sch.uk').role).toBe('pupil');
    // The glob is anchored: a lookalike domain that merely ends the same way does not match.
    expect(directory.classify('amy@pupils.riverbank-trust.sch.uk.evil.example').role).toBe('external');
    expect(directory.classify('amy@xpupils.riverbank-trust.sch.uk').role).toBe('external');
  });

  it('treats ? as exactly one character', () => {
    const d = createDirectory(trustConfig({ staff: ['t??@x.sch.uk'] }));
    expect(d.classify('tom@x.sch.uk').role).toBe('staff');
    expect(d.classify('to@x.sch.uk').role).toBe('external');
    expect(d.classify('toms@x.sch.uk').role).toBe('external');
  });

  it('matches /regex/ patterns against the lower-cased address', () => {
    expect(directory.classify('07AMY@riverbank-trust.sch.uk').role).toBe('pupil');
    expect(directory.classify('amy07@riverbank-trust.sch.uk').role).toBe('external');
  });

  it('honours regex flags and ignores the stateful g flag', () => {
    const d = createDirectory(trustConfig({ pupils: ['/^pupil\\./g'] }));
    // With a live `g` flag the second test would start from lastIndex and fail.
    expect(d.classify('pupil.one@x.org').role).toBe('pupil');
    expect(d.classify('pupil.one@x.org').role).toBe('pupil');
    expect(d.classify('pupil.two@x.org').role).toBe('pupil');
  });

  it('checks pupil patterns before staff patterns', () => {
    const d = createDirectory(trustConfig({ staff: ['*@riverbank-trust.sch.uk'], pupils: ['y7*@riverbank-trust.sch.uk'] }));
    expect(d.classify('y7amy@riverbank-trust.sch.uk').role).toBe('pupil');
    expect(d.classify('mr.jones@riverbank-trust.sch.uk').role).toBe('staff');
  });

  it('lower-cases and trims the address it returns, and keeps the display name', () => {
    expect(directory.classify('  Amy@Pupils.Riverbank-Trust.sch.uk ', 'Amy Pond')).toEqual({
      address: 'amy@pupils.riverbank-trust.sch.uk',
      name: 'Amy Pond',
      role: 'pupil',
      personalDomain: false,
      trustAccount: true,
    });
  });
});

describe('trust domains', () => {
  it('counts subdomains of a listed domain as trust, and nothing else', () => {
    const d = createDirectory(trustConfig({ domains: ['riverbank-trust.sch.uk'] }));
    expect(d.isTrustDomain('riverbank-trust.sch.uk')).toBe(true);
    expect(d.isTrustDomain('Staff.Riverbank-Trust.SCH.uk')).toBe(true);
    expect(d.isTrustDomain('a.b.riverbank-trust.sch.uk.')).toBe(true);
    expect(d.isTrustDomain('evilriverbank-trust.sch.uk')).toBe(false);
    expect(d.isTrustDomain('sch.uk')).toBe(false);
    expect(d.isTrustDomain('riverbank-trust.sch.uk.evil.example')).toBe(false);
    expect(d.isTrustDomain('')).toBe(false);
  });

  it('gives unmatched trust-domain addresses the configured role', () => {
    const asStaff = createDirectory(trustConfig(riverbank));
    expect(asStaff.classify('office@admin.riverbank-trust.sch.uk').role).toBe('staff');
    const asPupil = createDirectory(trustConfig({ ...riverbank, unmatchedTrustRole: 'pupil' }));
    expect(asPupil.classify('office@admin.riverbank-trust.sch.uk').role).toBe('pupil');
    expect(asPupil.classify('office@elsewhere.org').role).toBe('external');
    expect(asPupil.classify('not-an-address').role).toBe('external');
  });
});

describe('personal domains', () => {
  it('flags the built-in consumer domains and any extras, exactly', () => {
    const d = createDirectory(trustConfig({ ...riverbank, extraPersonalDomains: ['example-isp.net'] }));
    expect(d.classify('someone@Gmail.com').personalDomain).toBe(true);
    expect(d.classify('someone@hotmail.co.uk').personalDomain).toBe(true);
    expect(d.classify('someone@example-isp.net').personalDomain).toBe(true);
    expect(d.classify('someone@mail.gmail.com.evil.example').personalDomain).toBe(false);
    expect(d.classify('head@riverbank-trust.sch.uk').personalDomain).toBe(false);
    expect(d.classify('someone@gmail.com')).toMatchObject({ role: 'external', personalDomain: true });
  });

  it('uses only the given list when personalDomains replaces the default', () => {
    const d = createDirectory(trustConfig({ personalDomains: ['only.example'] }));
    expect(d.classify('x@only.example').personalDomain).toBe(true);
    expect(d.classify('x@gmail.com').personalDomain).toBe(false);
  });
});

describe('academies', () => {
  it('takes the academy from the first matching pattern', () => {
    const d = createDirectory(
      trustConfig({
        ...riverbank,
        academies: [
          { name: 'Riverbank Academy', patterns: ['*@ra.riverbank-trust.sch.uk'] },
          { name: 'Hillside Primary', patterns: ['*@hp.riverbank-trust.sch.uk', '/^hp-/'] },
        ],
      }),
    );
    expect(d.classify('head@ra.riverbank-trust.sch.uk').academy).toBe('Riverbank Academy');
    expect(d.classify('head@hp.riverbank-trust.sch.uk').academy).toBe('Hillside Primary');
    expect(d.classify('hp-office@riverbank-trust.sch.uk').academy).toBe('Hillside Primary');
    expect(d.classify('ceo@riverbank-trust.sch.uk')).not.toHaveProperty('academy');
  });
});

describe('directory CSV', () => {
  it('takes precedence over patterns for role, academy and name', () => {
    const directoryCsv = writeCsv(
      [
        'Name,Address,Role,Academy',
        'Amy Pond,amy@staff.riverbank-trust.sch.uk,pupil,Hillside Primary',
        'Rory Williams,RORY@pupils.riverbank-trust.sch.uk,Staff,',
        'Visiting Coach,coach@riverbank-trust.sch.uk,external,',
        'Clara Oswald,clara@gmail.com,pupil,Riverbank Academy',
      ].join('\n'),
    );
    const d = createDirectory(
      trustConfig({
        ...riverbank,
        directoryCsv,
        academies: [{ name: 'Riverbank Academy', patterns: ['*@*.riverbank-trust.sch.uk'] }],
      }),
    );
    expect(d.classify('amy@staff.riverbank-trust.sch.uk')).toEqual({
      address: 'amy@staff.riverbank-trust.sch.uk',
      name: 'Amy Pond',
      role: 'pupil',
      academy: 'Hillside Primary',
      personalDomain: false,
      trustAccount: true,
    });
    // No academy in the CSV row: the pattern fills it in.
    expect(d.classify('rory@pupils.riverbank-trust.sch.uk')).toMatchObject({ role: 'staff', academy: 'Riverbank Academy' });
    expect(d.classify('coach@riverbank-trust.sch.uk').role).toBe('external');
    // A pupil the CSV knows at their own Gmail keeps the role, but it is not a trust account.
    expect(d.classify('clara@gmail.com')).toMatchObject({ role: 'pupil', personalDomain: true, trustAccount: false, academy: 'Riverbank Academy' });
    // The name shown in the message wins over the CSV name.
    expect(d.classify('amy@staff.riverbank-trust.sch.uk', 'Amelia').name).toBe('Amelia');
    // Addresses not in the CSV still fall through to the patterns.
    expect(d.classify('zoe@pupils.riverbank-trust.sch.uk').role).toBe('pupil');
  });

  it('accepts a BOM, blank lines, padding and quoted multi-line fields', () => {
    const people = parsePeopleCsv(
      'people.csv',
      '\ufeffname , address , role\n\n  A , a@x.org , staff \n"B\nsecond line",b@x.org,pupil\n , , \n',
    );
    expect([...people.values()]).toEqual([
      { address: 'a@x.org', name: 'A', role: 'staff', line: 3 },
      { address: 'b@x.org', name: 'B\nsecond line', role: 'pupil', line: 4 },
    ]);
  });

  it('reports every bad row with its line', () => {
    const text = [
      'name,address,role,academy', // 1
      'Good,good@x.org,staff,', // 2
      'Teacher,t@x.org,teacher,', // 3
      '', // 4
      'Nobody,,pupil,', // 5
      '"Multi', // 6
      'line",nope,pupil,', // 7
      'Again,GOOD@x.org,pupil,', // 8
      'No role,r@x.org,,', // 9
    ].join('\n');
    expect(problemsOf(() => parsePeopleCsv('people.csv', text))).toEqual([
      'people.csv:3: role: expected staff, pupil or external, got "teacher"',
      'people.csv:5: address: missing',
      'people.csv:6: address: expected an email address, got "nope"',
      'people.csv:8: address: "good@x.org" is already listed on line 2',
      'people.csv:9: role: expected staff, pupil or external, got ""',
    ]);
  });

  it('reports header problems on line 1', () => {
    expect(problemsOf(() => parsePeopleCsv('people.csv', 'name,adress,role\nA,a@x.org,staff\n'))).toEqual([
      'people.csv:1: unknown column "adress"; the header row must name columns from name,address,role,academy',
      'people.csv:1: missing column "address"',
    ]);
    expect(problemsOf(() => parsePeopleCsv('people.csv', ''))).toEqual([
      'people.csv:1: empty file; expected a header row name,address,role,academy',
    ]);
  });

  it('reports malformed CSV with its line', () => {
    expect(problemsOf(() => parsePeopleCsv('people.csv', 'name,address,role\nA,a@x.org,staff\nB,b@x.org\n'))).toEqual([
      'people.csv:3: Invalid Record Length: columns length is 3, got 2',
    ]);
  });

  it('names the file and line when createDirectory reads a bad CSV', () => {
    const directoryCsv = writeCsv('name,address,role\nA,a@x.org,headteacher\n');
    const [problem] = problemsOf(() => createDirectory(trustConfig({ directoryCsv })));
    expect(problem).toMatch(/people\.csv:2: role: expected staff, pupil or external, got "headteacher"$/);
  });

  it('names a missing CSV file', () => {
    const directoryCsv = join(dir, 'missing.csv');
    expect(problemsOf(() => createDirectory(trustConfig({ directoryCsv })))).toEqual([`${directoryCsv}: directory CSV not found`]);
  });
});

describe('direction', () => {
  const d = createDirectory(trustConfig(riverbank));
  const staff = d.classify('head@staff.riverbank-trust.sch.uk');
  const pupil = d.classify('amy@pupils.riverbank-trust.sch.uk');
  const parent = d.classify('parent@gmail.com');
  const council: Party = d.classify('lado@riverside.gov.uk');

  it('is outbound when a trust sender writes to anyone external', () => {
    expect(d.direction(staff, [pupil, parent])).toBe('outbound');
    expect(d.direction(pupil, [council])).toBe('outbound');
  });

  it('is internal when a trust sender writes only within the trust, or to no one', () => {
    expect(d.direction(staff, [pupil, staff])).toBe('internal');
    expect(d.direction(pupil, [])).toBe('internal');
  });

  it('is inbound when the sender is external or unknown', () => {
    expect(d.direction(parent, [staff])).toBe('inbound');
    expect(d.direction(parent, [parent, council])).toBe('inbound');
    expect(d.direction(undefined, [staff])).toBe('inbound');
  });
});

describe('role patterns outside the trust', () => {
  it('classify only trust-domain addresses once trust domains are set', () => {
    const d = createDirectory(trustConfig({ domains: ['riverbank-trust.sch.uk'], pupils: ['/^[0-9]{2}[a-z]+@/'] }));
    expect(d.classify('22lmorgan@pupils.riverbank-trust.sch.uk').role).toBe('pupil');
    expect(d.classify('12smith@gmail.com').role).toBe('external');
  });

  it('classify any address when no trust domains are configured', () => {
    const d = createDirectory(trustConfig({ pupils: ['/^[0-9]{2}[a-z]+@/'] }));
    expect(d.classify('12smith@example.org').role).toBe('pupil');
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScanner, type Scanner, type ScanReport } from '../../src/scan/pipeline.js';
import { findingsOf, plainMail, trustConfig } from '../personal-data/support-mail.js';

const STAFF = 'k.patel@staff.oakfield.sch.uk';
const OTHER_STAFF = 'j.ward@staff.oakfield.sch.uk';
const STAFF_OWN = 'kpatel.home@gmail.com';
const PUPIL = '22amorgan@pupils.oakfield.sch.uk';
const OTHER_PUPIL = '22tellis@pupils.oakfield.sch.uk';
const PUPIL_OWN = 'amy.morgan@icloud.com';
const PARENT = 'jordan.b@gmail.com';
const CLUB = 'secretary@westvale-harriers.org.uk';

let dir: string;
let scanner: Scanner;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-pupil-email-'));
  const csv = join(dir, 'people.csv');
  // The directory knows a teacher's and a pupil's own addresses as well as their trust accounts.
  writeFileSync(csv, `name,address,role\nKiran Patel,${STAFF},staff\nKiran Patel,${STAFF_OWN},staff\nAmy Morgan,${PUPIL},pupil\nAmy Morgan,${PUPIL_OWN},pupil\n`);
  scanner = createScanner(trustConfig(`  directoryCsv: ${csv}\npupilEmail:\n  socialAccounts: ["comms@staff.oakfield.sch.uk"]`));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function scan(body: string, from: string, to: string[], subject = 'hello'): Promise<ScanReport> {
  return scanner.scan(plainMail(body, { from, to, subject }));
}

function severityOf(report: ScanReport, category: string): string | null {
  const found = findingsOf(report, category);
  return found.length === 0 ? null : found.map((f) => f.severity).sort().join(',');
}

describe('trust accounts only between staff and pupils (directory-driven)', () => {
  const neutral = 'See you at training on Thursday, bring your boots.';
  it.each([
    ['staff trust account to pupil trust account', STAFF, PUPIL, null],
    ["staff trust account to the pupil's own address", STAFF, PUPIL_OWN, 'moderate'],
    ["staff's own address to pupil trust account", STAFF_OWN, PUPIL, 'severe'],
    ["staff's own address to the pupil's own address", STAFF_OWN, PUPIL_OWN, 'severe'],
    ['pupil trust account to staff trust account', PUPIL, STAFF, null],
    ["pupil's own address to staff trust account", PUPIL_OWN, STAFF, 'minor'],
    ["pupil trust account to the teacher's own address", PUPIL, STAFF_OWN, 'minor'],
    ['staff to their own address', STAFF, STAFF_OWN, null],
    ['staff to staff', STAFF, OTHER_STAFF, null],
    ['pupil to pupil', PUPIL, OTHER_PUPIL, null],
    ["pupil to the pupil's own address", PUPIL, PUPIL_OWN, null],
    ['a parent to a pupil', PARENT, PUPIL, null],
    ['a parent to staff', PARENT, STAFF, null],
    ['a club to a pupil', CLUB, PUPIL, null],
    ['staff to a parent', STAFF, PARENT, null],
  ])('%s', async (_case, from, to, expected) => {
    const report = await scan(neutral, from, [to]);
    expect(severityOf(report, 'pupil_email.non_trust_account')).toBe(expected);
    if (expected) {
      const evidence = findingsOf(report, 'pupil_email.non_trust_account')[0]!.evidence[0]!;
      // Roles and account kinds, never the addresses.
      expect(evidence.excerpt).not.toMatch(/@/);
      expect(report.routes).toContain('monitor');
    }
  });

  it('takes the worst pair when one message goes to several recipients', async () => {
    const report = await scan(neutral, STAFF, [OTHER_STAFF, PUPIL, PUPIL_OWN]);
    expect(severityOf(report, 'pupil_email.non_trust_account')).toBe('moderate');
  });
});

describe('personal contact details between roles', () => {
  const ownNumber = 'If you get stuck over Easter, my personal number is 07700 900583, text me.';
  it.each([
    ['staff to a pupil', STAFF, PUPIL, 'pupil_email.staff_contact_details', 'severe'],
    ['an outsider to a pupil', CLUB, PUPIL, 'pupil_email.adult_contact_details', 'moderate'],
    ['a pupil to another pupil', PUPIL, OTHER_PUPIL, 'pupil_email.pupil_reveals_details', 'minor'],
    ['a pupil to someone outside the trust', PUPIL, PARENT, 'pupil_email.pupil_reveals_details', 'moderate'],
    ['staff to staff', STAFF, OTHER_STAFF, null, null],
    ['staff to a parent', STAFF, PARENT, null, null],
    ['a pupil to staff', PUPIL, STAFF, null, null],
    ['a parent to staff', PARENT, STAFF, null, null],
  ])('%s', async (_case, from, to, rule, severity) => {
    const report = await scan(ownNumber, from, [to]);
    const found = findingsOf(report, 'pupil_email.personal_contact').filter((f) => f.rule.endsWith('details'));
    expect(found.map((f) => f.rule)).toEqual(rule ? [rule] : []);
    if (severity) {
      expect(found[0]!.severity).toBe(severity);
      // The number stays masked, as in the personal-data finding it comes from.
      expect(found[0]!.evidence[0]!.masked).toBe(true);
      expect(found[0]!.evidence[0]!.excerpt).not.toContain('900583');
    }
  });

  it("does not count someone else's number, or one in quoted history, against an adult", async () => {
    const parents = await scan("Hannah's mum's mobile is 07700 900583 if the coach is late.", STAFF, [PUPIL]);
    expect(findingsOf(parents, 'pupil_email.personal_contact')).toEqual([]);
    const quoted = await scan('Thanks, noted.\n\n> my personal number is 07700 900583, text me\n', STAFF, [PUPIL]);
    expect(findingsOf(quoted, 'pupil_email.personal_contact')).toEqual([]);
  });

  it('masks the number in every excerpt that shows it, the invitation rule included', async () => {
    const report = await scan('Just WhatsApp me on my personal number 07700 900583 if you get stuck.', STAFF, [PUPIL]);
    const invite = report.findings.find((f) => f.rule === 'pupil_email.staff_connect_invite');
    expect(invite).toBeDefined();
    expect(invite!.evidence[0]!.masked).toBe(true);
    expect(JSON.stringify(report.findings)).not.toContain('900583');
  });

  it('finds an invitation to connect on a personal app, by who sends it', async () => {
    const invite = "From now on I'll put the team sheet on Snapchat rather than Teams, add me on snap.";
    expect(severityOf(await scan(invite, STAFF, [PUPIL]), 'pupil_email.personal_contact')).toBe('severe');
    expect(severityOf(await scan(invite, CLUB, [PUPIL]), 'pupil_email.personal_contact')).toBe('moderate');
    expect(severityOf(await scan(invite, STAFF, [OTHER_STAFF]), 'pupil_email.personal_contact')).toBeNull();
    expect(severityOf(await scan(invite, PUPIL, [OTHER_PUPIL]), 'pupil_email.personal_contact')).toBeNull();
    const advice = await scan('Never accept a friend request on Snapchat from someone you do not know.', STAFF, [PUPIL]);
    expect(findingsOf(advice, 'pupil_email.personal_contact')).toEqual([]);
  });

  it('escalates a private channel with secrecy between staff and a pupil to grooming', async () => {
    const report = await scan(
      "It's best you text me rather than email, because school reads these. My number is 07700 900762. Let's keep our chats between us, don't tell your mum.",
      STAFF,
      [PUPIL],
    );
    expect(report.categories).toEqual(expect.arrayContaining(['pupil_email.personal_contact', 'safety.grooming']));
    expect(report.routes).toEqual(expect.arrayContaining(['monitor']));
  });
});

describe('disableRules', () => {
  it('switches off a rule of the pupil-email detector as it does lexicon rules', async () => {
    const off = createScanner(trustConfig('disableRules: [pupil_email.staff_contact_details]'));
    const report = await off.scan(plainMail('My personal number is 07700 900583, text me.', { from: STAFF, to: [PUPIL] }));
    expect(report.findings.map((f) => f.rule)).not.toContain('pupil_email.staff_contact_details');
    expect(report.findings.map((f) => f.rule)).toContain('personal_data.phone_number');
    const on = await createScanner(trustConfig()).scan(plainMail('My personal number is 07700 900583, text me.', { from: STAFF, to: [PUPIL] }));
    expect(on.findings.map((f) => f.rule)).toContain('pupil_email.staff_contact_details');
  });
});

describe('admitting to a non-trust account in the text', () => {
  it('flags an adult writing to a pupil from their own mailbox instead of the school one', async () => {
    const report = await scan('Using my own email as the school one keeps logging me out. Bring your boots tomorrow.', 'dan.coach@gmail.com', [PUPIL]);
    expect(severityOf(report, 'pupil_email.non_trust_account')).toBe('severe');
  });

  it('flags a pupil writing to a teacher from a personal mailbox, at minor', async () => {
    const report = await scan("Hi sir, I couldn't log in to my school email so I'm using my own. Can you send the extract?", 'ellie.w@icloud.com', [STAFF]);
    expect(severityOf(report, 'pupil_email.non_trust_account')).toBe('minor');
  });

  it('leaves parents writing from their own mailboxes alone', async () => {
    const report = await scan("My son couldn't log in to his school email last night, could you resend the homework?", PARENT, [STAFF]);
    expect(findingsOf(report, 'pupil_email.non_trust_account')).toEqual([]);
  });
});

describe('trust addresses used for personal social media', () => {
  const signup = 'Thanks for registering for an account on Discord! Before we get started, please verify your email address.';

  it('flags sign-up mail from a social network to a pupil (moderate) and to staff (minor)', async () => {
    expect(severityOf(await scan(signup, 'noreply@discord.com', [PUPIL]), 'pupil_email.social_signup')).toBe('moderate');
    expect(severityOf(await scan('Hi Sophie, welcome to LinkedIn! Please confirm your email address.', 'security-noreply@linkedin.com', [STAFF]), 'pupil_email.social_signup')).toBe('minor');
    // Account misuse goes to ICT, not to the e-safety monitor.
    expect((await scan(signup, 'noreply@discord.com', [PUPIL])).routes).toEqual(['ict']);
  });

  it('needs the network as the sender, and spares the official accounts the trust lists', async () => {
    expect(findingsOf(await scan(signup, 'newsletter@example.org', [PUPIL]), 'pupil_email.social_signup')).toEqual([]);
    expect(findingsOf(await scan(signup, 'noreply@discord.com', ['comms@staff.oakfield.sch.uk']), 'pupil_email.social_signup')).toEqual([]);
    expect(findingsOf(await scan('We have updated our parental controls for teen accounts.', 'noreply@discord.com', [PUPIL]), 'pupil_email.social_signup')).toEqual([]);
  });
});

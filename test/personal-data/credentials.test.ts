import { describe, expect, it } from 'vitest';
import { credentials, looksLikeAPassword } from '../../src/scan/detectors/personal-data/recognizers/credentials.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { findingsOf, plainMail, trustConfig } from './support-mail.js';
import { valuesFound, viewOf } from './support.js';

function spans(text: string): Array<{ value: string; start: number }> {
  return credentials.find(viewOf(text)).map((c) => ({ value: text.slice(c.start, c.end), start: c.start }));
}

describe('credentials', () => {
  it('takes the value after each way of giving a password, with its exact span', () => {
    const text = 'can you log on for me? username 18rclarke password 777777';
    const [candidate] = credentials.find(viewOf(text));
    expect(text.slice(candidate!.start, candidate!.end)).toBe('777777');
    expect(candidate!.start).toBe(text.length - 6);
    expect(valuesFound(credentials, 'Wifi for the exam hall: network OakfieldStaff, password summer')).toEqual(['summer']);
    expect(valuesFound(credentials, 'pass for the maths website is football (user 17kkelly)')).toEqual(['football']);
    expect(valuesFound(credentials, 'Your temporary password is dallas - please change it.')).toEqual(['dallas']);
    expect(valuesFound(credentials, 'Username: s.yates@staff.oakfield.sch.uk\nPassword: Riverbank!Spring25')).toEqual(['Riverbank!Spring25']);
    expect(valuesFound(credentials, "I've reset Jack's password to charlie so he can get in.")).toEqual(['charlie']);
    expect(valuesFound(credentials, 'your login is jsmith / Blue7horse')).toEqual(['Blue7horse']);
    expect(valuesFound(credentials, 'Username 21amurphy / password pepper')).toEqual(['pepper']);
    expect(valuesFound(credentials, 'The code for the staff room door is 4821.')).toEqual(['4821']);
    expect(valuesFound(credentials, 'PIN: 0090')).toEqual(['0090']);
  });

  it('takes a password that repeats its label, at the value and not at the label', () => {
    const text = 'The password is password';
    expect(spans(text)).toEqual([{ value: 'password', start: text.length - 8 }]);
    expect(valuesFound(credentials, "I've reset it - new password: pass")).toEqual(['pass']);
  });

  it('leaves quotes and sentence punctuation out of the value', () => {
    expect(valuesFound(credentials, 'Her Arbor password is "sunshine".')).toEqual(['sunshine']);
    expect(valuesFound(credentials, 'The wifi password is Riverbank2025!')).toEqual(['Riverbank2025']);
    expect(valuesFound(credentials, 'My new password is Sunflower!2025 - can you sync it?')).toEqual(['Sunflower!2025']);
  });

  it('takes a value on the line after its label', () => {
    const text = "Tina's login is exams.ra@staff.oakfield.sch.uk / password\n   Ex4ms!Riverbank25 if you need it.";
    expect(valuesFound(credentials, text)).toEqual(['Ex4ms!Riverbank25']);
  });

  it('finds keys by their fixed shapes, and the whole of a private key', () => {
    expect(valuesFound(credentials, 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE')).toEqual(['AKIAIOSFODNN7EXAMPLE']);
    expect(valuesFound(credentials, `token ghp_${'a'.repeat(36)} expires soon`)).toEqual([`ghp_${'a'.repeat(36)}`]);
    expect(valuesFound(credentials, `SLACK=xoxb-123456789012-abcdefghij`)).toEqual(['xoxb-123456789012-abcdefghij']);
    expect(valuesFound(credentials, `key=AIza${'B'.repeat(35)}`)).toEqual([`AIza${'B'.repeat(35)}`]);
    expect(valuesFound(credentials, `sk_live_${'c'.repeat(24)}`)).toEqual([`sk_live_${'c'.repeat(24)}`]);
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----';
    expect(valuesFound(credentials, `Here it is:\n${key}\nthanks`)).toEqual([key]);
    expect(valuesFound(credentials, '-----BEGIN PGP SIGNATURE-----\niD8DBQE9SxOd3\n-----END PGP SIGNATURE-----')).toEqual([]);
    expect(valuesFound(credentials, `ghp_${'a'.repeat(20)}`)).toEqual([]);
  });

  it('does not take the next word of a sentence about passwords', () => {
    for (const text of [
      'Please click the link to reset your password.',
      'Reminder: passwords must be at least 12 characters and must not be shared with anyone.',
      '4. Choose a new password: at least 12 characters.',
      '- Never tell anyone your password - not your friends.',
      'Validate your password within 24 hours using the link below.',
      'If you enter your username and password there, the criminals have your account.',
      'Your username is 22hnguyen; your password will be sent separately.',
      'The password is changing next week for everyone.',
      'Your password is due to expire.',
      'I forgot my password again.',
      'Password cracking: why a short password can be brute-forced',
      'Turn on 2-step verification: password 2-step codes arrive by text.',
      'Password: ********',
      'Please pin the poster up; pin 2 is loose.',
      'Your bus pass is valid until July.',
      'Pass on to parents: the trip is on Monday.',
    ]) {
      expect(valuesFound(credentials, text), text).toEqual([]);
    }
  });

  it('takes a plain word only when it ends the clause, and a shaped value anywhere', () => {
    expect(valuesFound(credentials, 'The password is dragon.')).toEqual(['dragon']);
    expect(valuesFound(credentials, 'The password is dragon so keep it safe.')).toEqual(['dragon']);
    expect(valuesFound(credentials, 'The password is dragon fruit salad.')).toEqual([]);
    expect(valuesFound(credentials, 'The password is dr4gon fruit salad.')).toEqual(['dr4gon']);
  });

  it('tells function words and placeholders from passwords, but keeps dictionary-word passwords', () => {
    for (const word of ['here', 'below', 'reset', 'expired', 'the', 'attached', 'XXXXXX', '****', '2-step', 'https://example.com/reset']) {
      expect(looksLikeAPassword(word), word).toBe(false);
    }
    for (const word of ['password', 'football', 'aaaaaa', 'trustno1', '1111', 'Ex4ms!Riverbank25']) {
      expect(looksLikeAPassword(word), word).toBe(true);
    }
  });

  it('masks the value completely', () => {
    expect(credentials.mask('Riverbank!Spring25')).toBe('*********!********');
    expect(credentials.mask('4821')).toBe('****');
  });

  it('reports credentials in mail with the password hidden from the evidence', async () => {
    const scanner = createScanner(trustConfig());
    const report = await scanner.scan(plainMail("Hi Sophie,\nYour new login details are:\nUsername: s.yates\nPassword: Riverbank!Spring25\nPlease change it.\n"));
    const [finding] = findingsOf(report, 'personal_data.credentials');
    expect(finding).toBeDefined();
    expect(finding!.evidence[0]!.masked).toBe(true);
    expect(JSON.stringify(report)).not.toContain('Spring25');
  });
});

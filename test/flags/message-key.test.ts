import { describe, expect, it } from 'vitest';
import { messageKey } from '../../src/flags/message-key.js';
import { installWindows1252Decoder, NativeTextDecoder } from '../../src/scan/parse/windows-1252.js';

/** As the sender's client stored it in Sent (Thunderbird-style, CRLF, with the Bcc it sent to). */
const SENT = [
  'Message-ID: <4f1c2a9e-77b1-4c0e-9a51-1f0d2c3e4b5a@staff.oakfield.sch.uk>',
  'Date: Tue, 11 Mar 2025 13:20:54 +0000',
  'MIME-Version: 1.0',
  'User-Agent: Mozilla Thunderbird',
  'Content-Language: en-GB',
  'To: Jordan Bell <jordan.b@gmail.com>, "Okafor, Sam" <23sokafor@pupils.oakfield.sch.uk>',
  'Cc: h.ali@staff.oakfield.sch.uk',
  'Bcc: dsl@staff.oakfield.sch.uk',
  'From: Karen Patel <k.patel@staff.oakfield.sch.uk>',
  'Subject: Year 6 residential trip: medical forms still missing for three pupils in the group',
  'Content-Type: text/plain; charset=UTF-8; format=flowed',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Dear parents,',
  '',
  'Please return the medical forms by Friday.',
  '',
].join('\r\n');

/**
 * The same message in a recipient's INBOX as Dovecot stores it: LF line ends, trace headers added
 * on top, no Bcc, long headers refolded at different points, one header name in another case.
 */
const INBOX = [
  'Return-Path: <k.patel@staff.oakfield.sch.uk>',
  'Delivered-To: 23sokafor@pupils.oakfield.sch.uk',
  'Received: from mx1.oakfield.sch.uk (mx1.oakfield.sch.uk [10.0.0.5])',
  '\tby imap.oakfield.sch.uk with LMTP id 3k2lM0ZJ0GdwBQAA',
  '\tfor <23sokafor@pupils.oakfield.sch.uk>; Tue, 11 Mar 2025 13:20:56 +0000',
  'Received: from [192.168.4.20] (unknown [192.168.4.20])',
  '\tby mx1.oakfield.sch.uk (Postfix) with ESMTPSA id 4Z8fPq1cR2z9s',
  '\tTue, 11 Mar 2025 13:20:55 +0000 (GMT)',
  'X-Spam-Status: No, score=-1.0',
  'Message-Id: <4f1c2a9e-77b1-4c0e-9a51-1f0d2c3e4b5a@staff.oakfield.sch.uk>',
  'Date: Tue, 11 Mar 2025 13:20:54 +0000',
  'MIME-Version: 1.0',
  'User-Agent: Mozilla Thunderbird',
  'Content-Language: en-GB',
  'To: Jordan Bell <jordan.b@gmail.com>,',
  ' "Okafor, Sam" <23sokafor@pupils.oakfield.sch.uk>',
  'Cc: h.ali@staff.oakfield.sch.uk',
  'From: Karen Patel <k.patel@staff.oakfield.sch.uk>',
  'Subject: Year 6 residential trip: medical forms still missing for three',
  '  pupils in the group',
  'Content-Type: text/plain; charset=UTF-8; format=flowed',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Dear parents,',
  '',
  'Please return the medical forms by Friday.',
  '',
].join('\n');

function withHeader(message: string, name: string, value: string): string {
  return message.replace(new RegExp(`^${name}:.*$`, 'm'), `${name}: ${value}`);
}

const key = (text: string) => messageKey(Buffer.from(text, 'utf8'));

describe('messageKey', () => {
  it('is a sha256 hex digest', () => {
    expect(key(SENT)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the Sent copy and an INBOX copy the same key', () => {
    expect(key(INBOX)).toBe(key(SENT));
  });

  it('gives a journal copy wrapped differently the same key (header order, tabs in folding)', () => {
    const split = SENT.indexOf('\r\n\r\n');
    const [head, body] = [SENT.slice(0, split), SENT.slice(split + 4)];
    const reordered = head.split('\r\n').reverse().join('\r\n').replace('Cc: ', 'CC:\t');
    expect(key(`${reordered}\r\n\r\n${body}`)).toBe(key(SENT));
  });

  it('does not let a reused Message-ID stand for another message', () => {
    const original = key(SENT);
    // The same Message-ID from another sender, or with another subject, date or recipients.
    expect(key(withHeader(SENT, 'From', '22lmorgan@pupils.oakfield.sch.uk'))).not.toBe(original);
    expect(key(withHeader(SENT, 'Subject', 'meet me after school, dont tell anyone'))).not.toBe(original);
    expect(key(withHeader(SENT, 'Date', 'Wed, 12 Mar 2025 08:00:00 +0000'))).not.toBe(original);
    expect(key(withHeader(SENT, 'To', '23sokafor@pupils.oakfield.sch.uk'))).not.toBe(original);
    expect(key(withHeader(SENT, 'Cc', 'k.patel@staff.oakfield.sch.uk'))).not.toBe(original);
    expect(key(SENT.replace(/^Cc:.*\r\n/m, ''))).not.toBe(original);
  });

  it('tells an absent header from an empty one, and one field from the next', () => {
    const base = ['Message-ID: <a@b>', 'From: x@y', 'Subject: hello'];
    const asText = (lines: string[]) => key(`${lines.join('\r\n')}\r\n\r\nbody`);
    expect(asText([...base, 'Cc:'])).not.toBe(asText(base));
    expect(asText(['Message-ID: <a@b>', 'From: x@y', 'Subject: hello', 'To: a'])).not.toBe(asText(['Message-ID: <a@b>', 'From: x@y', 'Subject: hello a']));
  });

  it('hashes the body when there is no Message-ID, ignoring only line ends and trailing blanks', () => {
    const noId = SENT.replace(/^Message-ID:.*\r\n/m, '');
    expect(key(noId)).not.toBe(key(SENT));
    expect(key(noId.replace('by Friday', 'by Monday'))).not.toBe(key(noId));
    expect(key(noId.replace(/\r\n/g, '\n'))).toBe(key(noId));
    expect(key(`${noId}\r\n\r\n`)).toBe(key(noId));
    // An empty Message-ID is no Message-ID.
    expect(key(SENT.replace(/^Message-ID:.*$/m, 'Message-ID:').replace('by Friday', 'by Monday'))).not.toBe(
      key(SENT.replace(/^Message-ID:.*$/m, 'Message-ID:')),
    );
  });

  it('keys the body too: the sender cannot resend the same headers with other words and have them taken as already scanned', () => {
    expect(key(SENT.replace('Please return', 'PLEASE return'))).not.toBe(key(SENT));
    // The cost, accepted: a gateway that stamps a footer on a copy makes it a message of its own.
    expect(key(`${SENT}--\r\nThis email has been scanned by the trust mail gateway.\r\n`)).not.toBe(key(SENT));
  });

  it('copes with damaged and unusual input without throwing', () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from('\r\n\r\n'),
      Buffer.from('no header at all, just text'),
      Buffer.from('Subject: no blank line and no body'),
      Buffer.from('From sender@example.com Tue Mar 11 13:20:54 2025\nSubject: mbox separator first\n\nbody'),
      Buffer.from('  leading fold\r\nSubject: x\r\n\r\n'),
      Buffer.from([0x53, 0x75, 0x62, 0x6a, 0x65, 0x63, 0x74, 0x3a, 0x20, 0xe9, 0xff, 0x00, 0x0a, 0x0a, 0x80, 0x81]),
      Buffer.from(`Subject: ${' '.repeat(200_000)}x\n${' '.repeat(200_000)}:y\n\n${' \n'.repeat(100_000)}x`),
      Buffer.from('Subject: bare CR\rFrom: x\r\rbody'),
      // Inputs that make naive regular expressions take quadratic time.
      Buffer.from(`To: ${'a'.repeat(300_000)}\nCc: "${'\\"'.repeat(100_000)}\nFrom: ${'=?'.repeat(100_000)}\n\n`),
      Buffer.from('Subject: =?x-unknown-charset?Q?abc?= =?utf-8?B?!!!?=\n\n'),
    ];
    for (const input of inputs) expect(messageKey(input)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads raw 8-bit headers as UTF-8, or byte for byte when they are not', () => {
    const latin1 = Buffer.concat([Buffer.from('Message-ID: <a@b>\nSubject: caf'), Buffer.from([0xe9]), Buffer.from('\n\nbody')]);
    const utf8 = Buffer.from('Message-ID: <a@b>\nSubject: café\n\nbody', 'utf8');
    expect(messageKey(latin1)).toBe(messageKey(utf8));
    expect(messageKey(utf8)).toBe(messageKey(Buffer.from('Message-ID: <a@b>\r\nSubject:  café \r\n\r\nbody\r\n', 'utf8')));
    expect(messageKey(utf8)).not.toBe(messageKey(Buffer.from('Message-ID: <a@b>\nSubject: cafe\n\nbody')));
  });

  it('survives a server re-encoding the subject and regenerating address headers (as Exchange does)', () => {
    const original = withHeader(SENT, 'Subject', 'Trip to the café: £15 deposit');
    const exchange = withHeader(
      withHeader(withHeader(original, 'Subject', '=?utf-8?B?VHJpcCB0byB0aGUgY2Fmw6k6IMKjMTUgZGVwb3NpdA==?='), 'To', '"Okafor, Sam" <23SOkafor@pupils.oakfield.sch.uk>, "Jordan Bell" <jordan.b@gmail.com>'),
      'From',
      '=?us-ascii?Q?Karen_Patel?= <k.patel@staff.oakfield.sch.uk>',
    );
    expect(key(exchange)).toBe(key(original));
    const qEncoded = withHeader(original, 'Subject', '=?UTF-8?Q?Trip_to_the_caf=C3=A9:_=C2=A315?=\r\n =?UTF-8?Q?_deposit?=');
    expect(key(qEncoded)).toBe(key(original));
    // The same instant written in another zone.
    expect(key(withHeader(SENT, 'Date', 'Tue, 11 Mar 2025 14:20:54 +0100 (BST)'))).toBe(key(SENT));
  });

  it('keeps addresses apart from the names shown with them', () => {
    // A display name that looks like an address is not the address.
    expect(key(withHeader(SENT, 'From', '"k.patel@staff.oakfield.sch.uk" <22lmorgan@pupils.oakfield.sch.uk>'))).not.toBe(key(SENT));
    expect(key(withHeader(SENT, 'From', 'k.patel@staff.oakfield.sch.uk (Karen Patel)'))).toBe(key(SENT));
  });

  it('ignores a line in the header block that is not a header', () => {
    expect(key(SENT.replace('User-Agent: Mozilla Thunderbird', 'this line is damage'))).toBe(key(SENT));
  });
});

describe('messageKey and the windows-1252 decoder fix', () => {
  it('decodes encoded words with Node’s own decoder, so installing the fix changes no key', () => {
    installWindows1252Decoder();
    const withSubject = (subject: string) => Buffer.from(SENT.replace(/^Subject: .*$/m, `Subject: ${subject}`));
    // What Node's own decoder makes of byte 0x92, written as UTF-8: the same text, so the same key.
    const native = Buffer.from(new NativeTextDecoder('windows-1252').decode(Uint8Array.of(0x92)), 'utf8');
    const asUtf8 = [...native].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    expect(messageKey(withSubject('=?windows-1252?Q?Year_6=92s_trip?='))).toBe(messageKey(withSubject(`=?utf-8?Q?Year_6${asUtf8}s_trip?=`)));
  });
});

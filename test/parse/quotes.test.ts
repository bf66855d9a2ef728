import { describe, expect, it } from 'vitest';
import { findQuotedRanges, mergeRanges } from '../../src/scan/parse/quotes.js';

function quoted(text: string): string[] {
  return findQuotedRanges(text).map((r) => text.slice(r.start, r.end));
}

describe('findQuotedRanges', () => {
  it('finds nothing in an ordinary message', () => {
    expect(findQuotedRanges('Hi Sam,\n\nSee you at 3pm.\nFrom the office: thanks\n')).toEqual([]);
  });

  it('marks > lines at any depth, with leading spaces, as one merged range', () => {
    const text = 'My answer\n> you said\n>> they said\n  > indented\n\nback to me\n';
    expect(quoted(text)).toEqual(['> you said\n>> they said\n  > indented']);
  });

  it('handles CRLF line endings', () => {
    const text = 'Reply\r\n> quoted one\r\n> quoted two\r\nmine\r\n';
    expect(quoted(text)).toEqual(['> quoted one\r\n> quoted two']);
  });

  it('marks everything from -----Original Message----- to the end', () => {
    const text = 'Fine by me.\n\n-----Original Message-----\nFrom: Head <head@school.org>\nplease confirm\n';
    expect(quoted(text)).toEqual(['-----Original Message-----\nFrom: Head <head@school.org>\nplease confirm\n']);
  });

  it('marks forwarded-message rules of = signs, and the dash-escaped rule of a clear-signed message', () => {
    for (const rule of ['========== Forwarded message ==========', '- ------- Forwarded Message', '---- Forwarded Message Follows ----']) {
      const text = `FYI below\n\n${rule}\nFrom: Jo\nthe forwarded text\n`;
      expect(quoted(text)).toEqual([`${rule}\nFrom: Jo\nthe forwarded text\n`]);
    }
    expect(findQuotedRanges('My view:\n- forwarded messages are fine\n')).toEqual([]);
  });

  it('reads a chat emoticon that starts with > as the writer\'s own words, not a quote', () => {
    expect(findQuotedRanges('hey\n>:D< hey you, see you at 3\n>:( not fair\n>_< oops\n')).toEqual([]);
    expect(quoted('mine\n>...but you said so\n>:-) is not a quote\n')).toEqual(['>...but you said so']);
  });

  it('marks an Outlook header block, starting at the ____ rule above it', () => {
    const text = [
      'Thanks, will do.',
      '',
      '________________________________',
      'From: Jo Bloggs <jo@school.org>',
      'Sent: 01 March 2024 09:00',
      'To: Sam <sam@school.org>',
      'Subject: Trip',
      '',
      'Original text',
    ].join('\n');
    const ranges = findQuotedRanges(text);
    expect(ranges).toHaveLength(1);
    expect(text.slice(ranges[0]?.start, ranges[0]?.end)).toBe(text.slice(text.indexOf('____')));
  });

  it('marks an Outlook header block without a rule, using Date:/Subject:', () => {
    const text = 'ok\nFrom: Jo <jo@x.org>\nDate: Fri, 1 Mar 2024\nSubject: Trip\n\nold';
    expect(quoted(text)).toEqual(['From: Jo <jo@x.org>\nDate: Fri, 1 Mar 2024\nSubject: Trip\n\nold']);
  });

  it('does not treat a lone From: line as a header block', () => {
    expect(findQuotedRanges('From: the head teacher\nPlease read this.\nTo be clear, no.\n')).toEqual([]);
  });

  it('joins an On ... wrote: line with the quoted lines after it', () => {
    const text = 'Sounds good\n\nOn Mon, 4 Mar 2024 at 10:00, Jo Bloggs <jo@x.org> wrote:\n\n> Are you coming?\n> Let me know\n\nSam\n';
    expect(quoted(text)).toEqual([
      'On Mon, 4 Mar 2024 at 10:00, Jo Bloggs <jo@x.org> wrote:\n\n> Are you coming?\n> Let me know',
    ]);
  });

  it('handles an attribution wrapped onto a second line', () => {
    const text = 'Yes\nOn 4 Mar 2024, at 10:00, Jo Bloggs <jo.bloggs@example.org>\nwrote:\n> hi\nbye';
    expect(quoted(text)).toEqual(['On 4 Mar 2024, at 10:00, Jo Bloggs <jo.bloggs@example.org>\nwrote:\n> hi']);
  });

  it('marks forwarded blocks to the end', () => {
    const gmail = 'FYI\n\n---------- Forwarded message ---------\nFrom: A <a@x.org>\nhello\n';
    expect(quoted(gmail)).toEqual([gmail.slice(gmail.indexOf('-'))]);
    const apple = 'See below\n\nBegin forwarded message:\n\nFrom: A\nhello';
    expect(quoted(apple)).toEqual(['Begin forwarded message:\n\nFrom: A\nhello']);
  });

  it('returns sorted, non-overlapping ranges', () => {
    const text = '> a\nmine\n> b\nmore\n-----Original Message-----\n> c\n';
    const ranges = findQuotedRanges(text);
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['> a', '> b', '-----Original Message-----\n> c\n']);
    for (let i = 1; i < ranges.length; i++) {
      expect(ranges[i]!.start).toBeGreaterThan(ranges[i - 1]!.end);
    }
  });

  it('takes milliseconds on a 5 MB body, single-line or many lines', () => {
    const single = '-'.repeat(2_500_000) + 'x'.repeat(2_500_000);
    const lines = ('> quoted line of text here\nOn a day someone\nFrom: x\nplain text line\n').repeat(80_000);
    const started = performance.now();
    expect(findQuotedRanges(single)).toEqual([]);
    const ranges = findQuotedRanges(lines);
    const elapsed = performance.now() - started;
    expect(ranges).toHaveLength(80_000);
    expect(elapsed).toBeLessThan(1500);
  });
});

describe('mergeRanges', () => {
  it('joins overlapping ranges and ranges separated only by whitespace', () => {
    const text = 'aaaa  \n bbbb x cccc';
    const ranges = [
      { start: 15, end: 19 },
      { start: 0, end: 4 },
      { start: 8, end: 12 },
      { start: 2, end: 3 },
    ];
    expect(mergeRanges(ranges, text)).toEqual([
      { start: 0, end: 12 },
      { start: 15, end: 19 },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseMail, type ParseLimits, type ParsedMail } from '../../src/scan/parse/parse.js';

const LIMITS: ParseLimits = {
  maxTextChars: 2_000_000,
  maxHtmlChars: 8_000_000,
  maxAttachmentBytes: 10 * 1024 * 1024,
  maxAttachments: 50,
  maxDepth: 3,
};

/** Joins lines with CRLF, as mail is sent. */
function crlf(...lines: string[]): string {
  return lines.join('\r\n');
}

/** Bytes as written: `latin1` so that \xe9 in a test string is one byte, not UTF-8. */
function raw(text: string, encoding: BufferEncoding = 'latin1'): Buffer {
  return Buffer.from(text, encoding);
}

function field(mail: ParsedMail, name: string) {
  const found = mail.texts.find((t) => t.field === name);
  if (!found) throw new Error(`no field ${name} in ${mail.texts.map((t) => t.field).join(', ')}`);
  return found;
}

function quotedTexts(mail: ParsedMail, name: string): string[] {
  const f = field(mail, name);
  return f.quoted.map((r) => f.text.slice(r.start, r.end));
}

const HEADERS = [
  'From: "Jo Bloggs" <Jo.Bloggs@School.org>',
  'To: Sam <sam@school.org>',
  'Date: Mon, 4 Mar 2024 10:00:00 +0000',
  'Message-ID: <abc@school.org>',
];

describe('parseMail: headers and addresses', () => {
  it('returns decoded headers, addresses as given, and an ISO date', async () => {
    const mail = await parseMail(
      raw(
        crlf(
          'Received: from a by b',
          'Received: from c by d',
          ...HEADERS,
          'Subject: =?UTF-8?B?Q2Fmw6kgdHJpcA==?=',
          'Reply-To: office@school.org',
          '',
          'Hello',
        ),
      ),
      LIMITS,
    );
    expect(mail.subject).toBe('Café trip');
    expect(mail.from).toEqual({ address: 'Jo.Bloggs@School.org', name: 'Jo Bloggs' });
    expect(mail.to).toEqual([{ address: 'sam@school.org', name: 'Sam' }]);
    expect(mail.replyTo).toEqual([{ address: 'office@school.org' }]);
    expect(mail.cc).toEqual([]);
    expect(mail.date).toBe('2024-03-04T10:00:00.000Z');
    expect(mail.messageId).toBe('<abc@school.org>');
    expect(mail.headers['received']).toEqual(['from a by b', 'from c by d']);
    expect(mail.headers['subject']).toEqual(['Café trip']);
    expect(mail.texts[0]).toEqual({ field: 'subject', text: 'Café trip', quoted: [] });
    expect(mail.problems).toEqual([]);
  });

  it('keeps an unparseable date as written', async () => {
    const mail = await parseMail(raw(crlf('Date: sometime next week', 'Subject: x', '', 'b')), LIMITS);
    expect(mail.date).toBe('sometime next week');
  });

  it('flattens address groups', async () => {
    const mail = await parseMail(
      raw(crlf('From: a@x.org', 'To: Year 9: pupil1@school.org, "P Two" <pupil2@school.org>;, head@school.org', 'Cc: undisclosed-recipients:;', '', 'hi')),
      LIMITS,
    );
    expect(mail.to).toEqual([
      { address: 'pupil1@school.org' },
      { address: 'pupil2@school.org', name: 'P Two' },
      { address: 'head@school.org' },
    ]);
    expect(mail.cc).toEqual([]);
  });

  it('ignores an mbox From_ line', async () => {
    const mail = await parseMail(raw(crlf('From jo@x.org Mon Mar  4 10:00:00 2024', 'From: jo@x.org', 'Subject: s', '', 'b')), LIMITS);
    expect(Object.keys(mail.headers)).toEqual(['from', 'subject']);
    expect(mail.problems).toEqual([]);
  });
});

describe('parseMail: bodies', () => {
  it('uses text/plain from multipart/alternative and skips HTML that says the same', async () => {
    const mail = await parseMail(
      raw(
        crlf(
          ...HEADERS,
          'Subject: Alt',
          'Content-Type: multipart/alternative; boundary="alt"',
          '',
          '--alt',
          'Content-Type: text/plain; charset=utf-8',
          '',
          'Meet at the gate.',
          '--alt',
          'Content-Type: text/html; charset=utf-8',
          '',
          '<p>Meet at the <b>gate</b>.</p>',
          '--alt--',
          '',
        ),
      ),
      LIMITS,
    );
    expect(mail.texts.map((t) => t.field)).toEqual(['subject', 'body']);
    expect(field(mail, 'body').text).toBe('Meet at the gate.\n');
  });

  it('adds an html field when the HTML says substantially more than the plain text', async () => {
    const mail = await parseMail(
      raw(
        crlf(
          ...HEADERS,
          'Content-Type: multipart/alternative; boundary="alt"',
          '',
          '--alt',
          'Content-Type: text/plain',
          '',
          'See HTML.',
          '--alt',
          'Content-Type: text/html',
          '',
          '<p>The real message is only in the HTML part.</p><blockquote>earlier words</blockquote>',
          '--alt--',
        ),
      ),
      LIMITS,
    );
    expect(field(mail, 'body').text).toBe('See HTML.\n');
    expect(field(mail, 'html').text).toBe('The real message is only in the HTML part.\n\nearlier words');
    expect(quotedTexts(mail, 'html')).toEqual(['earlier words']);
  });

  it('decodes quoted-printable and base64 bodies', async () => {
    const qp = await parseMail(
      raw(
        crlf(
          ...HEADERS,
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          'Caf=C3=A9 at n=',
          'oon =3D fine',
        ),
      ),
      LIMITS,
    );
    expect(field(qp, 'body').text).toBe('Café at noon = fine\n');

    const b64 = await parseMail(
      raw(
        crlf(
          ...HEADERS,
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from('Line one\r\nLine two ✓\r\n').toString('base64'),
        ),
      ),
      LIMITS,
    );
    // CRLF inside the decoded body is normalised so offsets match what detectors see.
    expect(field(b64, 'body').text).toBe('Line one\nLine two ✓\n');
  });

  it('decodes an ISO-8859-1 body', async () => {
    const mail = await parseMail(
      raw(crlf(...HEADERS, 'Content-Type: text/plain; charset=ISO-8859-1', '', 'Gar\xe7on na\xefve \xa35')),
      LIMITS,
    );
    expect(field(mail, 'body').text).toBe('Garçon naïve £5\n');
    expect(mail.problems).toEqual([]);
  });

  it('decodes the curly quotes, dashes and euro sign of windows-1252 in bodies, subjects and attachments', async () => {
    // Outlook's bytes, labelled both ways mail clients label them: the standard reads both as windows-1252.
    for (const charset of ['windows-1252', 'iso-8859-1']) {
      const message = multipartMixed(
        [`Content-Type: text/plain; charset=${charset}`, '', '\x93Don\x92t tell\x94 \x96 \x805'],
        [`Content-Type: text/plain; charset=${charset}; name="note.txt"`, 'Content-Disposition: attachment; filename="note.txt"', '', 'it\x92s ours'],
      )
        .toString('latin1')
        .replace('Subject: with attachments', `Subject: =?${charset}?Q?Year_7=92s_trip?=`);
      const mail = await parseMail(raw(message), LIMITS);
      expect(field(mail, 'body').text).toBe('\u201cDon\u2019t tell\u201d \u2013 \u20ac5\n');
      expect(mail.subject).toBe('Year 7\u2019s trip');
      expect(field(mail, 'attachment:0').text).toBe('it\u2019s ours\n');
    }
  });

  it('records an unknown body charset (postal-mime falls back to windows-1252)', async () => {
    const mail = await parseMail(
      raw(crlf(...HEADERS, 'Content-Type: text/plain; charset=x-klingon', '', 'caf\xe9')),
      LIMITS,
    );
    expect(field(mail, 'body').text).toBe('café\n');
    expect(mail.problems).toEqual(['unknown charset "x-klingon" in a text/plain part; decoded as windows-1252']);
  });

  it('records bytes that are not valid in the declared charset', async () => {
    const mail = await parseMail(raw(crlf(...HEADERS, 'Content-Type: text/plain; charset=utf-8', '', 'caf\xe9')), LIMITS);
    expect(mail.problems).toEqual(['body: contains bytes that did not decode in the declared charset']);
  });

  it('converts an HTML-only body, dropping script/style and keeping blockquotes as quoted', async () => {
    const mail = await parseMail(
      raw(
        crlf(
          ...HEADERS,
          'Content-Type: text/html; charset=utf-8',
          '',
          '<html><head><style>.x{color:red}</style><script>track()</script></head>',
          '<body><p>Don&#39;t tell anyone &amp; delete this</p>',
          '<div>On Mon, Jo wrote:</div><blockquote type="cite">where &lt;are&gt; you</blockquote></body></html>',
        ),
        'utf8',
      ),
      LIMITS,
    );
    const body = field(mail, 'body');
    expect(body.text).toBe("Don't tell anyone & delete this\n\nOn Mon, Jo wrote:\n\nwhere <are> you");
    expect(quotedTexts(mail, 'body')).toEqual(['On Mon, Jo wrote:\n\nwhere <are> you']);
    expect(mail.texts.map((t) => t.field)).toEqual(['subject', 'body']);
  });

  it('marks quoted history in a plain body', async () => {
    const mail = await parseMail(
      raw(crlf(...HEADERS, '', 'New words', '', 'On Mon, 4 Mar 2024, Jo wrote:', '> old words', '> more')),
      LIMITS,
    );
    expect(quotedTexts(mail, 'body')).toEqual(['On Mon, 4 Mar 2024, Jo wrote:\n> old words\n> more']);
  });

  it('still yields the text of a 100-level nested multipart', async () => {
    const depth = 100;
    const lines: string[] = [...HEADERS, `Content-Type: multipart/mixed; boundary="b0"`, ''];
    for (let i = 1; i < depth; i++) lines.push(`--b${i - 1}`, `Content-Type: multipart/mixed; boundary="b${i}"`, '');
    lines.push(`--b${depth - 1}`, 'Content-Type: text/plain', '', 'deep secret');
    for (let i = depth - 1; i >= 0; i--) lines.push(`--b${i}--`);
    const mail = await parseMail(raw(crlf(...lines)), LIMITS);
    expect(field(mail, 'body').text).toContain('deep secret');
    expect(mail.problems).toEqual([]);
  });

  it('completes a 5 MB single-line body and cuts it to the limit', async () => {
    const limits = { ...LIMITS, maxTextChars: 1_000_000 };
    const started = performance.now();
    const mail = await parseMail(raw(crlf(...HEADERS, '', 'ab '.repeat(1_700_000))), limits);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(field(mail, 'body').text).toHaveLength(1_000_000);
    expect(mail.problems).toEqual(['body: text cut to 1,000,000 characters for scanning']);
  }, 20_000);

  it('keeps the text of truncated MIME and reports the missing closing boundary', async () => {
    const mail = await parseMail(
      raw(
        crlf(
          ...HEADERS,
          'Content-Type: multipart/mixed; boundary="outer"',
          '',
          '--outer',
          'Content-Type: text/plain',
          '',
          'first part survives',
          '--outer',
          'Content-Type: text/plain',
          '',
          'second part cut off mid-sen',
        ),
      ),
      LIMITS,
    );
    expect(field(mail, 'body').text).toContain('first part survives');
    expect(field(mail, 'body').text).toContain('second part cut off mid-sen');
    expect(mail.problems).toEqual(['truncated MIME: multipart/mixed (boundary "outer") has no closing boundary']);
  });

  it('re-reads a multipart whose declared boundary never appears', async () => {
    const mail = await parseMail(
      raw(
        crlf(
          ...HEADERS,
          'Content-Type: multipart/mixed; boundary="declared"',
          '',
          '--actual',
          'Content-Type: text/plain',
          '',
          'hidden from a naive parser',
          '--actual--',
        ),
      ),
      LIMITS,
    );
    expect(field(mail, 'body').text).toBe('hidden from a naive parser\n');
    expect(mail.headers['content-type']).toEqual(['multipart/mixed; boundary="declared"']);
    expect(mail.problems).toEqual([
      'multipart/mixed boundary "declared" never appears; re-read with boundary "actual" found in the body',
    ]);
  });

  it('scans the raw body of a multipart with no boundary lines at all', async () => {
    const mail = await parseMail(raw(crlf(...HEADERS, 'Content-Type: multipart/mixed', '', 'just text')), LIMITS);
    expect(field(mail, 'body').text).toBe('just text');
    expect(mail.problems).toEqual(['multipart/mixed has no readable parts; its raw body is scanned as text']);
  });

  it('gives an empty-ish result for an empty buffer', async () => {
    const mail = await parseMail(Buffer.alloc(0), LIMITS);
    expect(mail).toEqual({
      subject: '',
      to: [],
      cc: [],
      bcc: [],
      replyTo: [],
      headers: {},
      texts: [
        { field: 'subject', text: '', quoted: [] },
        { field: 'body', text: '', quoted: [] },
      ],
      attachments: [],
      problems: ['no headers found'],
      rawBytes: 0,
    });
  });

  it('reports a non-mail buffer and scans it as text', async () => {
    const mail = await parseMail(raw('just some notes\nnot an email\n\nat all'), LIMITS);
    expect(mail.problems).toEqual(['no headers found']);
    expect(mail.headers).toEqual({});
    expect(field(mail, 'body').text).toBe('just some notes\nnot an email\n\nat all');
  });

  it('does not throw on a large header-less file, and drops binary junk', async () => {
    const notes = 'line of notes '.repeat(250_000);
    const big = await parseMail(raw(notes), LIMITS);
    expect(big.problems).toEqual(['no headers found', 'body: text cut to 2,000,000 characters for scanning']);
    expect(field(big, 'body').text).toBe(notes.slice(0, 2_000_000));

    const binary = await parseMail(Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0x01, 0x0a, 0x0a, 0x41]), LIMITS);
    expect(binary.problems).toEqual(['no headers found']);
    expect(field(binary, 'body').text).toBe('');
  });

  it('rejects with a clear error when postal-mime cannot parse', async () => {
    const lines: string[] = [...HEADERS, 'Content-Type: multipart/mixed; boundary="b0"', ''];
    for (let i = 1; i < 300; i++) lines.push(`--b${i - 1}`, `Content-Type: multipart/mixed; boundary="b${i}"`, '');
    await expect(parseMail(raw(crlf(...lines)), LIMITS)).rejects.toThrow(
      /^postal-mime could not parse the message: Maximum MIME nesting depth/,
    );
  });
});

function multipartMixed(...parts: string[][]): Buffer {
  const lines = [...HEADERS, 'Subject: with attachments', 'Content-Type: multipart/mixed; boundary="mix"', ''];
  for (const part of parts) lines.push('--mix', ...part);
  lines.push('--mix--', '');
  return raw(crlf(...lines));
}

const BODY_PART = ['Content-Type: text/plain', '', 'See attached.'];

describe('parseMail: attachments', () => {
  it('extracts CSV text in its declared charset and lists a damaged PDF as skipped', async () => {
    const mail = await parseMail(
      multipartMixed(
        BODY_PART,
        [
          'Content-Type: text/csv; charset=iso-8859-1; name="marks.csv"',
          'Content-Disposition: attachment; filename="marks.csv"',
          '',
          'name,mark',
          'Zo\xeb,7',
        ],
        [
          'Content-Type: application/pdf; name="letter.pdf"',
          'Content-Disposition: attachment; filename="letter.pdf"',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from('%PDF-1.4 fake').toString('base64'),
        ],
      ),
      LIMITS,
    );
    expect(field(mail, 'body').text).toBe('See attached.\n');
    expect(mail.attachments).toEqual([
      { filename: 'marks.csv', contentType: 'text/csv', size: 16, textField: 'attachment:0' },
      { filename: 'letter.pdf', contentType: 'application/pdf', size: 13, skipped: 'unreadable: damaged PDF (no valid structure)' },
    ]);
    expect(field(mail, 'attachment:0')).toEqual({
      field: 'attachment:0',
      label: 'marks.csv',
      text: 'name,mark\nZoë,7\n',
      quoted: [],
    });
    expect(mail.problems).toEqual([]);
  });

  it('falls back to UTF-8 for an attachment with an unknown charset and says so', async () => {
    const mail = await parseMail(
      multipartMixed(BODY_PART, [
        'Content-Type: text/plain; charset=x-made-up',
        'Content-Disposition: attachment; filename="n.txt"',
        '',
        'note ✓',
      ].map((l) => Buffer.from(l, 'utf8').toString('latin1'))),
      LIMITS,
    );
    expect(field(mail, 'attachment:0').text).toBe('note ✓\n');
    expect(mail.problems).toEqual(['attachment:0: unknown charset "x-made-up"; decoded as UTF-8']);
  });

  it('converts HTML attachments and finds text attachments by extension', async () => {
    const mail = await parseMail(
      multipartMixed(
        BODY_PART,
        ['Content-Type: text/html', 'Content-Disposition: attachment; filename="page.html"', '', '<h1>Hi</h1><script>x</script><p>there</p>'],
        ['Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename="list.CSV"', '', 'a,b'],
      ),
      LIMITS,
    );
    expect(field(mail, 'attachment:0').text).toBe('Hi\n\nthere');
    expect(field(mail, 'attachment:1').text).toBe('a,b\n');
  });

  it('extracts calendar invitations, which postal-mime hands over already re-encoded as UTF-8', async () => {
    const mail = await parseMail(
      multipartMixed(BODY_PART, [
        'Content-Type: text/calendar; charset=iso-8859-1; method=REQUEST',
        '',
        'BEGIN:VEVENT',
        'SUMMARY:Caf\xe9 meet',
        'END:VEVENT',
      ]),
      LIMITS,
    );
    expect(field(mail, 'attachment:0').text).toBe('BEGIN:VEVENT\nSUMMARY:Café meet\nEND:VEVENT\n');
  });

  it('opens an attached message and labels it with its subject', async () => {
    const inner = crlf(
      'From: Jo <jo@x.org>',
      'Subject: Weekend plans',
      'Content-Type: multipart/mixed; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'Meet me, tell no one',
      '> earlier',
      '--inner',
      'Content-Type: text/csv; name="x.csv"',
      'Content-Disposition: attachment; filename="x.csv"',
      '',
      'c,d',
      '--inner--',
    );
    const mail = await parseMail(
      multipartMixed(BODY_PART, [
        'Content-Type: message/rfc822',
        'Content-Disposition: attachment; filename="fwd.eml"',
        '',
        inner,
      ]),
      LIMITS,
    );
    const attached = field(mail, 'attachment:0');
    expect(attached.label).toBe('Weekend plans');
    expect(attached.text).toBe('Weekend plans\n\nMeet me, tell no one\n> earlier\n\nc,d\n');
    expect(attached.quoted.map((r) => attached.text.slice(r.start, r.end))).toEqual(['> earlier']);
    expect(mail.attachments).toEqual([
      { filename: 'fwd.eml', contentType: 'message/rfc822', size: expect.any(Number), textField: 'attachment:0' },
    ]);
    // The forwarded message stays out of the body.
    expect(field(mail, 'body').text).toBe('See attached.\n');
  });

  it('stops opening attached messages past maxDepth and records it', async () => {
    let message = crlf('Subject: level 3', '', 'innermost words');
    for (let level = 2; level >= 1; level--) {
      message = crlf(
        `Subject: level ${level}`,
        'Content-Type: multipart/mixed; boundary="l' + level + '"',
        '',
        '--l' + level,
        'Content-Type: message/rfc822',
        '',
        message,
        '--l' + level + '--',
      );
    }
    const wrapped = multipartMixed(BODY_PART, ['Content-Type: message/rfc822', '', message]);

    const deepEnough = await parseMail(wrapped, { ...LIMITS, maxDepth: 3 });
    expect(field(deepEnough, 'attachment:0').text).toContain('innermost words');
    expect(deepEnough.problems).toEqual([]);

    const shallow = await parseMail(wrapped, { ...LIMITS, maxDepth: 2 });
    expect(field(shallow, 'attachment:0').text).not.toContain('innermost words');
    expect(shallow.problems).toEqual([
      'attachment:0: in attached message: attachment:0: in attached message: ' +
        'attachment:0: attached message nested more than 2 levels deep; not opened',
    ]);
  });

  it('reports attachments of an attached message that could not be scanned', async () => {
    const inner = crlf(
      'Subject: fwd',
      'Content-Type: multipart/mixed; boundary="in"',
      '',
      '--in',
      'Content-Type: text/plain',
      '',
      'look at this',
      '--in',
      'Content-Type: image/png; name="pic.png"',
      '',
      'xx',
      '--in--',
    );
    const mail = await parseMail(multipartMixed(BODY_PART, ['Content-Type: message/rfc822', '', inner]), LIMITS);
    expect(mail.problems).toEqual([
      'attachment:0: in attached message: pic.png not scanned (no text extractor for image/png)',
    ]);
  });

  it('lists a 20 MB attachment as skipped without holding its bytes', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024, 0x41).toString('base64').replace(/.{76}/g, '$&\r\n');
    const mail = await parseMail(
      multipartMixed(BODY_PART, [
        'Content-Type: text/plain; name="huge.txt"',
        'Content-Disposition: attachment; filename="huge.txt"',
        'Content-Transfer-Encoding: base64',
        '',
        big,
      ]),
      LIMITS,
    );
    expect(mail.attachments).toEqual([
      {
        filename: 'huge.txt',
        contentType: 'text/plain',
        size: 20 * 1024 * 1024,
        skipped: 'larger than the 10 MiB text-extraction limit',
      },
    ]);
    expect(mail.texts.map((t) => t.field)).toEqual(['subject', 'body']);
    expect(binaryValuesIn(mail)).toEqual([]);
    expect(JSON.stringify(mail).length).toBeLessThan(5000);
  }, 60_000);

  it('lists attachments beyond maxAttachments without extracting them', async () => {
    const csv = (n: number) => [`Content-Type: text/csv; name="f${n}.csv"`, `Content-Disposition: attachment; filename="f${n}.csv"`, '', `row${n}`];
    const mail = await parseMail(multipartMixed(BODY_PART, csv(0), csv(1), csv(2)), { ...LIMITS, maxAttachments: 2 });
    expect(mail.attachments.map((a) => a.textField ?? a.skipped)).toEqual([
      'attachment:0',
      'attachment:1',
      'more than 2 attachments; not extracted',
    ]);
    expect(mail.texts.map((t) => t.field)).toEqual(['subject', 'body', 'attachment:0', 'attachment:1']);
  });
});

/** Paths of any binary buffers reachable from `value`. */
function binaryValuesIn(value: unknown, path = 'mail'): string[] {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return [path];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => binaryValuesIn(child, `${path}.${key}`));
}

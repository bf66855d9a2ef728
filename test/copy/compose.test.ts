import { randomBytes } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { kestrelCopyHeaderValue, verifyKestrelCopyHeader } from '../../src/connect/copy-guard.js';
import { composeCopy, composeDigest, copySubject } from '../../src/copy/compose.js';
import type { CopyRequest, DigestEntry, DigestRequest } from '../../src/copy/types.js';
import type { StoredFlag } from '../../src/flags/store.js';
import type { Finding } from '../../src/scan/types.js';

const SECRET = randomBytes(32);
const FLAG_URL = 'https://kestrel.riverbank-trust.sch.uk/flags/123';
const PUPIL = '22lmorgan@pupils.riverbank-trust.sch.uk';
const FRIEND = '22sokafor@pupils.riverbank-trust.sch.uk';
const HOSTILE_EXCERPT = 'see <script>alert(1)</script> and <img src=x onerror="window.pwned=1"> https://evil.example/t.png k1ll myself now';

const INTENT: Finding = {
  rule: 'self_harm.intent',
  description: 'The writer says they will, or want to, end their life',
  category: 'safety.self_harm',
  severity: 'urgent',
  score: 1,
  policy: '003_c7be022a1d032c68.txt 7.2.1',
  evidence: [{ field: 'body', start: 96, end: 107, match: 'k1ll myself', excerpt: '…off without me and honestly i just want to k1ll myself. dont tell anyone pls…' }],
};

function storedFlag(overrides: Partial<StoredFlag['report']> = {}, id = 123): StoredFlag {
  return {
    id,
    messageKey: 'sha256:abc',
    createdAt: new Date('2025-07-09T22:42:10Z'),
    report: {
      messageId: '<lm-0709@pupils.riverbank-trust.sch.uk>',
      date: '2025-07-09T22:41:00.000Z',
      direction: 'internal',
      flagged: true,
      categories: ['safety.self_harm'],
      severity: 'urgent',
      urgent: true,
      findings: [INTENT],
      routes: ['monitor', 'urgent'],
      from: { address: PUPIL, role: 'pupil', academy: 'Riverbank Academy' },
      recipients: [{ address: FRIEND, role: 'pupil', academy: 'Riverbank Academy' }],
      problems: [],
      durationMs: 4,
      ...overrides,
    },
    occurrences: [
      { account: 'pupil-lmorgan', folder: 'Sent', uidValidity: '7', uid: 41, seenAt: new Date('2025-07-09T22:41:30Z') },
      { account: 'pupil-sokafor', folder: 'INBOX', uidValidity: '9', uid: 12, seenAt: new Date('2025-07-09T22:41:40Z') },
    ],
  };
}

const ORIGINAL = Buffer.from(
  `From: Lily Morgan <${PUPIL}>\r\nTo: Sam Okafor <${FRIEND}>\r\nSubject: Lily's secret plan\r\nMessage-ID: <lm-0709@pupils.riverbank-trust.sch.uk>\r\n\r\nhonestly i just want to k1ll myself.\r\n`,
);

function request(overrides: Partial<CopyRequest> = {}): CopyRequest {
  const messageId = '<copy-123-monitor@kestrel.riverbank-trust.sch.uk>';
  const flag = overrides.flag ?? storedFlag();
  return {
    flag,
    form: 'full',
    routes: ['monitor'],
    original: ORIGINAL,
    from: 'Kestrel <kestrel@riverbank-trust.sch.uk>',
    to: 'monitor@riverbank-trust.sch.uk',
    flagUrl: FLAG_URL,
    trustName: 'Riverbank Trust',
    timeZone: 'Europe/London',
    date: new Date('2025-07-09T22:43:00Z'),
    messageId,
    copyHeader: kestrelCopyHeaderValue(flag.id, messageId, SECRET),
    ...overrides,
  };
}

/** A MIME entity as bytes (latin1 strings map bytes 1:1), split by hand so nothing is normalised on the way. */
interface Entity {
  headers: Map<string, string>;
  body: string;
  parts: Entity[];
}

function parseEntity(raw: string): Entity {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, end).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(end + 4);
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /^multipart\/.*boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!boundary) return { headers, body, parts: [] };
  // Each delimiter is CRLF--boundary; the CRLF belongs to the delimiter, not to the part before it.
  const segments = `\r\n${body}`.split(`\r\n--${boundary}`).slice(1);
  const parts = segments.filter((s) => !s.startsWith('--')).map((s) => parseEntity(s.slice(s.indexOf('\r\n') + 2)));
  return { headers, body, parts };
}

function leaves(entity: Entity): Entity[] {
  return entity.parts.length ? entity.parts.flatMap(leaves) : [entity];
}

function decoded(entity: Entity): Buffer {
  const cte = (entity.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'base64') return Buffer.from(entity.body.replace(/\s+/g, ''), 'base64');
  if (cte === 'quoted-printable') {
    const bytes = entity.body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1');
  }
  return Buffer.from(entity.body, 'latin1');
}

function attachments(raw: Buffer): Entity[] {
  return leaves(parseEntity(raw.toString('latin1'))).filter((e) => /^message\/rfc822/i.test(e.headers.get('content-type') ?? ''));
}

async function parsed(raw: Buffer): Promise<{ mail: ParsedMail; text: string; html: string }> {
  const mail = await simpleParser(raw);
  return { mail, text: mail.text ?? '', html: typeof mail.html === 'string' ? mail.html : '' };
}

/** Both parts with line wrapping undone, for phrases that may wrap in the text part. */
async function flatParts(raw: Buffer): Promise<string[]> {
  const { text, html } = await parsed(raw);
  return [text, html].map((part) => part.replace(/\s+/g, ' '));
}

function topHeaders(raw: Buffer): string {
  return raw.toString('latin1').slice(0, raw.indexOf('\r\n\r\n'));
}

describe('the copy subject', () => {
  it('names no person and quotes nothing: flag number, categories and severity only', async () => {
    const raw = await composeCopy(request());
    const { mail } = await parsed(raw);
    expect(mail.subject).toBe('[Kestrel URGENT] Flag 123: safety.self_harm, urgent');
    for (const leak of ['@', 'Lily', 'Morgan', 'Okafor', 'secret', 'plan', 'k1ll']) expect(mail.subject).not.toContain(leak);
  });

  it('is distinct for urgent, escalated and ordinary flags', () => {
    const ordinary = storedFlag({ categories: ['chain_mail'], severity: 'minor', urgent: false }, 7);
    const subjects = [copySubject(storedFlag()), copySubject(storedFlag(), { step: 2, of: 3, afterMinutes: 30 }), copySubject(ordinary)];
    expect(subjects).toEqual([
      '[Kestrel URGENT] Flag 123: safety.self_harm, urgent',
      '[Kestrel URGENT, escalated] Flag 123: safety.self_harm, urgent',
      '[Kestrel] Flag 7: chain_mail, minor',
    ]);
  });

  it('keeps only identifier characters of a category', () => {
    const subject = copySubject(storedFlag({ categories: ['safety.hate\r\nBcc: x@evil.example <b>'] }));
    expect(subject).toBe('[Kestrel URGENT] Flag 123: safety.hateBcc:xevil.exampleb, urgent');
  });
});

describe('the copy headers', () => {
  it('mark the copy as Kestrel’s, signed so connectors skip it, and carry no content or party address', async () => {
    const raw = await composeCopy(request({ flag: storedFlag({ findings: [INTENT, { ...INTENT, rule: 'self_harm.ideation', severity: 'severe' }] }) }));
    const { mail } = await parsed(raw);
    const header = (name: string): unknown => mail.headers.get(name);
    expect(header('x-kestrel-copy')).toBe(request().copyHeader);
    expect(verifyKestrelCopyHeader(String(header('x-kestrel-copy')), mail.messageId, SECRET)).toBe(true);
    expect(header('x-kestrel-flag')).toBe('123');
    expect(header('x-kestrel-rules')).toBe('self_harm.intent, self_harm.ideation');
    expect(header('x-kestrel-categories')).toBe('safety.self_harm');
    expect(header('x-kestrel-severity')).toBe('urgent');
    expect(header('auto-submitted')).toBe('auto-generated');
    expect(header('x-auto-response-suppress')).toBe('All');
    expect(mail.messageId).toBe('<copy-123-monitor@kestrel.riverbank-trust.sch.uk>');
    expect(mail.date?.toISOString()).toBe('2025-07-09T22:43:00.000Z');
    const head = topHeaders(raw);
    for (const leak of [PUPIL, FRIEND, 'pupils.riverbank', 'k1ll', 'secret plan', 'Lily']) expect(head).not.toContain(leak);
  });
});

describe('the copy body', () => {
  it('says what was flagged, who sent it to whom and when, where it was seen, and links to the flag', async () => {
    const flag = storedFlag({ problems: ['multipart truncated at 25 MB'], attachmentsNotScanned: [{ contentType: 'application/pdf', size: 2_400_000, reason: 'encrypted' }] });
    const raw = await composeCopy(request({ flag }));
    for (const part of await flatParts(raw)) {
      expect(part).toContain('safety.self_harm');
      expect(part).toContain('The writer says they will, or want to, end their life');
      expect(part).toContain('003_c7be022a1d032c68.txt 7.2.1');
      expect(part).toContain(`${PUPIL} (pupil, Riverbank Academy)`);
      expect(part).toContain(`${FRIEND} (pupil, Riverbank Academy)`);
      // 22:41 UTC in July is 23:41 British Summer Time.
      expect(part).toContain('Wednesday, 9 July 2025 at 23:41 BST');
      expect(part).toContain('Internal: sent and received within the trust');
      expect(part).toContain('pupil-lmorgan, folder Sent');
      expect(part).toContain('pupil-sokafor, folder INBOX');
      expect(part).toContain('Seen in 2 mailboxes');
      expect(part).toContain('multipart truncated at 25 MB');
      expect(part).toContain('application/pdf, 2.3 MB): encrypted');
      expect(part).toContain(FLAG_URL);
      expect(part).toContain('attached unchanged as flag-123.eml');
    }
    const { text, html } = await parsed(raw);
    expect(text).toMatch(/Severity:\s+urgent/);
    expect(html).toMatch(/Severity<\/th><td[^>]*><strong>urgent<\/strong>/);
  });

  it('marks the matched words in both parts, labels quoted history, keeps masked data masked', async () => {
    const flag = storedFlag({
      categories: ['safety.self_harm', 'personal_data.phone'],
      findings: [
        { ...INTENT, evidence: [...INTENT.evidence, { field: 'body', start: 300, end: 311, match: 'hurt myself', excerpt: '…> > i want to hurt myself too…', quoted: true }] },
        {
          rule: 'personal_data.mobile',
          description: 'A mobile phone number',
          category: 'personal_data.phone',
          severity: 'moderate',
          score: 0.9,
          policy: '003_c7be022a1d032c68.txt 5',
          evidence: [{ field: 'body', start: 10, end: 23, match: '07700 9*****', excerpt: 'text me on 07700 9***** tonight', masked: true }],
        },
      ],
    });
    const { text, html } = await parsed(await composeCopy(request({ flag })));
    expect(text).toContain('[[k1ll myself]]');
    expect(text).toContain('[[hurt myself]]');
    expect(text).toContain('[[07700 9*****]]');
    expect(html).toMatch(/<mark[^>]*>k1ll myself<\/mark>/);
    expect(html).toMatch(/<mark[^>]*>07700 9\*\*\*\*\*<\/mark>/);
    for (const part of await flatParts(await composeCopy(request({ flag })))) {
      expect(part).toMatch(/quoted history: earlier mail quoted or forwarded in this message, not the sender(’|&#39;)s own words/);
      expect(part).toContain('personal data masked');
    }
  });

  it('marks the occurrence of a repeated match that the evidence points at', async () => {
    const evidence = { field: 'body', start: 0, end: 4, match: 'hate', excerpt: 'hate it, i hate…' };
    const { text } = await parsed(await composeCopy(request({ flag: storedFlag({ findings: [{ ...INTENT, evidence: [evidence] }] }) })));
    expect(text).toContain('“[[hate]] it, i hate…”');
  });

  it('escapes every value from the flag in the HTML and loads nothing', async () => {
    const hostile = '"><img src=x onerror=alert(2)>';
    const flag = storedFlag({
      from: { address: `x${hostile}@evil.example`, role: 'external' },
      direction: 'inbound',
      findings: [{ ...INTENT, description: 'Threat <script>document.title="pwned"</script>', evidence: [{ field: 'body', start: 70, end: 81, match: 'k1ll myself', excerpt: HOSTILE_EXCERPT }] }],
      problems: ['<script>alert(3)</script>'],
    });
    const occurrences = [{ account: 'journal', folder: '<img src=x onerror=alert(4)>', uidValidity: '1', uid: 1, seenAt: new Date('2025-07-09T22:41:30Z') }];
    const { text, html } = await parsed(await composeCopy(request({ flag: { ...flag, occurrences } })));
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;');
    expect(html).toContain('Threat &lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;');
    expect(html).toContain('x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;@evil.example (outside the trust)');
    expect(html).toContain('&lt;img src=x onerror=alert(4)&gt;');
    expect(html).not.toMatch(/src\s*=\s*["']?https?:/i);
    expect(html).not.toMatch(/url\s*\(/i);
    expect(html).not.toMatch(/<link|@import|<style|@font-face/i);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs.length).toBeGreaterThan(0);
    expect(new Set(hrefs)).toEqual(new Set([FLAG_URL]));
    // The plain part needs no escaping: the same words appear as written.
    const flatText = text.replace(/\s+/g, ' ');
    expect(flatText).toContain('<img src=x onerror="window.pwned=1">');
    expect(flatText).toContain('Inbound: sent to the trust from outside it');
  });

  it('refuses a flag link that is not http(s)', async () => {
    await expect(composeCopy(request({ flagUrl: 'javascript:alert(1)' }))).rejects.toThrow(/flag 123: flagUrl must be an http\(s\) URL/);
  });

  it('says at the top of an escalated copy that nobody acknowledged it, and which step this is', async () => {
    for (const part of await flatParts(await composeCopy(request({ escalation: { step: 2, of: 3, afterMinutes: 30 } })))) {
      const notice = part.indexOf('nobody acknowledged this urgent flag within 30 minutes');
      expect(notice).toBeGreaterThan(-1);
      expect(notice).toBeLessThan(part.indexOf('What was found'));
      expect(part).toContain('step 2 of 3');
    }
  });

  it('wraps the text part for a plain client', async () => {
    const quoted = { field: 'body', start: 300, end: 311, match: 'hurt myself', excerpt: '…> > i want to hurt myself too…', quoted: true, masked: true };
    const flag = storedFlag({ findings: [{ ...INTENT, evidence: [...INTENT.evidence, quoted] }] });
    const { text } = await parsed(await composeCopy(request({ flag, escalation: { step: 1, of: 2, afterMinutes: 30 } })));
    const long = text.split('\n').filter((line) => line.length > 76 && !line.includes('https://'));
    expect(long).toEqual([]);
  });
});

describe('the original', () => {
  it('is attached to a full copy as flag-<id>.eml, and left out of a minimised one with the reason', async () => {
    const full = await composeCopy(request());
    const [attached] = attachments(full);
    expect(attached?.headers.get('content-type')).toBe('message/rfc822; name=flag-123.eml');
    expect(attached?.headers.get('content-disposition')).toBe('attachment; filename=flag-123.eml');

    const minimised = await composeCopy(request({ form: 'minimised', original: undefined }));
    expect(attachments(minimised)).toEqual([]);
    expect((await simpleParser(minimised)).attachments).toEqual([]);
    for (const part of await flatParts(minimised)) {
      expect(part).toContain('The original message is not attached');
      expect(part).toContain('proportionality');
      expect(part).toContain('open flag 123 in Kestrel');
    }
    expect(minimised.toString('latin1')).not.toContain('secret plan');
  });

  it('refuses a full copy without the original', async () => {
    await expect(composeCopy(request({ original: undefined }))).rejects.toThrow(/flag 123: a full copy needs the original message/);
  });

  it('arrives byte for byte as 7bit when it is ASCII with CRLF lines', async () => {
    const raw = await composeCopy(request());
    const [attached] = attachments(raw);
    expect(attached?.headers.get('content-transfer-encoding')).toBe('7bit');
    expect(decoded(attached!).equals(ORIGINAL)).toBe(true);
  });

  it('arrives byte for byte as base64 with bare LF, 8-bit bytes, a 2000-octet line and no final newline', async () => {
    const original = Buffer.concat([
      Buffer.from('From: a@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\nContent-Type: text/plain; charset=utf-8\n\n'),
      Buffer.from('café ☕ naïve\n', 'utf8'),
      Buffer.from('latin-1: caf\xe9 na\xefve\r\n', 'latin1'),
      Buffer.from(`${'x'.repeat(2000)}\n`),
      Buffer.from([0x00, 0x0d, 0x0d, 0x0a, 0xff]),
      Buffer.from('\n--not-a-boundary\nlast line'),
    ]);
    const raw = await composeCopy(request({ original }));
    const [attached] = attachments(raw);
    expect(attached?.headers.get('content-transfer-encoding')).toBe('base64');
    expect(decoded(attached!).equals(original)).toBe(true);
    const { mail } = await parsed(raw);
    expect(mail.attachments[0]?.content.equals(original)).toBe(true);
  });
});

describe('the daily digest', () => {
  const entry = (flagId: number, createdAt: string, severity: DigestEntry['severity'], categories: string[], academies: string[]): DigestEntry => ({
    flagId,
    createdAt: new Date(createdAt),
    severity,
    categories,
    academies,
    url: `https://kestrel.riverbank-trust.sch.uk/flags/${flagId}`,
  });

  function digest(entries: DigestEntry[]): DigestRequest {
    const messageId = '<digest-ict-2025-07-09@kestrel.riverbank-trust.sch.uk>';
    return {
      route: 'ict',
      periodStart: new Date('2025-07-09T06:00:00Z'),
      periodEnd: new Date('2025-07-10T06:00:00Z'),
      entries,
      from: 'Kestrel <kestrel@riverbank-trust.sch.uk>',
      to: 'ict@riverbank-trust.sch.uk',
      listUrl: 'https://kestrel.riverbank-trust.sch.uk/flags',
      trustName: 'Riverbank Trust',
      timeZone: 'Europe/London',
      date: new Date('2025-07-10T06:00:05Z'),
      messageId,
      copyHeader: kestrelCopyHeaderValue('digest', messageId, SECRET),
    };
  }

  it('counts flags by severity, category and academy and lists each with a link', async () => {
    const entries = [
      entry(12, '2025-07-09T23:30:00Z', 'minor', ['chain_mail'], ['Riverbank Academy']),
      entry(10, '2025-07-09T08:05:00Z', 'moderate', ['acceptable_use.gaming', 'chain_mail'], ['Riverbank Academy', 'Hillside Primary']),
      entry(11, '2025-07-09T12:00:00Z', 'minor', ['acceptable_use.gaming'], []),
    ];
    const raw = await composeDigest(digest(entries));
    const { mail, text, html } = await parsed(raw);
    expect(mail.subject).toBe('[Kestrel] Daily digest for ict: 3 flags, 9-10 July 2025');
    expect(mail.headers.get('x-kestrel-copy')).toBe(digest([]).copyHeader);
    expect(mail.headers.get('x-kestrel-digest')).toBe('ict');
    expect(mail.headers.get('x-kestrel-categories')).toBe('acceptable_use.gaming, chain_mail');
    expect(mail.headers.get('x-kestrel-severity')).toBe('moderate');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.headers.has('x-kestrel-rules')).toBe(false);
    expect(text).toMatch(/moderate:\s+1 flag\r?\n/);
    expect(text).toMatch(/minor:\s+2 flags/);
    expect(text).toMatch(/chain_mail:\s+2 flags/);
    expect(text).toMatch(/acceptable_use\.gaming:\s+2 flags/);
    expect(text).toMatch(/Riverbank Academy:\s+2 flags/);
    expect(text).toMatch(/Hillside Primary:\s+1 flag\r?\n/);
    expect(text).toMatch(/No academy recorded:\s+1 flag\r?\n/);
    // One line per flag, oldest first, in UK time: 23:30 UTC on 9 July is 00:30 BST on the 10th.
    const lines = text.replace(/\r?\n {2}/g, ' ').split(/\r?\n/).filter((l) => l.startsWith('- '));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('Wed 9 Jul, 09:05 · moderate · acceptable_use.gaming, chain_mail · Riverbank Academy, Hillside Primary · Flag 10');
    expect(lines[2]).toContain('Thu 10 Jul, 00:30 · minor · chain_mail');
    for (const id of [10, 11, 12]) expect(html).toContain(`href="https://kestrel.riverbank-trust.sch.uk/flags/${id}"`);
  });

  it('still goes out when there were no flags, and says so', async () => {
    const { mail, text, html } = await parsed(await composeDigest({ ...digest([]), periodStart: new Date('2025-03-08T00:00:00Z'), periodEnd: new Date('2025-03-09T00:00:00Z') }));
    expect(mail.subject).toBe('[Kestrel] Daily digest for ict: 0 flags, 8 March 2025');
    expect(mail.headers.has('x-kestrel-severity')).toBe(false);
    for (const part of [text, html]) expect(part).toContain('No flags were raised for ict in this period.');
  });
});

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createScanner } from '../../src/scan/pipeline.js';

const config = parseConfig(
  'kestrel.yaml',
  `trust:
  domains: [oakfield.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk"]
acceptableUse:
  massMailingRecipients: 20
`,
);
const scanner = createScanner(config);

function mail(from: string, to: string[], bcc: string[] = []): Buffer {
  return Buffer.from([`From: ${from}`, `To: ${to.join(', ')}`, ...(bcc.length ? [`Bcc: ${bcc.join(', ')}`] : []), 'Subject: hello', '', 'Hello all, see you on Friday.'].join('\r\n'));
}

const people = (n: number, domain: string) => Array.from({ length: n }, (_, i) => `person${i}@${domain}`);

describe('acceptable_use.mass_mailing', () => {
  it.each([
    ['staff to 20 individual addresses, Bcc included', 'k.patel@staff.oakfield.sch.uk', people(5, 'gmail.com'), people(15, 'staff.oakfield.sch.uk'), 'minor'],
    ['a pupil to 25 pupils', '22amorgan@pupils.oakfield.sch.uk', people(25, 'pupils.oakfield.sch.uk'), [], 'moderate'],
    ['staff to 19 addresses', 'k.patel@staff.oakfield.sch.uk', people(19, 'gmail.com'), [], null],
    ['staff to two distribution lists', 'k.patel@staff.oakfield.sch.uk', ['allstaff@staff.oakfield.sch.uk', 'y7-parents@staff.oakfield.sch.uk'], [], null],
    ['an outside sender to 40 staff', 'news@example.org', people(40, 'staff.oakfield.sch.uk'), [], null],
  ])('%s', async (_case, from, to, bcc, severity) => {
    const report = await scanner.scan(mail(from, to, bcc));
    const found = report.findings.filter((f) => f.category === 'acceptable_use.mass_mailing');
    expect(found.map((f) => f.severity)).toEqual(severity ? [severity] : []);
    if (severity) {
      expect(found[0]!.evidence[0]!.excerpt).not.toMatch(/@/);
      expect(report.routes).toContain('ict');
    }
  });
});

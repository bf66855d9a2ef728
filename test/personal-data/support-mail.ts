import { parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import type { ScanReport } from '../../src/scan/pipeline.js';
import type { Finding } from '../../src/scan/types.js';

export const TEACHER = 'k.patel@staff.oakfield.sch.uk';
export const OTHER_TEACHER = 'j.ward@staff.oakfield.sch.uk';
export const PUPIL = '22amorgan@pupils.oakfield.sch.uk';
export const PARENT = 'jordan.b@gmail.com';
export const CLUB = 'secretary@westvale-harriers.org.uk';

/** A trust on oakfield.sch.uk with a partner council, scanning with the shipped lexicons. */
export function trustConfig(extra = ''): KestrelConfig {
  return parseConfig(
    'test/personal-data/kestrel.yaml',
    `trust:
  domains: [oakfield.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk"]
  partnerDomains: [westvale.gov.uk]
${extra}`,
  );
}

export function plainMail(body: string, { from = TEACHER, to = [OTHER_TEACHER], cc = [] as string[], subject = 'hello' } = {}): Buffer {
  const head = [`From: ${from}`, `To: ${to.join(', ')}`, ...(cc.length ? [`Cc: ${cc.join(', ')}`] : []), `Subject: ${subject}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

export function findingsOf(report: ScanReport, category: string): Finding[] {
  return report.findings.filter((f) => f.category === category);
}

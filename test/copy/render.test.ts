/**
 * Renders the copy's and the digest's HTML in headless Chromium with the network cut off. With
 * KESTREL_UPDATE_SCREENSHOTS=1 it also writes docs/copy.png and docs/digest.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kestrelCopyHeaderValue } from '../../src/connect/copy-guard.js';
import { composeCopy, composeDigest } from '../../src/copy/compose.js';
import type { CopyRequest, DigestRequest } from '../../src/copy/types.js';
import type { StoredFlag } from '../../src/flags/store.js';
import type { Finding } from '../../src/scan/types.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = process.env.KESTREL_UPDATE_SCREENSHOTS === '1';
const SECRET = randomBytes(32);
const REVIEW = 'https://kestrel.riverbank-trust.sch.uk';
const POLICY = '003_c7be022a1d032c68.txt 7.2.1';

function finding(rule: string, severity: Finding['severity'], score: number, description: string, match: string, excerpt: string): Finding {
  return { rule, description, category: 'safety.self_harm', severity, score, policy: POLICY, evidence: [{ field: 'body', start: 60, end: 60 + match.length, match, excerpt }] };
}

/** A pupil's message to a friend, seen in the sender's Sent folder and the friend's inbox. */
function pupilFlag(findings?: Finding[]): StoredFlag {
  return {
    id: 123,
    messageKey: 'sha256:lm-0309',
    createdAt: new Date('2025-03-09T22:41:12Z'),
    report: {
      messageId: '<lm-0309@pupils.riverbank-trust.sch.uk>',
      date: '2025-03-09T22:41:00.000Z',
      direction: 'internal',
      flagged: true,
      categories: ['safety.self_harm'],
      severity: 'urgent',
      urgent: true,
      findings: findings ?? [
        finding(
          'self_harm.intent',
          'urgent',
          1,
          'The writer says they will, or want to, end their life, or names a method, a time or a plan',
          'k1ll myself',
          '…off without me and honestly i just want to k1ll myself. dont tell anyone pls',
        ),
        finding('self_harm.ideation', 'severe', 0.8, 'The writer says others would be better off without them', 'everyone would be better off without me', 'i think everyone would be better off without me and honestly…'),
        finding('self_harm.distress', 'moderate', 0.3, 'The writer says they cannot cope', 'cant do this anymore', 'sorry for being weird, i just cant do this anymore. i think…'),
      ],
      routes: ['monitor', 'urgent'],
      from: { address: '22lmorgan@pupils.riverbank-trust.sch.uk', role: 'pupil', academy: 'Riverbank Academy' },
      recipients: [{ address: '22sokafor@pupils.riverbank-trust.sch.uk', role: 'pupil', academy: 'Riverbank Academy' }],
      problems: [],
      durationMs: 11.9,
    },
    occurrences: [
      { account: 'pupil-22lmorgan', folder: 'Sent', uidValidity: '3', uid: 812, seenAt: new Date('2025-03-09T22:41:05Z') },
      { account: 'pupil-22sokafor', folder: 'INBOX', uidValidity: '5', uid: 2207, seenAt: new Date('2025-03-09T22:41:09Z') },
    ],
  };
}

function copyRequest(flag: StoredFlag): CopyRequest {
  const messageId = `<copy-${flag.id}-monitor@kestrel.riverbank-trust.sch.uk>`;
  return {
    flag,
    form: 'full',
    routes: ['monitor', 'urgent'],
    original: Buffer.from('From: 22lmorgan@pupils.riverbank-trust.sch.uk\r\nSubject: hey\r\n\r\nhonestly i just want to k1ll myself.\r\n'),
    from: 'Kestrel <kestrel@riverbank-trust.sch.uk>',
    to: 'monitor@riverbank-trust.sch.uk',
    flagUrl: `${REVIEW}/flags/${flag.id}`,
    trustName: 'Riverbank Trust',
    timeZone: 'Europe/London',
    date: new Date('2025-03-09T22:41:20Z'),
    messageId,
    copyHeader: kestrelCopyHeaderValue(flag.id, messageId, SECRET),
  };
}

function digestRequest(): DigestRequest {
  const messageId = '<digest-ict-2025-03-10@kestrel.riverbank-trust.sch.uk>';
  const entry = (flagId: number, at: string, severity: 'minor' | 'moderate', categories: string[], academies: string[]) => ({
    flagId,
    createdAt: new Date(at),
    severity,
    categories,
    academies,
    url: `${REVIEW}/flags/${flagId}`,
  });
  return {
    route: 'ict',
    periodStart: new Date('2025-03-09T07:00:00Z'),
    periodEnd: new Date('2025-03-10T07:00:00Z'),
    entries: [
      entry(118, '2025-03-09T08:12:00Z', 'minor', ['chain_mail'], ['Riverbank Academy']),
      entry(119, '2025-03-09T10:40:00Z', 'moderate', ['acceptable_use.dangerous_attachment'], ['Hillside Primary']),
      entry(121, '2025-03-09T13:05:00Z', 'minor', ['acceptable_use.mass_mailing', 'chain_mail'], ['Riverbank Academy', 'Hillside Primary']),
      entry(124, '2025-03-09T23:55:00Z', 'minor', ['chain_mail'], []),
    ],
    from: 'Kestrel <kestrel@riverbank-trust.sch.uk>',
    to: 'ict@riverbank-trust.sch.uk',
    listUrl: `${REVIEW}/flags`,
    trustName: 'Riverbank Trust',
    timeZone: 'Europe/London',
    date: new Date('2025-03-10T07:00:03Z'),
    messageId,
    copyHeader: kestrelCopyHeaderValue('digest', messageId, SECRET),
  };
}

async function htmlOf(raw: Buffer): Promise<string> {
  const html = (await simpleParser(raw)).html;
  if (typeof html !== 'string') throw new Error('the message has no HTML part');
  return html;
}

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) to render the copy`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** A page ~800 px wide whose every request is recorded and refused. */
async function render(html: string): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  await page.setContent(html, { waitUntil: 'load' });
  return { page, requests };
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync('docs', { recursive: true });
  await page.screenshot({ path: `docs/${name}`, fullPage: true });
}

describe('the copy in a browser', () => {
  it('loads nothing, shows the marked evidence and the link to the flag', async () => {
    const { page, requests } = await render(await htmlOf(await composeCopy(copyRequest(pupilFlag()))));
    expect(await page.locator('mark', { hasText: 'k1ll myself' }).isVisible()).toBe(true);
    const link = page.getByRole('link', { name: 'Open flag 123 in Kestrel' });
    expect(await link.isVisible()).toBe(true);
    expect(await link.getAttribute('href')).toBe(`${REVIEW}/flags/123`);
    expect(await page.getByRole('heading', { name: 'What was found' }).isVisible()).toBe(true);
    await screenshot(page, 'copy.png');
    expect(requests).toEqual([]);
    await page.close();
  });

  it('shows hostile evidence as text without running it', async () => {
    const hostile = finding(
      'self_harm.intent',
      'urgent',
      1,
      'Threat <script>window.kestrelPwned = "script"</script>',
      'k1ll myself',
      '<img src=x onerror="window.kestrelPwned = \'img\'"> <img src="https://tracker.example/p.gif"> k1ll myself',
    );
    const flag = pupilFlag([hostile]);
    const { page, requests } = await render(await htmlOf(await composeCopy(copyRequest(flag))));
    expect(await page.evaluate(() => (globalThis as { kestrelPwned?: string }).kestrelPwned)).toBeUndefined();
    expect(await page.locator('img, script').count()).toBe(0);
    const text = await page.locator('body').innerText();
    expect(text).toContain('<img src=x onerror="window.kestrelPwned = \'img\'">');
    expect(text).toContain('Threat <script>window.kestrelPwned = "script"</script>');
    expect(await page.locator('mark', { hasText: 'k1ll myself' }).isVisible()).toBe(true);
    expect(requests).toEqual([]);
    await page.close();
  });
});

describe('the digest in a browser', () => {
  it('loads nothing and links each flag', async () => {
    const { page, requests } = await render(await htmlOf(await composeDigest(digestRequest())));
    for (const id of [118, 119, 121, 124]) {
      expect(await page.getByRole('link', { name: `Flag ${id}`, exact: true }).getAttribute('href')).toBe(`${REVIEW}/flags/${id}`);
    }
    expect(await page.getByRole('link', { name: 'Open the flag list in Kestrel' }).isVisible()).toBe(true);
    await screenshot(page, 'digest.png');
    expect(requests).toEqual([]);
    await page.close();
  });
});

/**
 * The review UI end to end, in a real browser (Debian's chromium driven by playwright-core):
 * `kestrel users add` creates the accounts, `kestrel run` (embedded) scans a pupil's mailbox on a
 * real Dovecot and serves the UI, and a monitor signs in, filters, opens the flag, marks it a false
 * positive; an auditor finds the audit rows; an ict_admin gets 403 on the flag. The hostile subject
 * renders as text. With KESTREL_UPDATE_SCREENSHOTS=1 the main pages are saved under docs/.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { freePort } from '../harness/redis.js';
import { waitFor } from '../helpers/wait.js';
import { ordinary, OTHER_PUPIL, PUPIL, rfc822, spawnKestrel, type KestrelProcess } from './support.js';
import { seedPglite } from '../flags/support.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = process.env.KESTREL_UPDATE_SCREENSHOTS === '1';
const PASSWORD = 'correct horse battery staple 42';
const HOSTILE_SUBJECT = '<img src=x onerror=alert(1)> tonight';

const running = new Set<ChildProcess>();
let dovecot: DovecotServer;
let dir: string;
let configFile: string;
let base: string;
let metricsUrl: string;
let kestrel: KestrelProcess;
let browser: Browser;

async function kestrelOk(args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const run = spawnKestrel([...args, '--config', configFile], env, running);
  const code = await run.exited;
  if (code !== 0) throw new Error(`kestrel ${args.join(' ')} exited ${code}: ${run.log()}`);
}

async function metric(pattern: RegExp): Promise<number> {
  const text = await fetch(metricsUrl).then((r) => r.text(), () => '');
  return text.split('\n').filter((line) => pattern.test(line)).reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  dovecot = await startDovecot();
  dir = mkdtempSync(join(tmpdir(), 'kestrel-review-e2e-'));
  const [uiPort, metricsPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${uiPort}`;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  configFile = join(dir, 'kestrel.yaml');
  mkdirSync(join(dir, 'data'));
  seedPglite(join(dir, 'data'));
  writeFileSync(
    configFile,
    `trust:
  name: Oakfield Learning Trust
  domains: [oakfield.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk"]
  academies:
    - { name: Oakfield Primary, patterns: ["*@pupils.oakfield.sch.uk"] }
    - { name: Oakfield High, patterns: ["*@high.oakfield.sch.uk"] }
accounts:
  - { id: pupil-jdoe, host: 127.0.0.1, port: ${dovecot.port}, tls: none, user: bob, password: { value: secret }, folders: [INBOX], pollSeconds: 5 }
store: { dataDir: ${join(dir, 'data')} }
metrics: { listen: "127.0.0.1:${metricsPort}" }
review: { listen: "127.0.0.1:${uiPort}" }
scan: { jobs: 1 }
log: { level: warn }
`,
  );
  const env = { KESTREL_PASSWORD: PASSWORD };
  await kestrelOk(['users', 'add', 'mo.monitor', '--role', 'monitor', '--name', 'Mo Monitor'], env);
  await kestrelOk(['users', 'add', 'ada.auditor', '--role', 'auditor', '--name', 'Ada Auditor'], env);
  await kestrelOk(['users', 'add', 'ian.ict', '--role', 'ict_admin', '--name', 'Ian ICT'], env);
  await kestrelOk(['users', 'add', 'hal.dsl', '--role', 'dsl', '--academy', 'Oakfield High', '--name', 'Hal DSL'], env);

  kestrel = spawnKestrel(['run', '--config', configFile], {}, running);
  await waitFor('the connector to watch INBOX', async () => (await metric(/^kestrel_connector_state\{.*state="idle".*\} 1$/)) === 1, 60_000);
  await dovecot.append('bob', 'INBOX', rfc822({ from: OTHER_PUPIL, to: PUPIL, subject: HOSTILE_SUBJECT, body: 'I cant do this anymore. I want to kill myself tonight, I have saved up the pills.', id: 'review-e2e-1' }));
  await dovecot.append('bob', 'INBOX', rfc822(ordinary(1, OTHER_PUPIL, PUPIL)));
  await waitFor('two messages scanned', async () => (await metric(/^kestrel_messages_scanned_total\{/)) === 2, 60_000);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const child of running) child.kill('SIGTERM');
  if (kestrel) await Promise.race([kestrel.exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  for (const child of running) child.kill('SIGKILL');
  await dovecot?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync('docs', { recursive: true });
  await page.screenshot({ path: `docs/${name}`, fullPage: true });
}

/** A fresh browser context (its own cookies) signed in as `username`. */
async function signIn(username: string, screenshotName?: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  if (screenshotName) await screenshot(page, screenshotName);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  return { context, page };
}

describe('the review UI in a browser', () => {
  it('lets a monitor filter, open a flag and mark it a false positive, with the hostile subject as text, and the auditor sees it', async () => {
    const { context, page } = await signIn('mo.monitor', 'review-login.png');
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });

    await page.goto(`${base}/flags`);
    await page.getByLabel('Category').selectOption(['safety.*']);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/category=safety/);
    const row = page.getByRole('row').filter({ hasText: 'tonight' });
    await expect.poll(() => row.count()).toBe(1);
    // The subject is text on the page: its markup never became an element.
    expect(await row.textContent()).toContain(HOSTILE_SUBJECT);
    expect(await page.locator('main img').count()).toBe(0);
    await screenshot(page, 'review-flags.png');

    await row.getByRole('link').first().click();
    await page.waitForURL(/\/flags\/\d+$/);
    const flagUrl = page.url();
    expect(await page.locator('h1, main').first().textContent()).toContain(HOSTILE_SUBJECT);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('mark', { hasText: /kill myself/i }).count()).toBeGreaterThan(0);
    await screenshot(page, 'review-flag.png');

    await page.getByLabel('Outcome').selectOption('false_positive');
    await page.getByLabel('Note (why)').fill('A quotation from the class novel, checked with the English teacher.');
    await page.getByRole('button', { name: 'Record outcome' }).click();
    await page.waitForURL(/done=/);
    expect(await page.locator('main').textContent()).toContain('False positive');
    expect(dialogs).toEqual([]);

    await page.goto(`${base}/dashboard`);
    await screenshot(page, 'review-dashboard.png');
    await context.close();

    const auditor = await signIn('ada.auditor');
    await auditor.page.goto(`${base}/audit`);
    const flagTarget = `flag:${flagUrl.split('/').at(-1)}`;
    const audit = auditor.page.getByRole('row').filter({ hasText: flagTarget });
    await expect.poll(async () => (await audit.allTextContents()).join('\n')).toContain('flag.outcome');
    expect((await audit.allTextContents()).join('\n')).toContain('flag.view');
    expect((await audit.allTextContents()).join('\n')).toContain('mo.monitor');
    await screenshot(auditor.page, 'review-audit.png');
    // The auditor reads the log; flags are not theirs.
    expect((await auditor.page.goto(flagUrl))?.status()).toBe(403);
    await auditor.context.close();

    const ict = await signIn('ian.ict');
    expect((await ict.page.goto(flagUrl))?.status()).toBe(403);
    await ict.page.goto(`${base}/ops`);
    expect(await ict.page.locator('main').textContent()).not.toContain('tonight');
    await screenshot(ict.page, 'review-ops.png');
    await ict.context.close();

    // A DSL of another academy does not learn the flag exists.
    const dsl = await signIn('hal.dsl');
    expect((await dsl.page.goto(flagUrl))?.status()).toBe(404);
    await dsl.context.close();
  }, 120_000);
});

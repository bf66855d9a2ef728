/**
 * The ops view, the dashboard and the audit log page on the real store, with the pipeline's
 * health read from a real redis-server where a real BullMQ worker failed a job. The ops view shows
 * states and reasons, never a subject, a party or evidence; every retry and every look at the
 * audit log is itself audited.
 */
import { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reviewer } from '../../src/flags/review-types.js';
import type { SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { SCAN_QUEUE } from '../../src/queue/connection.js';
import { createRedisHealth } from '../../src/review/health-redis.js';
import type { PipelineHealth } from '../../src/review/health.js';
import { registerAudit } from '../../src/review/pages/audit.js';
import { registerDashboard } from '../../src/review/pages/dashboard.js';
import { registerOps } from '../../src/review/pages/ops.js';
import { type Backend, flaggedReport, occurrence, pgliteBackend, silent } from '../flags/support.js';
import { freePort, startRedis, type RedisServer } from '../harness/redis.js';
import { pageApp, reviewConfig, reviewer, type PageApp } from './support.js';

const PREFIX = 'ops-pages';
const SUBJECT = 'Secret plans <img src=x onerror=alert(1)>';
/** What a flag carries that an ops page must never show: its subject, its parties and its evidence. */
const CONTENT = ['Secret plans', 'onerror', 'Lily Morgan', '22lmorgan', '23sokafor', 'kill myself', 'better off without me'];

function config(redisUrl: string) {
  const accounts = ['staff-a', 'staff-b'].map((id) => `  - { id: ${id}, host: imap.oakfield.sch.uk, user: ${id}@staff.oakfield.sch.uk, password: { value: x } }`);
  return reviewConfig(`queue:\n  redisUrl: ${redisUrl}\n  prefix: ${PREFIX}\naccounts:\n${accounts.join('\n')}\n`);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const form = (fields: Record<string, string> = {}) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: 'test-csrf', ...fields }).toString() });

let backend: Backend;
let client: SqlClient;
let store: SqlFlagStore;
let server: RedisServer;
let scan: Queue;
let health: PipelineHealth;
let pages: PageApp;
let app: FastifyInstance;
let flagId: number;
let failedDelivery: number;
/** Two hours on: every checkpoint written now is stale by then. */
let clock = new Date(Date.now() + 2 * 60 * 60 * 1000);

// Ids far from those the store gives the accounts a test creates, so an actor filter finds only its own.
const admin = reviewer('ict_admin', { id: 90, username: 'itadmin' });
const auditor = reviewer('auditor', { id: 92, username: 'anauditor' });

async function get(url: string, who: Reviewer | null) {
  pages.signInAs(who);
  return app.inject({ method: 'GET', url });
}

beforeAll(async () => {
  backend = await pgliteBackend();
  client = (await backend.fresh()).client;
  store = createSqlFlagStore(client, silent);
  await store.migrate();
  server = await startRedis();

  const report = await flaggedReport('ops-pages');
  const recorded = await store.recordScan('ops-pages-flag', occurrence('staff-a', 'INBOX', 5), report, {
    deliveries: ['dsl@staff.oakfield.sch.uk', 'head@staff.oakfield.sch.uk'].map((recipient, index) => ({ recipient, routes: ['monitor'], form: 'full' as const, messageId: `<copy-${index}@oakfield.sch.uk>` })),
  });
  flagId = recorded.flagId!;
  await client.query('UPDATE flags SET subject = $2 WHERE id = $1', [flagId, SUBJECT]);
  failedDelivery = recorded.deliveries[0]!;
  const claimed = await store.claimDelivery(failedDelivery, 60_000);
  await store.finishDelivery(failedDelivery, claimed!.attempts, { status: 'failed', error: '550 5.2.2 mailbox full' });
  await store.recordFailure('ops-pages-broken', occurrence('staff-a', 'INBOX', 9), 'scan time limit exceeded');
  await store.advanceCheckpoint('staff-a', 'INBOX', { uidValidity: '1', lastUid: 9 });

  const connection = { url: server.url };
  scan = new Queue(SCAN_QUEUE, { connection, prefix: PREFIX });
  const worker = new Worker(SCAN_QUEUE, async () => {
    throw new Error('job could not be decoded');
  }, { connection, prefix: PREFIX });
  await scan.add('broken', {}, { jobId: 'broken-1', attempts: 1, removeOnFail: false });
  await until(() => scan.getFailedCount(), (n) => n === 1, 'the failed job');
  await worker.close();

  health = createRedisHealth({ config: config(server.url), store, logger: silent });
  pages = await pageApp(store, [registerOps, registerDashboard, registerAudit], { config: config(server.url), health, now: () => clock });
  app = pages.app;
}, 30_000);

afterAll(async () => {
  await app?.close();
  await health?.close();
  await scan?.close();
  await server?.stop();
  await store?.close();
  await backend?.stop();
});

describe('the ops view', () => {
  it('shows queues, failed jobs, connectors, undelivered copies and scan failures to an ict_admin', async () => {
    const response = await get('/ops', admin);
    expect(response.statusCode).toBe(200);
    const body = response.body;
    expect(body).toMatch(/<th scope="row">scan<\/th><td class="num">0<\/td><td class="num">0<\/td><td class="num">0<\/td><td class="num attention">1<\/td>/);
    expect(body).toContain('<td class="id">broken-1</td><td>job could not be decoded</td><td class="num">1</td>');
    expect(body).toContain('action="/ops/queues/scan/jobs/broken-1/retry"');
    expect(body).toContain('name="_csrf" value="test-csrf"');
    // staff-a is held by nobody (no connector runs here) and its checkpoint is two hours old.
    expect(body).toMatch(/<th scope="row" rowspan="1">staff-a<\/th><td rowspan="1"><span class="muted">nobody<\/span><\/td><td>INBOX<\/td><td class="num">9<\/td><td>[^<]+ <span class="badge stale"/);
    expect(body).toMatch(/staff-b<\/th>.*No folder read yet/);
    expect(body).toContain(`<td class="id">${failedDelivery}</td><td>flag ${flagId}</td>`);
    expect(body).toContain('550 5.2.2 mailbox full');
    expect(body).toContain('dsl@staff.oakfield.sch.uk');
    expect(body).toContain(`action="/ops/deliveries/${failedDelivery}/retry"`);
    expect(body).toContain('<td>staff-a</td><td>INBOX</td><td class="num">9</td><td>scan time limit exceeded</td>');
    expect(body).not.toMatch(/style=|<script/i);
  });

  it('never shows a subject, a party of a message or evidence', async () => {
    expect((await client.query('SELECT subject FROM flags WHERE id = $1', [flagId])).rows[0]).toEqual({ subject: SUBJECT });
    const body = (await get('/ops', admin)).body;
    for (const text of CONTENT) expect(body).not.toContain(text);
    const flag = await store.flag(flagId);
    for (const finding of flag!.report.findings) for (const e of finding.evidence) expect(body).not.toContain(e.excerpt);
  });

  it('shows error reasons without Message-IDs or addresses, cut to 200 characters', async () => {
    const leaky = `cannot parse <abc123@pupils.oakfield.sch.uk> from 22lmorgan@pupils.oakfield.sch.uk: ${'x'.repeat(300)}`;
    await store.recordFailure('ops-pages-leaky', occurrence('staff-a', 'INBOX', 10), leaky);
    const body = (await get('/ops', admin)).body;
    expect(body).not.toContain('abc123');
    expect(body).not.toContain('22lmorgan');
    const shown = /<td>(cannot parse [^<]*)<\/td>/.exec(body)?.[1];
    expect(shown).toMatch(/^cannot parse &lt;message-id&gt; from &lt;address&gt;: x+…$/);
    expect(shown!.replace(/&lt;|&gt;/g, '_').length).toBe(200);
    await client.query("DELETE FROM scan_failures WHERE message_key = 'ops-pages-leaky'");
  });

  it("shows an undelivered copy's error without the Message-ID or addresses it names", async () => {
    await client.query('UPDATE deliveries SET last_error = $2 WHERE id = $1', [failedDelivery, 'bounced <copy-9@oakfield.sch.uk>: 550 5.1.1 22lmorgan@pupils.oakfield.sch.uk: no such user']);
    const body = (await get('/ops', admin)).body;
    expect(body).toContain('<td>bounced &lt;message-id&gt;: 550 5.1.1 &lt;address&gt;: no such user</td>');
    expect(body).not.toContain('22lmorgan');
    await client.query('UPDATE deliveries SET last_error = $2 WHERE id = $1', [failedDelivery, '550 5.2.2 mailbox full']);
  });

  it('is for ict_admin only', async () => {
    expect((await get('/ops', reviewer('monitor'))).statusCode).toBe(403);
    expect((await get('/ops', reviewer('dpo'))).statusCode).toBe(403);
    const signedOut = await get('/ops', null);
    expect(signedOut.statusCode).toBe(303);
    expect(signedOut.headers.location).toBe('/login?next=%2Fops');
    pages.signInAs(reviewer('monitor'));
    expect((await app.inject({ method: 'POST', url: `/ops/deliveries/${failedDelivery}/retry`, ...form() })).statusCode).toBe(403);
  });

  it('retries a failed job and audits it, and says so when there is nothing to retry', async () => {
    pages.signInAs(admin);
    const retried = await app.inject({ method: 'POST', url: '/ops/queues/scan/jobs/broken-1/retry', ...form() });
    expect(retried.statusCode).toBe(303);
    expect(retried.headers.location).toBe('/ops?done=job-retried');
    expect(await (await scan.getJob('broken-1'))!.getState()).toBe('waiting');
    const again = await app.inject({ method: 'POST', url: '/ops/queues/scan/jobs/broken-1/retry', ...form() });
    expect(again.headers.location).toBe('/ops?done=job-not-retried');
    const rows = await store.auditEntries({ action: 'ops.job.retry' }, { offset: 0, limit: 10 });
    expect(rows.items.map((e) => [e.actor, e.role, e.target, e.details])).toEqual([
      ['itadmin', 'ict_admin', 'job:scan:broken-1', { queue: 'scan', id: 'broken-1', retried: false }],
      ['itadmin', 'ict_admin', 'job:scan:broken-1', { queue: 'scan', id: 'broken-1', retried: true }],
    ]);
    expect((await get('/ops?done=job-retried', admin)).body).toContain('<p class="notice" role="status">The job is queued again.</p>');
    expect((await get('/ops?done=%3Cb%3Ehello', admin)).body).not.toContain('hello');
  });

  it('retries a failed delivery and audits it', async () => {
    pages.signInAs(admin);
    const retried = await app.inject({ method: 'POST', url: `/ops/deliveries/${failedDelivery}/retry`, ...form() });
    expect(retried.headers.location).toBe('/ops?done=delivery-retried');
    expect((await store.delivery(failedDelivery))!.status).toBe('pending');
    const again = await app.inject({ method: 'POST', url: `/ops/deliveries/${failedDelivery}/retry`, ...form() });
    expect(again.headers.location).toBe('/ops?done=delivery-not-retried');
    expect((await app.inject({ method: 'POST', url: '/ops/deliveries/abc/retry', ...form() })).statusCode).toBe(404);
    const rows = await store.auditEntries({ action: 'ops.delivery.retry', target: `delivery:${failedDelivery}` }, { offset: 0, limit: 10 });
    expect(rows.items.map((e) => e.details.retried)).toEqual([false, true]);
  });

  it('still answers when Redis is away, saying what it cannot read', async () => {
    const away = createRedisHealth({ config: config(`redis://127.0.0.1:${await freePort()}`), store, logger: silent });
    const offline = await pageApp(store, [registerOps], { config: config(server.url), health: away });
    try {
      offline.signInAs(admin);
      const response = await offline.app.inject({ method: 'GET', url: '/ops' });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('Cannot read the queues');
      expect(response.body).toContain('Cannot read the connectors');
      expect(response.body).toContain('scan time limit exceeded'); // the store's part still shows
    } finally {
      await offline.app.close();
      await away.close();
    }
  }, 15_000);
});

describe('the dashboard', () => {
  it('charts flags by week, category and academy with tables of the same numbers, and the pipeline health', async () => {
    const response = await get('/dashboard', reviewer('monitor'));
    expect(response.statusCode).toBe(200);
    const body = response.body;
    for (const title of ['Flags by week', 'Flags by category', 'Flags by academy', 'Open and closed flags']) {
      expect(body).toContain(`<svg class="bars" role="img" aria-label="${title}"`);
      expect(body).toContain(`<title>${title}</title>`);
      expect(body).toContain(`<caption>${title}</caption>`);
    }
    const weeks = body.split('<caption>Flags by week</caption>')[1]!.split('</table>')[0]!;
    expect(weeks.match(/<tr><th scope="row">\d{4}-W\d{2}<\/th>/g)).toHaveLength(12);
    const flag = await store.flag(flagId);
    for (const category of flag!.report.categories) expect(body).toMatch(new RegExp(`<tr><th scope="row">${category.replaceAll('.', '\\.')}</th><td class="num">1</td></tr>`));
    expect(body).toContain('<tr><th scope="row">Open</th><td class="num">1</td></tr>');
    expect(body).toMatch(/<span class="tile-number">1<\/span> urgent, not acknowledged/);
    expect(body).toContain('Pipeline health');
    expect(body).toContain('Messages that could not be scanned: <strong>1</strong>');
    expect(body).not.toMatch(/style=|<script/i);
    for (const text of CONTENT) expect(body).not.toContain(text);
  });

  it('reminds those who manage targeted monitoring of an authorisation about to end', async () => {
    const monitor: Reviewer = await store.createUser({ username: 'remindme', displayName: 'R Monitor', role: 'monitor' });
    expect((await get('/dashboard', monitor)).body).not.toContain('Targeted monitoring to reconsider');
    const now = new Date();
    await store.createAuthorisation(
      { account: 'staff-b@staff.oakfield.sch.uk', reason: 'disciplinary investigation', approver: 'Head of HR', piaReference: 'PIA-7', startsAt: new Date(now.getTime() - 86_400_000), endsAt: new Date(now.getTime() + 3 * 86_400_000) },
      monitor,
    );
    expect((await get('/dashboard', monitor)).body).toContain('Targeted monitoring to reconsider');
    // A DSL cannot manage authorisations: no banner.
    expect((await get('/dashboard', reviewer('dsl', { id: 95 }))).body).not.toContain('Targeted monitoring to reconsider');
  });

  it('counts only what the reviewer may see', async () => {
    const high = await get('/dashboard', reviewer('dsl', { academy: 'Oakfield High' }));
    expect(high.statusCode).toBe(200);
    expect(high.body).toContain('Flags with a party in Oakfield High.');
    expect(high.body).toMatch(/<span class="tile-number">0<\/span> flags in 12 weeks/);
    const primary = await get('/dashboard', reviewer('dsl', { academy: 'Oakfield Primary' }));
    expect(primary.body).toMatch(/<span class="tile-number">1<\/span> flags in 12 weeks/);
    // A flag shared with another academy: that academy's count is not this DSL's to see.
    await client.query("UPDATE flags SET academies = academies || '{Oakfield High}'::text[] WHERE id = $1", [flagId]);
    try {
      const shared = await get('/dashboard', reviewer('dsl', { academy: 'Oakfield Primary' }));
      expect(shared.body).toContain('<tr><th scope="row">Oakfield Primary</th><td class="num">1</td></tr>');
      expect(shared.body).not.toContain('<th scope="row">Oakfield High</th>');
    } finally {
      await client.query("UPDATE flags SET academies = array_remove(academies, 'Oakfield High') WHERE id = $1", [flagId]);
    }
    expect((await get('/dashboard', admin)).statusCode).toBe(403);
    expect((await get('/dashboard', auditor)).statusCode).toBe(403);
  });
});

describe('the audit log page', () => {
  let monitorId: number;

  beforeAll(async () => {
    monitorId = (await store.createUser({ username: 'jmonitor', displayName: 'J Monitor', role: 'monitor' })).id;
    for (let i = 1; i <= 55; i++) {
      await store.appendAudit({ actorId: monitorId, actor: 'jmonitor', role: 'monitor', action: 'flag.view', target: `flag:${i}`, details: { n: i }, ip: '10.0.0.1' });
    }
    await store.appendAudit({ actorId: monitorId, actor: 'jmonitor', role: 'monitor', action: 'flag.outcome', target: 'flag:3', details: { status: 'false_positive', note: '<script>alert(1)</script>' }, ip: null });
  });

  it('lists newest first, 50 a page, details as escaped key=value text', async () => {
    const first = await get('/audit?actor=jmonitor', reviewer('dpo', { id: 91, username: 'thedpo' }));
    expect(first.statusCode).toBe(200);
    const rows = first.body.match(/<tr><td class="when">/g) ?? [];
    expect(rows).toHaveLength(50);
    expect(first.body).toContain('56 entries, newest first.');
    const newest = first.body.indexOf('<code>flag.outcome</code>');
    expect(newest).toBeGreaterThan(0);
    expect(first.body.indexOf('flag:55')).toBeGreaterThan(newest);
    expect(first.body).toContain('<td class="details">note=&lt;script&gt;alert(1)&lt;/script&gt; status=false_positive</td>');
    expect(first.body).not.toContain('<script>');
    expect(first.body).toContain('href="/audit?actor=jmonitor&amp;page=2" rel="next"');
    const second = await get('/audit?actor=jmonitor&page=2', auditor);
    expect(second.body.match(/<tr><td class="when">/g)).toHaveLength(6);
    expect(second.body).toContain('<td class="details">n=1</td>');
    expect(second.body).toContain('rel="prev"');
  });

  it('filters by action, target, dates and actor, the purge included', async () => {
    const byTarget = await get('/audit?target=flag%3A3', auditor);
    expect(byTarget.body).toContain('2 entries');
    const byAction = await get('/audit?action=flag.outcome&target=flag%3A3', auditor);
    expect(byAction.body).toContain('1 entry,');
    expect((await get('/audit?actor=jmonitor&to=2000-01-01', auditor)).body).toContain('0 entries');
    expect((await get('/audit?actor=jmonitor&from=2000-01-01', auditor)).body).toContain('56 entries');
    expect((await get('/audit?actor=nobody', auditor)).body).toContain('0 entries');
    await store.appendAudit({ actorId: null, actor: 'kestrel', role: null, action: 'purge.run', target: 'purge:1', details: { flags: 0 }, ip: null });
    const system = await get('/audit?actor=Kestrel', auditor);
    expect(system.body).toContain('1 entry,');
    expect(system.body).toContain('purge.run');
  });

  it('names the field that is wrong', async () => {
    const badDate = await get('/audit?from=2026-02-30', auditor);
    expect(badDate.statusCode).toBe(400);
    expect(badDate.body).toContain('from: expected a date like 2026-11-21');
    expect((await get('/audit?from=2026-03-02&to=2026-03-01', auditor)).body).toContain('to: must not be before from');
    expect((await get('/audit?page=0', auditor)).body).toContain('page: expected a page number from 1');
  });

  it('audits every look at the log, with its filters', async () => {
    await get('/audit?action=flag.view&from=2000-01-01&page=2', auditor);
    const views = await store.auditEntries({ action: 'audit.view', actorId: 92 }, { offset: 0, limit: 5 });
    expect(views.items[0]).toMatchObject({ actor: 'anauditor', role: 'auditor', target: null, details: { filters: { action: 'flag.view', from: '2000-01-01' }, page: 2 } });
  });

  it('is for DPOs and auditors only', async () => {
    for (const role of ['monitor', 'dsl', 'ict_admin'] as const) expect((await get('/audit', reviewer(role))).statusCode).toBe(403);
  });
});

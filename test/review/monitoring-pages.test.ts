/**
 * The suppressions, targeted-monitoring and retention pages on the real store (PGlite): what each
 * role may do, the checks on every form, the audit rows, reminders, and kept messages shown as
 * escaped text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealRetained } from '../../src/flags/authorisations.js';
import type { Reviewer } from '../../src/flags/review-types.js';
import { toNumber, type SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { registerAuthorisations } from '../../src/review/pages/authorisations.js';
import { registerRetention } from '../../src/review/pages/retention.js';
import { registerSuppressions } from '../../src/review/pages/suppressions.js';
import type { ScanReport } from '../../src/scan/pipeline.js';
import { type Backend, cleanReport, flaggedReport, occurrence, pgliteBackend, sharedScanner, mail, silent } from '../flags/support.js';
import { pageApp, reviewer, type PageApp } from './support.js';

const DAY = 86_400_000;
const XSS = '<img src=x onerror=alert(1)>';

let backend: Backend;
let client: SqlClient;
let store: SqlFlagStore;
let ui: PageApp;
const people: Record<string, Reviewer> = {};

beforeAll(async () => {
  backend = await pgliteBackend();
  const db = await backend.fresh();
  client = db.client;
  store = createSqlFlagStore(client, silent);
  await store.migrate();
  for (const role of ['monitor', 'dpo', 'ict_admin'] as const) {
    const { rows } = await client.query<{ id: unknown }>('INSERT INTO users (username, display_name, role) VALUES ($1, $1, $1) RETURNING id', [role]);
    people[role] = reviewer(role, { id: toNumber(rows[0]!.id) });
  }
  ui = await pageApp(store, [registerSuppressions, registerAuthorisations, registerRetention]);
});

afterAll(async () => {
  await ui?.app.close();
  await store?.close();
  await backend?.stop();
});

const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams({ _csrf: 'test-csrf', ...fields }).toString(),
});

async function get(url: string, as: Reviewer) {
  ui.signInAs(as);
  return ui.app.inject({ method: 'GET', url });
}

async function post(url: string, as: Reviewer, fields: Record<string, string>) {
  ui.signInAs(as);
  return ui.app.inject({ method: 'POST', url, ...form(fields) });
}

async function auditActions(target: string): Promise<string[]> {
  const { rows } = await client.query<{ action: string }>('SELECT action FROM audit_log WHERE target = $1 ORDER BY id', [target]);
  return rows.map((r) => r.action);
}

let n = 0;
/** A flag closed as a false positive, from a report of the real scanner. */
async function falsePositive(report: ScanReport): Promise<number> {
  const key = `fp-${++n}`;
  const { flagId } = await store.recordScan(key, occurrence(key, 'INBOX', n), report);
  await client.query("UPDATE flags SET status = 'false_positive', closed_at = now() WHERE id = $1", [flagId]);
  return flagId!;
}

async function insultReport(): Promise<ScanReport> {
  const report = await sharedScanner().scan(mail(`insult-${++n}`, 'honestly you are so ugly'));
  expect(report.findings.map((f) => f.rule)).toContain('bullying.targeted_insult');
  return report;
}

describe('suppressions', () => {
  it('are created from a false positive for its sender and words, listed, audited, and revoked', async () => {
    const flagId = await falsePositive(await insultReport());
    const created = await post('/suppressions', people.monitor!, { flagId: String(flagId), rule: 'bullying.targeted_insult', sender: '1', phrase: 'You are so  UGLY', days: '30', reason: XSS });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toBe('/suppressions?done=created');
    const [suppression] = await store.suppressions({ includeInactive: false });
    expect(suppression).toMatchObject({ rule: 'bullying.targeted_insult', sender: '22lmorgan@pupils.oakfield.sch.uk', phrase: 'you are so ugly', flagId });
    expect(suppression!.expiresAt.getTime() - Date.now()).toBeGreaterThan(29 * DAY);

    const list = await get('/suppressions?done=created', people.monitor!);
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('Suppression created. Urgent findings are still reported.');
    expect(list.body).toContain('Urgent findings (imminent risk to a child) are never suppressed.');
    expect(list.body).toContain('22lmorgan@pupils.oakfield.sch.uk');
    expect(list.body).not.toContain(XSS);
    expect(list.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(await auditActions(`suppression:${suppression!.id}`)).toEqual(['suppression.create']);
    const { rows: listed } = await client.query<{ actor: string }>("SELECT actor FROM audit_log WHERE action = 'suppression.list'");
    expect(listed.map((r) => r.actor)).toEqual([people.monitor!.username]);

    const revoked = await post(`/suppressions/${suppression!.id}/revoke`, people.monitor!, {});
    expect(revoked.headers.location).toBe('/suppressions?done=revoked');
    expect((await post(`/suppressions/${suppression!.id}/revoke`, people.monitor!, {})).headers.location).toBe('/suppressions?done=not-revoked');
    expect(await auditActions(`suppression:${suppression!.id}`)).toEqual(['suppression.create', 'suppression.revoke']);
    expect((await get('/suppressions?all=1', people.monitor!)).body).toContain('revoked');
  });

  it('are refused, naming the field, for days out of range, a rule or words the flag lacks, or a flag not closed as false positive', async () => {
    const flagId = await falsePositive(await insultReport());
    const base = { flagId: String(flagId), rule: 'bullying.targeted_insult', phrase: '', sender: '1', days: '30', reason: 'script' };
    const refusal = async (fields: Partial<typeof base>, status: number, text: string) => {
      const response = await post('/suppressions', people.monitor!, { ...base, ...fields });
      expect(response.statusCode).toBe(status);
      expect(response.body).toContain(text);
    };
    await refusal({ days: '0' }, 400, 'days: expected a whole number from 1 to 365');
    await refusal({ days: '366' }, 400, 'days:');
    await refusal({ rule: 'profanity.strong' }, 400, 'rule: this flag has no finding');
    await refusal({ phrase: 'something else' }, 400, 'phrase: choose words this rule matched');
    await refusal({ sender: '', phrase: '' }, 400, 'phrase: a suppression needs the sender');
    await refusal({ reason: ' ' }, 400, 'reason:');
    await refusal({ flagId: '999999' }, 404, 'flagId:');
    const open = await store.recordScan('open-one', occurrence('o', 'INBOX', 1), await insultReport());
    await refusal({ flagId: String(open.flagId) }, 400, 'flagId: only a flag closed as a false positive');
    expect(await store.suppressions({ includeInactive: true })).toHaveLength(1);
  });

  it('are personal-data rules only for a DPO, and not for ict_admin at all', async () => {
    const report = await flaggedReport(`pd-${++n}`);
    const personal = { ...report.findings[0]!, rule: 'personal_data.test_identifier', category: 'personal_data.identifiers', severity: 'moderate' as const };
    const flagId = await falsePositive({ ...report, categories: [...report.categories, 'personal_data.identifiers'], findings: [...report.findings, personal] });
    const selfHarm = await post('/suppressions', people.dpo!, { flagId: String(flagId), rule: report.findings[0]!.rule, sender: '1', days: '10', reason: 'r' });
    // A DPO's view of the flag holds only its personal-data findings: the other rule is not there to suppress.
    expect(selfHarm.statusCode).toBe(400);
    expect(selfHarm.body).toContain(`rule: this flag has no finding of the rule &quot;${report.findings[0]!.rule}&quot;`);
    const ok = await post('/suppressions', people.dpo!, { flagId: String(flagId), rule: 'personal_data.test_identifier', sender: '1', days: '10', reason: 'r' });
    expect(ok.statusCode).toBe(303);
    const dpoList = await get('/suppressions', people.dpo!);
    expect(dpoList.body).toContain('personal_data.test_identifier');
    expect(dpoList.body).not.toContain('bullying.targeted_insult');
    expect((await get('/suppressions', people.ict_admin!)).statusCode).toBe(403);
    expect((await post('/suppressions', people.ict_admin!, { flagId: String(flagId) })).statusCode).toBe(403);
  });
});

function today(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

function dayAfter(days: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + days * DAY));
}

describe('targeted monitoring', () => {
  const valid = () => ({ account: 'K.Patel@staff.oakfield.sch.uk', reason: 'reasonable grounds', approver: 'Headteacher', piaReference: 'PIA-7', startsOn: today(), endsOn: dayAfter(29) });

  it('records an authorisation with every field, refusing by field what the policies do not allow', async () => {
    const refused = await post('/authorisations', people.monitor!, { ...valid(), account: 'k.patel@gmail.com', piaReference: '', endsOn: dayAfter(120) });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain("account: k.patel@gmail.com is not an address in the trust&#39;s domains");
    expect(refused.body).toContain('piaReference: give the reference of the privacy impact assessment');
    expect(refused.body).toContain('endsOn: at most 90 days after the start');
    // The form comes back with what was typed.
    expect(refused.body).toContain('value="Headteacher"');
    expect(refused.body).toContain('>reasonable grounds</textarea>');
    const past = await post('/authorisations', people.monitor!, { ...valid(), startsOn: dayAfter(-3) });
    expect(past.body).toContain('startsOn: monitoring cannot start in the past');
    const backwards = await post('/authorisations', people.monitor!, { ...valid(), endsOn: dayAfter(-1) });
    expect(backwards.body).toContain('endsOn: must be after the start');

    const created = await post('/authorisations', people.monitor!, valid());
    expect(created.statusCode).toBe(303);
    const [a] = await store.authorisations();
    expect(a).toMatchObject({ account: 'k.patel@staff.oakfield.sch.uk', approver: 'Headteacher', piaReference: 'PIA-7' });
    expect(Math.round((a!.endsAt.getTime() - a!.startsAt.getTime()) / DAY)).toBe(30);
    expect(await auditActions(`authorisation:${a!.id}`)).toEqual(['authorisation.create']);
    expect((await get('/authorisations', people.dpo!)).body).toContain('k.patel@staff.oakfield.sch.uk');
    expect((await get('/authorisations', people.ict_admin!)).statusCode).toBe(403);

    const ended = await post(`/authorisations/${a!.id}/end`, people.monitor!, { reason: 'facts established' });
    expect(ended.headers.location).toBe(`/authorisations/${a!.id}?done=ended`);
    expect(await auditActions(`authorisation:${a!.id}`)).toEqual(['authorisation.create', 'authorisation.end']);
    const viewed = await get(`/authorisations/${a!.id}`, people.monitor!);
    expect(viewed.statusCode).toBe(200);
    expect(await auditActions(`authorisation:${a!.id}`)).toEqual(['authorisation.create', 'authorisation.end', 'authorisation.view']);
    const badPage = await get(`/authorisations/${a!.id}?page=1.5`, people.monitor!);
    expect(badPage.statusCode).toBe(400);
    expect(badPage.body).toContain('page: expected a whole number');
    expect((await post(`/authorisations/${a!.id}/end`, people.monitor!, { reason: '' })).statusCode).toBe(400);
  });

  it('reminds reviewers of authorisations ending soon and of ended ones until their review is recorded', async () => {
    const now = Date.now();
    const soon = await store.createAuthorisation({ account: 'soon@oakfield.sch.uk', reason: 'r', approver: 'a', piaReference: 'p', startsAt: new Date(now - 10 * DAY), endsAt: new Date(now + 3 * DAY) }, people.monitor!);
    const over = await store.createAuthorisation({ account: 'over@oakfield.sch.uk', reason: 'r', approver: 'a', piaReference: 'p', startsAt: new Date(now - 10 * DAY), endsAt: new Date(now - DAY) }, people.monitor!);
    const page = await get('/authorisations', people.dpo!);
    expect(page.body).toContain('Targeted monitoring to reconsider');
    expect(page.body).toMatch(/soon@oakfield\.sch\.uk<\/a>: ends .*continue only if still necessary/);
    expect(page.body).toMatch(/over@oakfield\.sch\.uk<\/a>: ended .*record that it was reviewed/);

    expect((await post(`/authorisations/${soon.id}/reviewed`, people.dpo!, {})).headers.location).toBe(`/authorisations/${soon.id}?done=not-reviewed`);
    expect((await post(`/authorisations/${over.id}/reviewed`, people.dpo!, {})).headers.location).toBe(`/authorisations/${over.id}?done=reviewed`);
    expect(await auditActions(`authorisation:${over.id}`)).toEqual(['authorisation.review']);
    expect((await get('/authorisations', people.dpo!)).body).not.toContain('over@oakfield.sch.uk</a>: ended');

    await store.endAuthorisation(soon.id, people.monitor!, 'done', new Date());
  });

  it('shows a kept message to a monitor only, as escaped text with attachments by type and size, and audits each view', async () => {
    const now = Date.now();
    const a = await store.createAuthorisation({ account: 'kept@oakfield.sch.uk', reason: 'r', approver: 'a', piaReference: 'p', startsAt: new Date(now - DAY), endsAt: new Date(now + 5 * DAY) }, people.monitor!);
    const raw = Buffer.from(
      [
        'From: Kept Person <kept@oakfield.sch.uk>',
        'To: friend@example.com',
        'Cc: other@oakfield.sch.uk',
        `Subject: ${XSS}`,
        'Date: Sat, 21 Nov 2026 14:05:00 +0000',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>Hello <b>there</b><script>alert(2)</script></p>',
        '--b',
        'Content-Type: application/pdf; name="secret-name.pdf"',
        'Content-Disposition: attachment; filename="secret-name.pdf"',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.alloc(2048, 1).toString('base64'),
        '--b--',
        '',
      ].join('\r\n'),
    );
    await store.retainMessage({ authorisationId: a.id, messageKey: 'kept-1', flagId: null, direction: 'outbound', messageDate: new Date('2026-11-21T14:05:00Z'), sealed: sealRetained(raw, ui.deps.keys.original, a.id, 'kept-1') });
    const [kept] = (await store.retainedMessages(a.id, { offset: 0, limit: 5 })).items;

    const overview = await get(`/authorisations/${a.id}`, people.monitor!);
    expect(overview.body).toContain(`/authorisations/${a.id}/messages/${kept!.id}`);
    const dpoOverview = await get(`/authorisations/${a.id}`, people.dpo!);
    expect(dpoOverview.body).toContain('Only monitors read the messages kept');
    expect(dpoOverview.body).not.toContain(`/messages/${kept!.id}`);
    expect((await get(`/authorisations/${a.id}/messages/${kept!.id}`, people.dpo!)).statusCode).toBe(403);
    // Each look at the authorisation is recorded; the DPO's opened no kept message.
    expect(await auditActions(`authorisation:${a.id}`)).toEqual(['authorisation.view', 'authorisation.view']);

    const shown = await get(`/authorisations/${a.id}/messages/${kept!.id}`, people.monitor!);
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(shown.body).not.toContain('<img');
    expect(shown.body).not.toContain('<script>alert(2)');
    expect(shown.body).not.toContain('<b>there</b>');
    expect(shown.body).toMatch(/Hello\s+there/);
    expect(shown.body).toContain('Kept Person &lt;kept@oakfield.sch.uk&gt;');
    expect(shown.body).toContain('other@oakfield.sch.uk');
    expect(shown.body).toContain('application/pdf, 2.0 KB');
    expect(shown.body).not.toContain('secret-name');
    expect(await auditActions(`authorisation:${a.id}`)).toEqual(['authorisation.view', 'authorisation.view', 'targeted.view']);
    expect((await get(`/authorisations/${a.id}/messages/999999`, people.monitor!)).statusCode).toBe(404);
    expect((await get('/authorisations/abc', people.monitor!)).statusCode).toBe(404);
  });
});

describe('retention', () => {
  it('shows the periods, open flags past their period, and the purges that ran, to a DPO and ict_admin only', async () => {
    const { flagId } = await store.recordScan('old-open', occurrence('o', 'INBOX', 99), await flaggedReport('old-open'));
    await client.query("UPDATE flags SET created_at = now() - interval '3000 days' WHERE id = $1", [flagId]);
    await store.recordScan('old-clean', occurrence('o', 'INBOX', 100), await cleanReport('old-clean'));
    await client.query("UPDATE messages SET scanned_at = now() - interval '1000 days' WHERE message_key = 'old-clean'");
    await store.purge(ui.deps.config.retention, { actor: 'kestrel' });
    const page = await get('/retention', people.ict_admin!);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<code>safety.*</code></td><td class="num">2190');
    expect(page.body).toMatch(/1 open flag is past its retention period/);
    expect(page.body).toMatch(/<td>kestrel<\/td><td>.*Scanned message keys: \d/);
    expect((await get('/retention', people.dpo!)).statusCode).toBe(200);
    expect((await get('/retention', people.monitor!)).statusCode).toBe(403);
  });
});

/**
 * The flag list, the flag page, outcomes and per-rule precision, on PGlite with flags recorded from
 * real scans: hostile subjects and evidence render as text, filters and scopes decide what is shown,
 * outcomes change the status and the history, and every view and outcome is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { registerExports } from '../../src/review/pages/export.js';
import { registerFlagPages } from '../../src/review/pages/flags.js';
import { registerPrecision } from '../../src/review/pages/precision.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { type Backend, occurrence, pgliteBackend, silent } from '../flags/support.js';
import type { Reviewer } from '../../src/flags/review-types.js';
import { pageApp, reviewConfig, reviewer, type PageApp } from './support.js';

const HOSTILE_SUBJECT = '<img src=x onerror=alert(1)>';
const HOSTILE_BODY_TAG = '<b onmouseover=alert(2)>';
const scanner = createScanner(reviewConfig());

function mail(id: string, from: string, to: string, subject: string, body: string): Buffer {
  return Buffer.from(
    [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, 'Date: Sun, 09 Mar 2025 22:41:00 +0000', `Message-ID: <${id}@oakfield.sch.uk>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body].join('\r\n'),
  );
}

/** Scans the message with the real scanner and records it as the connector would. */
async function record(store: SqlFlagStore, id: string, from: string, to: string, subject: string, body: string): Promise<number> {
  const report = await scanner.scan(mail(id, from, to, subject, body));
  if (!report.flagged) throw new Error(`expected the scanner to flag ${id}`);
  const result = await store.recordScan(`key-${id}`, occurrence(to, 'INBOX', 1), report);
  return result.flagId!;
}

/** Outcomes name their reviewer's account, so the reviewers of these tests have one. */
async function account(store: SqlFlagStore, who: Reviewer): Promise<Reviewer> {
  const user = await store.createUser({ username: who.username, displayName: who.displayName, role: who.role, academy: who.academy });
  return { ...who, id: user.id };
}

const form = (fields: Record<string, string | string[]>): string => {
  const params = new URLSearchParams({ _csrf: 'test-csrf' });
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) params.append(name, v);
  return params.toString();
};
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('flag pages', () => {
  let backend: Backend;
  let store: SqlFlagStore;
  let ui: PageApp;
  let hostile: number;
  let high: number;
  let chain: number[];
  let monitor: Reviewer;
  let dsl: Reviewer;
  let client: SqlClient;

  beforeAll(async () => {
    backend = await pgliteBackend();
    client = (await backend.fresh()).client;
    store = createSqlFlagStore(client, silent);
    await store.migrate();
    monitor = await account(store, reviewer('monitor'));
    dsl = await account(store, reviewer('dsl', { username: 'dsl.primary' }));
    hostile = await record(store, 'hostile', '22lmorgan@pupils.oakfield.sch.uk', '23sokafor@pupils.oakfield.sch.uk', HOSTILE_SUBJECT, `${HOSTILE_BODY_TAG}i just want to kill myself tonight</b>`);
    high = await record(store, 'high', 'j.smith@high.oakfield.sch.uk', 'k.jones@high.oakfield.sch.uk', 'after school', "I'm going to kill you after school");
    // The same insult to three pupils: near-identical flags, one group.
    chain = [];
    for (const n of [1, 2, 3]) chain.push(await record(store, `chain-${n}`, `2${n}abc@pupils.oakfield.sch.uk`, '24xyz@pupils.oakfield.sch.uk', 'you', 'you are so ugly'));
    ui = await pageApp(store, [registerFlagPages, registerExports, registerPrecision]);
  });

  afterAll(async () => {
    await ui?.app.close();
    await store?.close();
    await backend?.stop();
  });

  async function get(url: string) {
    return ui.app.inject({ method: 'GET', url });
  }

  it('renders a hostile subject and hostile evidence as text, with the matched words marked', async () => {
    ui.signInAs(monitor);
    const flag = await store.reviewFlag(hostile, { kind: 'all' });
    expect(flag?.report.findings.flatMap((f) => f.evidence.map((e) => e.excerpt)).join(' ')).toContain(HOSTILE_BODY_TAG);
    const list = await get('/flags');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(HOSTILE_SUBJECT);
    expect(list.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const view = await get(`/flags/${hostile}`);
    expect(view.statusCode).toBe(200);
    expect(view.body).not.toContain(HOSTILE_SUBJECT);
    expect(view.body).not.toContain(HOSTILE_BODY_TAG);
    expect(view.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(view.body).toContain('&lt;b onmouseover=alert(2)&gt;');
    expect(view.body).toMatch(/<mark>[^<]*kill myself[^<]*<\/mark>/);
    expect(view.body).not.toMatch(/<(img|script|b)\b/);
  });

  it('shows the facts: parties with role and academy, direction, mailbox, findings with policy', async () => {
    ui.signInAs(monitor);
    const { body } = await get(`/flags/${hostile}`);
    for (const text of ['22lmorgan@pupils.oakfield.sch.uk', 'pupil', 'Oakfield Primary', 'internal', 'self_harm.intent', '003_c7be022a1d032c68.txt 7.2.1', 'INBOX', '9 Mar 2025 22:41', 'New']) {
      expect(body).toContain(text);
    }
    expect(body).toContain(`action="/flags/${hostile}/outcome"`);
    expect(body).toContain(`href="/flags/${hostile}/export.pdf"`);
  });

  it('filters change the results, and the form keeps every value', async () => {
    ui.signInAs(monitor);
    const rows = (body: string) => [...body.matchAll(/<a href="\/flags\/(\d+)">/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    const all = await get('/flags?grouped=0');
    expect(rows(all.body)).toEqual([hostile, high, ...chain].sort((a, b) => a - b));
    expect(rows((await get('/flags?category=safety.self_harm')).body)).toEqual([hostile]);
    expect(rows((await get('/flags?category=safety.*&severity=urgent&grouped=0')).body)).toEqual([hostile, high].sort((a, b) => a - b));
    expect(rows((await get('/flags?academy=Oakfield+High')).body)).toEqual([high]);
    expect(rows((await get('/flags?sender=22abc&grouped=0')).body)).toEqual([chain[1]]);
    expect(rows((await get('/flags?recipient=k.jones')).body)).toEqual([high]);
    expect(rows((await get('/flags?rule=bullying.targeted_insult&grouped=0')).body)).toEqual(chain);
    expect(rows((await get('/flags?status=escalated')).body)).toEqual([]);
    expect(rows((await get('/flags?since=2999-01-01')).body)).toEqual([]);
    const kept = await get('/flags?category=safety.self_harm&category=profanity&severity=severe&sender=lmorgan&until=2999-12-31&status=new&status=in_review');
    expect(kept.body).toContain('<option value="safety.self_harm" selected>');
    expect(kept.body).toContain('<option value="profanity" selected>');
    expect(kept.body).toContain('<option value="severe" selected>');
    expect(kept.body).toContain('<option value="in_review" selected>');
    expect(kept.body).toContain('name="sender" value="lmorgan"');
    expect(kept.body).toContain('name="until" value="2999-12-31"');
    const searches = await store.auditEntries({ action: 'flag.list' }, { offset: 0, limit: 1 });
    expect(searches.items[0]).toMatchObject({ actor: 'monitor', target: null, details: { filters: { sender: 'lmorgan', status: ['new', 'in_review'] }, total: 1 } });
  });

  it('groups near-identical flags into one row with a count linking to the group', async () => {
    ui.signInAs(monitor);
    const grouped = await get('/flags?rule=bullying.targeted_insult');
    const links = [...grouped.body.matchAll(/<a href="\/flags\/(\d+)">/g)];
    expect(links).toHaveLength(1);
    const key = (await store.reviewFlag(chain[0]!, { kind: 'all' }))!.groupKey;
    expect(grouped.body).toContain(`href="/flags?group=${encodeURIComponent(key)}&amp;grouped=0">3 similar</a>`);
    const group = await get(`/flags?group=${encodeURIComponent(key)}&grouped=0`);
    expect([...group.body.matchAll(/<a href="\/flags\/(\d+)">/g)]).toHaveLength(3);
    expect(group.body).toContain(`action="/flags/group/${encodeURIComponent(key)}/outcome"`);
  });

  it('names the wrong field of a bad filter', async () => {
    ui.signInAs(monitor);
    for (const [query, field] of [
      ['since=yesterday', 'since:'],
      ['severity=bad', 'severity:'],
      ['status=open', 'status:'],
      ['page=0', 'page:'],
      ['category=<x>', 'category:'],
    ]) {
      const response = await get(`/flags?${query}`);
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain(field);
    }
  });

  it('scopes a DSL to their academy: another academy\'s flag is 404, like a missing one', async () => {
    ui.signInAs(dsl);
    expect((await get(`/flags/${high}`)).statusCode).toBe(404);
    expect((await get(`/flags/${high}/export.json`)).statusCode).toBe(404);
    expect((await get('/flags/999999')).statusCode).toBe(404);
    expect((await get('/flags/abc')).statusCode).toBe(404);
    expect((await get(`/flags/${hostile}`)).statusCode).toBe(200);
    const list = await get('/flags?grouped=0');
    expect(list.body).not.toContain(`href="/flags/${high}"`);
    expect(list.body).toContain(`href="/flags/${hostile}"`);
    const post = await ui.app.inject({ method: 'POST', url: `/flags/${high}/outcome`, headers: FORM, payload: form({ status: 'in_review', note: 'looking' }) });
    expect(post.statusCode).toBe(404);
  });

  it('refuses ict_admin and auditor every flag page with 403', async () => {
    for (const role of ['ict_admin', 'auditor'] as const) {
      ui.signInAs(reviewer(role));
      for (const url of ['/flags', `/flags/${hostile}`, `/flags/${hostile}/export.json`, `/flags/${hostile}/export.pdf`, '/precision']) {
        expect((await get(url)).statusCode, `${role} ${url}`).toBe(403);
      }
      const post = await ui.app.inject({ method: 'POST', url: `/flags/${hostile}/outcome`, headers: FORM, payload: form({ status: 'in_review', note: 'x' }) });
      expect(post.statusCode).toBe(403);
    }
    ui.signInAs(null);
    expect((await get(`/flags/${hostile}`)).statusCode).toBe(303);
  });

  it('records an outcome: the status changes, the history shows it, and it is audited', async () => {
    ui.signInAs(monitor);
    const post = await ui.app.inject({ method: 'POST', url: `/flags/${hostile}/outcome`, headers: FORM, payload: form({ status: 'escalated', escalatedTo: ['dsl', 'police'], note: 'Spoke to <the> DSL at once' }) });
    expect(post.statusCode).toBe(303);
    expect(post.headers.location).toBe(`/flags/${hostile}?done=outcome`);
    const view = await get(`/flags/${hostile}?done=outcome`);
    expect(view.body).toContain('Outcome recorded.');
    expect(view.body).toContain('Spoke to &lt;the&gt; DSL at once');
    expect(view.body).toContain('Escalated');
    expect(view.body).toMatch(/to DSL, Police/);
    expect((await store.reviewFlag(hostile, { kind: 'all' }))?.status).toBe('escalated');
    const { items } = await store.auditEntries({ target: `flag:${hostile}` }, { offset: 0, limit: 200 });
    const actions = items.map((e) => e.action);
    expect(actions).toContain('flag.view');
    expect(actions).toContain('flag.outcome');
    const outcome = items.find((e) => e.action === 'flag.outcome')!;
    expect(outcome).toMatchObject({ actor: 'monitor', role: 'monitor', details: { status: 'escalated', escalatedTo: ['dsl', 'police'] } });
    expect(JSON.stringify(outcome.details)).not.toContain('Spoke');
  });

  it('audits every view of a flag page, including a reviewer looking again', async () => {
    ui.signInAs(dsl);
    const before = (await store.auditEntries({ target: `flag:${hostile}`, action: 'flag.view' }, { offset: 0, limit: 200 })).total;
    await get(`/flags/${hostile}`);
    await get(`/flags/${hostile}`);
    const after = await store.auditEntries({ target: `flag:${hostile}`, action: 'flag.view' }, { offset: 0, limit: 200 });
    expect(after.total).toBe(before + 2);
    expect(after.items[0]).toMatchObject({ actor: 'dsl.primary', role: 'dsl', target: `flag:${hostile}` });
  });

  it('refuses an outcome without a note or with a bad field, naming the field and keeping the form', async () => {
    ui.signInAs(monitor);
    const noNote = await ui.app.inject({ method: 'POST', url: `/flags/${high}/outcome`, headers: FORM, payload: form({ status: 'actioned', note: '  ' }) });
    expect(noNote.statusCode).toBe(400);
    expect(noNote.body).toContain('note:');
    expect(noNote.body).toContain('<option value="actioned" selected>');
    const badTarget = await ui.app.inject({ method: 'POST', url: `/flags/${high}/outcome`, headers: FORM, payload: form({ status: 'escalated', escalatedTo: 'mi5', note: 'x' }) });
    expect(badTarget.statusCode).toBe(400);
    expect(badTarget.body).toContain('escalatedTo:');
    const noTarget = await ui.app.inject({ method: 'POST', url: `/flags/${high}/outcome`, headers: FORM, payload: form({ status: 'escalated', note: 'to whom?' }) });
    expect(noTarget.statusCode).toBe(400);
    expect((await store.reviewFlag(high, { kind: 'all' }))?.status).toBe('new');
  });

  it('records one outcome for a whole group, audits it with the ids, and offers suppression after a false positive', async () => {
    ui.signInAs(monitor);
    const key = (await store.reviewFlag(chain[0]!, { kind: 'all' }))!.groupKey;
    const post = await ui.app.inject({ method: 'POST', url: `/flags/group/${encodeURIComponent(key)}/outcome`, headers: FORM, payload: form({ status: 'false_positive', note: 'Drama lesson script' }) });
    expect(post.statusCode).toBe(303);
    expect(post.headers.location).toContain('done=group');
    for (const id of chain) expect((await store.reviewFlag(id, { kind: 'all' }))?.status).toBe('false_positive');
    const { items } = await store.auditEntries({ action: 'group.outcome' }, { offset: 0, limit: 10 });
    // Against the lowest flag id: the group key hashes the matched words, which auditors may not see.
    expect(items[0]).toMatchObject({ actor: 'monitor', target: `flag:${Math.min(...chain)}`, details: { status: 'false_positive' } });
    expect([...(items[0]!.details.ids as number[])].sort((a, b) => a - b)).toEqual(chain);
    expect(JSON.stringify(await store.auditEntries({}, { offset: 0, limit: 200 }))).not.toContain(key);
    const view = await get(`/flags/${chain[0]}`);
    expect(view.body).toContain('action="/suppressions"');
    expect(view.body).toContain('name="rule" value="bullying.targeted_insult"');
    expect(view.body).toContain('<option value="you are so ugly">you are so ugly</option>');
    expect(view.body).toContain('only mail from 21abc@pupils.oakfield.sch.uk');
    ui.signInAs(dsl);
    expect((await get(`/flags/${chain[0]}`)).body).not.toContain('action="/suppressions"');
    ui.signInAs(monitor);
    const missing = await ui.app.inject({ method: 'POST', url: '/flags/group/nope/outcome', headers: FORM, payload: form({ status: 'actioned', note: 'x' }) });
    expect(missing.statusCode).toBe(404);
  });

  it('shows per-rule precision, worst first, overall and per academy', async () => {
    ui.signInAs(monitor);
    const response = await get('/precision');
    expect(response.statusCode).toBe(200);
    const byRule = response.body.slice(response.body.indexOf('By rule'), response.body.indexOf('By academy'));
    expect(byRule).toMatch(/bullying\.targeted_insult<\/code><\/td><td>safety\.bullying<\/td><td class="num">3<\/td><td class="num">3<\/td><td class="num low">0%<\/td>/);
    const perAcademy = response.body.slice(response.body.indexOf('By academy'));
    expect(perAcademy).toContain('<td>Oakfield Primary</td><td><code>bullying.targeted_insult</code>');
    expect((await get('/precision?since=soon')).statusCode).toBe(400);
  });

  it('pages 50 at a time, keeping the filters in the links', async () => {
    ui.signInAs(monitor);
    const report = await scanner.scan(mail('pager', 'pager@pupils.oakfield.sch.uk', '24xyz@pupils.oakfield.sch.uk', 'pages', 'you are so ugly'));
    for (let n = 0; n < 51; n++) await store.recordScan(`key-pager-${n}`, occurrence('24xyz@pupils.oakfield.sch.uk', 'INBOX', 100 + n), report);
    const rows = (body: string) => [...body.matchAll(/<a href="\/flags\/(\d+)">/g)].length;
    const first = await get('/flags?sender=pager&grouped=0');
    expect(rows(first.body)).toBe(50);
    expect(first.body).toContain('Page 1 of 2');
    expect(first.body).toContain('href="/flags?sender=pager&amp;grouped=0&amp;page=2" rel="next"');
    const second = await get('/flags?sender=pager&grouped=0&page=2');
    expect(rows(second.body)).toBe(1);
    expect(second.body).toContain('href="/flags?sender=pager&amp;grouped=0" rel="prev"');
    const grouped = await get('/flags?sender=pager');
    expect(rows(grouped.body)).toBe(1);
    expect(grouped.body).toContain('51 similar');
  });
  it('shows a DPO only the personal-data findings of a mixed flag, saying how many others are not shown', async () => {
    const filler = 'We talked about the timetable for next term and the trip. '.repeat(8);
    const mixed = await record(store, 'mixed', '22lmorgan@pupils.oakfield.sch.uk', 'parent.one@gmail.com', 'form', `Her date of birth is 12/03/2011.\n\n${filler}\n\ni just want to kill myself tonight`);
    ui.signInAs(monitor);
    expect((await get(`/flags/${mixed}`)).body).toContain('self_harm.intent');
    ui.signInAs(reviewer('dpo'));
    const view = await get(`/flags/${mixed}`);
    expect(view.statusCode).toBe(200);
    expect(view.body).toContain('personal_data.date_of_birth');
    expect(view.body).toContain('1 other finding of this flag is outside the categories your role covers and is not shown to your role.');
    for (const hidden of ['self_harm', 'kill myself']) expect(view.body).not.toContain(hidden);
  });

  it('shows precision over the last retention.falsePositiveDays days by default, and lets the reviewer start later within them', async () => {
    ui.signInAs(monitor);
    // The chain's false positives, as if closed 40 days ago: past the 30 days false positives are kept.
    await client.query('UPDATE flags SET created_at = created_at - interval \'40 days\' WHERE id = ANY($1::bigint[])', [chain]);
    const response = await get('/precision');
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('Over the last 30 days: false positives are kept 30 days');
    expect(response.body).not.toContain('bullying.targeted_insult</code></td><td>safety.bullying</td><td class="num">3<');
    const day = (offsetDays: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date(Date.now() + offsetDays * 86_400_000));
    expect(response.body).toContain(`name="since" value="${day(-30)}" min="${day(-30)}"`);
    const tooEarly = await get(`/precision?since=${day(-60)}`);
    expect(tooEarly.statusCode).toBe(400);
    expect(tooEarly.body).toContain('since: at most 30 days back');
    const later = await get(`/precision?since=${day(-2)}`);
    expect(later.statusCode).toBe(200);
    expect(later.body).toContain(`Flags created from ${day(-2)}, within the last 30 days`);
  });
});

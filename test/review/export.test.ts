/**
 * Exporting one case as JSON and PDF, on PGlite with a flag recorded from a real scan: both are
 * downloads with the case's fields, both are audited, the PDF is a real PDF whose text carries the
 * facts, and scope and role decide who may export.
 */
import { extractText, getDocumentProxy } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { pdfText } from '../../src/review/export/pdf.js';
import { registerExports } from '../../src/review/pages/export.js';
import { registerFlagPages } from '../../src/review/pages/flags.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { type Backend, occurrence, pgliteBackend, silent } from '../flags/support.js';
import type { AuditActor, Reviewer } from '../../src/flags/review-types.js';
import { pageApp, reviewConfig, reviewer, type PageApp } from './support.js';

const SUBJECT = '<img src=x onerror=alert(1)> tonight';
const EXPORTED_AT = new Date('2026-11-21T14:05:00Z');
const scanner = createScanner(reviewConfig());

/** The audit actor of an outcome by `who`. */
const by = (who: Reviewer): AuditActor => ({ actorId: who.id, actor: who.username, role: who.role, ip: null });

function mail(id: string, from: string, to: string, body: string): Buffer {
  return Buffer.from(
    [`From: ${from}`, `To: ${to}`, `Subject: ${SUBJECT}`, 'Date: Sun, 09 Mar 2025 22:41:00 +0000', `Message-ID: <${id}@oakfield.sch.uk>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body].join('\r\n'),
  );
}

async function readPdf(bytes: Buffer): Promise<{ text: string; pages: number; pageSize: number[] }> {
  const document = await getDocumentProxy(new Uint8Array(bytes));
  const pageSize = (await document.getPage(1)).view.map(Math.round);
  const { text, totalPages } = await extractText(document, { mergePages: true });
  return { text: text.replace(/\s+/g, ' '), pages: totalPages, pageSize };
}

describe('case export', () => {
  let backend: Backend;
  let store: SqlFlagStore;
  let ui: PageApp;
  let flagId: number;
  let high: number;
  let monitor: Reviewer;

  beforeAll(async () => {
    backend = await pgliteBackend();
    store = createSqlFlagStore((await backend.fresh()).client, silent);
    await store.migrate();
    // Outcomes name their reviewer's account.
    const maya = reviewer('monitor', { displayName: 'Maya Patel' });
    monitor = { ...maya, id: (await store.createUser({ username: maya.username, displayName: maya.displayName, role: 'monitor' })).id };
    const report = await scanner.scan(mail('export', '22lmorgan@pupils.oakfield.sch.uk', '23sokafor@pupils.oakfield.sch.uk', 'everyone would be better off without me. i just want to kill myself tonight'));
    const outbox = { deliveries: [{ recipient: 'dsl@staff.oakfield.sch.uk', routes: ['safeguarding'], form: 'full' as const, messageId: '<copy-1@oakfield.sch.uk>' }] };
    flagId = (await store.recordScan('key-export', occurrence('23sokafor@pupils.oakfield.sch.uk', 'INBOX', 7), report, outbox)).flagId!;
    await store.addOccurrence(flagId, occurrence('22lmorgan@pupils.oakfield.sch.uk', 'Sent Items', 3));
    const other = await scanner.scan(mail('high', 'j.smith@high.oakfield.sch.uk', 'k.jones@high.oakfield.sch.uk', "I'm going to kill you after school"));
    high = (await store.recordScan('key-high', occurrence('k.jones@high.oakfield.sch.uk', 'INBOX', 1), other)).flagId!;
    await store.recordOutcome(flagId, { kind: 'all' }, monitor, { status: 'in_review', note: 'Called the DSL' }, by(monitor));
    ui = await pageApp(store, [registerExports, registerFlagPages], { now: () => EXPORTED_AT });
  });

  afterAll(async () => {
    await ui?.app.close();
    await store?.close();
    await backend?.stop();
  });

  it('exports the case as a JSON download with every part of it, and audits the export', async () => {
    ui.signInAs(monitor);
    const response = await ui.app.inject({ method: 'GET', url: `/flags/${flagId}/export.json` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="kestrel-flag-${flagId}.json"`);
    const body = response.json();
    expect(body).toMatchObject({
      format: 'kestrel-case/1',
      trust: 'Oakfield Learning Trust',
      exportedAt: EXPORTED_AT.toISOString(),
      exportedBy: { username: 'monitor', displayName: 'Maya Patel', role: 'monitor' },
      flag: { id: flagId, subject: SUBJECT, direction: 'internal', severity: 'urgent', urgent: true, status: 'in_review', academies: ['Oakfield Primary'] },
      parties: { from: { address: '22lmorgan@pupils.oakfield.sch.uk', role: 'pupil', academy: 'Oakfield Primary' } },
    });
    expect(body.findings[0]).toMatchObject({ rule: 'self_harm.intent', category: 'safety.self_harm', policy: '003_c7be022a1d032c68.txt 7.2.1' });
    expect(body.findings[0].evidence[0].match).toMatch(/kill myself/);
    expect(body.occurrences.map((o: { folder: string }) => o.folder)).toEqual(['INBOX', 'Sent Items']);
    expect(body.deliveries).toEqual([expect.objectContaining({ recipient: 'dsl@staff.oakfield.sch.uk', form: 'full', status: 'pending', attempts: 0 })]);
    expect(Object.keys(body.deliveries[0])).not.toContain('messageId');
    expect(body.reviews).toEqual([expect.objectContaining({ reviewer: 'monitor', fromStatus: 'new', status: 'in_review', note: 'Called the DSL' })]);
    expect(body.audit.map((a: { action: string }) => a.action)).toContain('flag.export.json');
    expect(Object.keys(body.audit[0])).not.toContain('ip');
    const audit = await store.auditEntries({ target: `flag:${flagId}`, action: 'flag.export.json' }, { offset: 0, limit: 10 });
    expect(audit.items[0]).toMatchObject({ actor: 'monitor', role: 'monitor' });
  });

  it('exports the case as a readable A4 PDF with its facts, evidence, history and a footer on every page, and audits it', async () => {
    ui.signInAs(monitor);
    const response = await ui.app.inject({ method: 'GET', url: `/flags/${flagId}/export.pdf` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="kestrel-flag-${flagId}.pdf"`);
    expect(response.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const { text, pages, pageSize } = await readPdf(response.rawPayload);
    expect(pageSize).toEqual([0, 0, 595, 842]);
    for (const fact of [
      `Kestrel case: flag ${flagId}`,
      'Oakfield Learning Trust',
      SUBJECT,
      '9 Mar 2025 22:41',
      'internal',
      '22lmorgan@pupils.oakfield.sch.uk',
      'Oakfield Primary',
      'self_harm.intent',
      '003_c7be022a1d032c68.txt 7.2.1',
      'kill myself',
      'Sent Items',
      'dsl@staff.oakfield.sch.uk',
      'Called the DSL',
      'flag.export.pdf',
      'exported by Maya Patel (monitor, monitor) on 21 Nov 2026 14:05',
      `Page ${pages} of ${pages}`,
    ]) {
      expect(text, fact).toContain(fact);
    }
    const audit = await store.auditEntries({ target: `flag:${flagId}`, action: 'flag.export.pdf' }, { offset: 0, limit: 10 });
    expect(audit.total).toBe(1);
  });

  it('keeps exports within the reviewer\'s scope and role', async () => {
    ui.signInAs(reviewer('dsl'));
    expect((await ui.app.inject({ method: 'GET', url: `/flags/${high}/export.pdf` })).statusCode).toBe(404);
    expect((await ui.app.inject({ method: 'GET', url: `/flags/${flagId}/export.json` })).statusCode).toBe(200);
    ui.signInAs(reviewer('dpo'));
    expect((await ui.app.inject({ method: 'GET', url: `/flags/${flagId}/export.json` })).statusCode).toBe(404);
    ui.signInAs(reviewer('ict_admin'));
    expect((await ui.app.inject({ method: 'GET', url: `/flags/${flagId}/export.json` })).statusCode).toBe(403);
    ui.signInAs(reviewer('monitor'));
    expect((await ui.app.inject({ method: 'GET', url: '/flags/999999/export.pdf' })).statusCode).toBe(404);
    const refused = await store.auditEntries({ target: `flag:${high}` }, { offset: 0, limit: 10 });
    expect(refused.total).toBe(0);
  });

  it('writes text the PDF fonts cannot show as plain letters or ?, never as wrong glyphs', () => {
    expect(pdfText('Zoë – “ok” … €5')).toBe('Zoë – “ok” … €5');
    expect(pdfText('Łukasz Dvořák')).toBe('?ukasz Dvorák');
    expect(pdfText('I hate this 😡 Привет')).toBe('I hate this ? ??????');
  });
  it('names only this flag in a group outcome that included it, whichever flag the row is filed under', async () => {
    const body = 'i am planning to commit suicide tonight';
    const first = (await store.recordScan('key-g1', occurrence('23sokafor@pupils.oakfield.sch.uk', 'INBOX', 11), await scanner.scan(mail('g1', '22lmorgan@pupils.oakfield.sch.uk', '23sokafor@pupils.oakfield.sch.uk', body)))).flagId!;
    const second = (await store.recordScan('key-g2', occurrence('23sokafor@pupils.oakfield.sch.uk', 'INBOX', 12), await scanner.scan(mail('g2', '22jbloggs@pupils.oakfield.sch.uk', '23sokafor@pupils.oakfield.sch.uk', body)))).flagId!;
    const group = (await store.reviewFlag(first, { kind: 'all' }))!.groupKey;
    expect(await store.recordGroupOutcome(group, { kind: 'all' }, monitor, { status: 'actioned', note: 'assembly talk' }, by(monitor))).toEqual([first, second]);
    ui.signInAs(monitor);
    for (const id of [first, second]) {
      const { audit } = (await ui.app.inject({ method: 'GET', url: `/flags/${id}/export.json` })).json() as { audit: Array<{ action: string; details: { ids?: number[] } }> };
      expect(audit.filter((a) => a.action === 'group.outcome').map((a) => a.details.ids)).toEqual([[id]]);
    }
  });

  it('exports to a DPO only the personal-data findings of a mixed flag, in JSON and PDF, saying others are left out', async () => {
    const filler = 'We talked about the timetable for next term and the trip. '.repeat(8);
    const report = await scanner.scan(mail('mixed', '22lmorgan@pupils.oakfield.sch.uk', 'parent.one@gmail.com', `Her date of birth is 12/03/2011.\n\n${filler}\n\ni just want to kill myself tonight`));
    // The monitor's copy exists because of the hidden finding: it would give that finding away.
    const outbox = {
      deliveries: [
        { recipient: 'ceo@staff.oakfield.sch.uk', routes: ['monitor', 'urgent'], form: 'full' as const, messageId: '<copy-mixed-1@oakfield.sch.uk>' },
        { recipient: 'dpo@staff.oakfield.sch.uk', routes: ['dpo'], form: 'minimised' as const, messageId: '<copy-mixed-2@oakfield.sch.uk>' },
      ],
    };
    const mixed = (await store.recordScan('key-mixed', occurrence('parent.one@gmail.com', 'INBOX', 1), report, outbox)).flagId!;
    expect(report.routes).toEqual(expect.arrayContaining(['monitor', 'dpo']));
    ui.signInAs(reviewer('dpo'));
    const json = await ui.app.inject({ method: 'GET', url: `/flags/${mixed}/export.json` });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ hiddenFindings: 1, flag: { categories: ['personal_data.date_of_birth'], routes: ['dpo'] }, findings: [{ category: 'personal_data.date_of_birth' }] });
    expect((json.json() as { deliveries: Array<{ recipient: string }> }).deliveries.map((d) => d.recipient)).toEqual(['dpo@staff.oakfield.sch.uk']);
    const page = await ui.app.inject({ method: 'GET', url: `/flags/${mixed}` });
    expect(page.body).toContain('dpo@staff.oakfield.sch.uk');
    expect(page.body).not.toContain('ceo@staff.oakfield.sch.uk');
    for (const hidden of ['self_harm', 'kill myself', 'ceo@']) expect(page.body).not.toContain(hidden);
    for (const hidden of ['self_harm', 'kill myself', 'ceo@', '"monitor"']) expect(json.body).not.toContain(hidden);
    const { text } = await readPdf((await ui.app.inject({ method: 'GET', url: `/flags/${mixed}/export.pdf` })).rawPayload);
    expect(text).toContain('personal_data.date_of_birth');
    expect(text).toContain('1 other finding of this flag is outside the categories');
    for (const hidden of ['self_harm', 'kill myself']) expect(text).not.toContain(hidden);
  });
});

/**
 * Targeted-monitoring authorisations in the store, on PGlite and PostgreSQL: the rules an
 * authorisation must meet, when it is active, ending early, reminders and reviews, and messages
 * kept sealed under it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorisationError, checkAuthorisation, openRetained, sealRetained, type AuthorisationInput } from '../../src/flags/authorisations.js';
import type { Reviewer } from '../../src/flags/review-types.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { type Backend, insertMonitor, pgliteBackend, postgresBackend, silent } from './support.js';

const DAY = 86_400_000;
const RULES = { trustDomains: ['oakfield.sch.uk'], maxDays: 90 };
const KEY = Buffer.alloc(32, 7);

function input(overrides: Partial<AuthorisationInput> = {}): AuthorisationInput {
  const startsAt = new Date('2026-11-21T00:00:00Z');
  return { account: 'K.Patel@staff.oakfield.sch.uk', reason: 'suspected misuse', approver: 'Headteacher', piaReference: 'PIA-2026-04', startsAt, endsAt: new Date(startsAt.getTime() + 30 * DAY), ...overrides };
}

function problems(overrides: Partial<AuthorisationInput>): Record<string, string> {
  try {
    checkAuthorisation(input(overrides), RULES);
  } catch (error) {
    if (error instanceof AuthorisationError) return error.problems as Record<string, string>;
    throw error;
  }
  return {};
}

describe('checkAuthorisation', () => {
  it('accepts a trust account for up to the maximum, in lower case and trimmed', () => {
    expect(checkAuthorisation(input({ reason: ' why ' }), RULES)).toMatchObject({ account: 'k.patel@staff.oakfield.sch.uk', reason: 'why' });
    expect(problems({ endsAt: new Date(input().startsAt.getTime() + 90 * DAY) })).toEqual({});
  });

  it('refuses, by field, an account outside the trust, a missing field, an end not after the start, and too long a period', () => {
    expect(Object.keys(problems({ account: 'someone@gmail.com' }))).toEqual(['account']);
    expect(Object.keys(problems({ account: 'nobody' }))).toEqual(['account']);
    expect(Object.keys(problems({ reason: '', approver: ' ', piaReference: '' }))).toEqual(['reason', 'approver', 'piaReference']);
    expect(problems({ endsAt: input().startsAt })).toEqual({ endsAt: 'endsAt: must be after the start' });
    expect(problems({ endsAt: new Date(input().startsAt.getTime() + 91 * DAY) }).endsAt).toMatch(/at most 90 days/);
  });
});

describe('sealed kept messages', () => {
  it('open with the key under the same authorisation and message key only', () => {
    const raw = Buffer.from('Subject: hi\r\n\r\nbody');
    const sealed = sealRetained(raw, KEY, 3, 'key-a');
    expect(openRetained(sealed, KEY, 3, 'key-a')).toEqual(raw);
    expect(() => openRetained(sealed, KEY, 4, 'key-a')).toThrow(/authorisation 4: a kept message does not open/);
    expect(() => openRetained(sealed, KEY, 3, 'key-b')).toThrow(/does not open/);
    expect(() => openRetained(sealed, Buffer.alloc(32, 8), 3, 'key-a')).toThrow(/does not open/);
  });
});

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('authorisations on $name', ({ start }) => {
  let backend: Backend;
  let store: SqlFlagStore;
  let monitor: Reviewer;
  const now = new Date();
  const at = (days: number): Date => new Date(now.getTime() + days * DAY);

  beforeAll(async () => {
    backend = await start();
    const db = await backend.fresh();
    store = createSqlFlagStore(db.client, silent);
    await store.migrate();
    monitor = await insertMonitor(db.client);
  });

  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  it('are active from their start until their end', async () => {
    const a = await store.createAuthorisation(input({ startsAt: at(1), endsAt: at(20) }), monitor);
    expect(a).toMatchObject({ account: 'k.patel@staff.oakfield.sch.uk', piaReference: 'PIA-2026-04', createdBy: monitor.id, revokedAt: null, remindedAt: null });
    expect(await store.authorisation(a.id)).toEqual(a);
    expect((await store.activeAuthorisations(now)).map((x) => x.id)).not.toContain(a.id);
    expect((await store.activeAuthorisations(at(1))).map((x) => x.id)).toContain(a.id);
    expect((await store.activeAuthorisations(at(20))).map((x) => x.id)).not.toContain(a.id);
    // A scanner reading them every 30 s asks for those starting before its next read too.
    expect((await store.activeAuthorisations(at(1 - 30_000 / DAY), at(1))).map((x) => x.id)).toContain(a.id);
    expect((await store.activeAuthorisations(at(1 - 60_000 / DAY), at(1 - 30_000 / DAY))).map((x) => x.id)).not.toContain(a.id);
    expect((await store.authorisations())[0]?.id).toBe(a.id);
  });

  it('end early once, with the reason, and that counts as their review', async () => {
    const a = await store.createAuthorisation(input({ startsAt: at(-2), endsAt: at(20) }), monitor);
    expect(await store.endAuthorisation(a.id, monitor, 'facts established', now)).toBe(true);
    expect(await store.endAuthorisation(a.id, monitor, 'again', now)).toBe(false);
    expect(await store.authorisation(a.id)).toMatchObject({ revokedAt: now, revokeReason: 'facts established', remindedAt: now });
    expect((await store.activeAuthorisations(now)).map((x) => x.id)).not.toContain(a.id);
  });

  it('remind while ending within the week and once ended until reviewed', async () => {
    const ending = await store.createAuthorisation(input({ account: 'ending@oakfield.sch.uk', startsAt: at(-10), endsAt: at(3) }), monitor);
    const ended = await store.createAuthorisation(input({ account: 'ended@oakfield.sch.uk', startsAt: at(-10), endsAt: at(-1) }), monitor);
    const later = await store.createAuthorisation(input({ account: 'later@oakfield.sch.uk', startsAt: at(-10), endsAt: at(30) }), monitor);
    const due = (await store.authorisationsDue(now, 7)).map((a) => a.id);
    expect(due).toEqual(expect.arrayContaining([ending.id, ended.id]));
    expect(due).not.toContain(later.id);
    expect(due.indexOf(ended.id)).toBeLessThan(due.indexOf(ending.id));
    expect(await store.markAuthorisationReviewed(ending.id, now)).toBe(false);
    expect(await store.markAuthorisationReviewed(ended.id, now)).toBe(true);
    expect(await store.markAuthorisationReviewed(ended.id, now)).toBe(false);
    expect((await store.authorisationsDue(now, 7)).map((a) => a.id)).not.toContain(ended.id);
  });

  it('keep each message once per authorisation, newest first, sealed', async () => {
    const a = await store.createAuthorisation(input({ account: 'kept@oakfield.sch.uk', startsAt: at(-1), endsAt: at(5) }), monitor);
    const keep = (key: string, date: string | null) =>
      store.retainMessage({ authorisationId: a.id, messageKey: key, flagId: null, direction: 'internal', messageDate: date ? new Date(date) : null, sealed: sealRetained(Buffer.from(key), KEY, a.id, key) });
    expect(await keep('m1', '2026-11-01T10:00:00Z')).toBe(true);
    expect(await keep('m2', '2026-11-02T10:00:00Z')).toBe(true);
    expect(await keep('m1', '2026-11-01T10:00:00Z')).toBe(false);
    const list = await store.retainedMessages(a.id, { offset: 0, limit: 1 });
    expect(list.total).toBe(2);
    expect(list.items).toEqual([expect.objectContaining({ messageKey: 'm2', authorisationId: a.id, flagId: null, direction: 'internal' })]);
    const one = await store.retainedMessage(a.id, list.items[0]!.id);
    expect(openRetained(one!.sealed, KEY, a.id, 'm2').toString()).toBe('m2');
    expect(await store.retainedMessage(a.id + 1000, list.items[0]!.id)).toBeNull();
  });

  it('keep a message only while the authorisation is in force when it is stored, whatever a scanner last read', async () => {
    const keep = (id: number, key: string) =>
      store.retainMessage({ authorisationId: id, messageKey: key, flagId: null, direction: 'internal', messageDate: null, sealed: sealRetained(Buffer.from(key), KEY, id, key) });
    const ended = await store.createAuthorisation(input({ account: 'stop@oakfield.sch.uk', startsAt: at(-2), endsAt: at(5) }), monitor);
    expect(await keep(ended.id, 'before-end')).toBe(true);
    await store.endAuthorisation(ended.id, monitor, 'facts established', new Date());
    expect(await keep(ended.id, 'after-end')).toBe(false);
    const notYet = await store.createAuthorisation(input({ account: 'soon@oakfield.sch.uk', startsAt: at(1), endsAt: at(5) }), monitor);
    expect(await keep(notYet.id, 'too-soon')).toBe(false);
    const over = await store.createAuthorisation(input({ account: 'over@oakfield.sch.uk', startsAt: at(-5), endsAt: at(-1) }), monitor);
    expect(await keep(over.id, 'too-late')).toBe(false);
    expect((await store.retainedMessages(ended.id, { offset: 0, limit: 10 })).items.map((m) => m.messageKey)).toEqual(['before-end']);
  });
});
